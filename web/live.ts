/**
 * Live input: the webcam's frames go through the hand tracker, and each result (`onResults`, the
 * function the tracker calls) becomes a hand frame for the page: MediaPipe's 21 landmarks in
 * millimetres in the camera's frame (`mediapipeHandFrame` of the runtime), a left hand mirrored into
 * a right one when asked, plus the image landmarks for the overlay and the tracking time. `replay`
 * feeds recorded results through the same `onResults` (for tests, and for debugging without a
 * camera).
 */
import { type HandLandmark, mediapipeHandFrame } from '@skelprune/runtime';
import { CameraError, closeCamera, openCamera } from './camera.js';
import { type HandTracker, startTracker, TrackerError } from './tracker.js';

/** The part of MediaPipe's results the page reads. */
export interface TrackerResults {
  multiHandLandmarks?: HandLandmark[][];
  multiHandWorldLandmarks?: HandLandmark[][];
  multiHandedness?: { label: 'Left' | 'Right'; score: number; index?: number }[];
}

export interface HandFrame {
  /** 21 × 3: MediaPipe's landmark order, millimetres, camera frame (x right, y down, z away). */
  positions: Float32Array;
  /** The image landmarks (fractions of the image), for the overlay. */
  image: HandLandmark[];
  /** The hand as the person holds it up (not as MediaPipe labels it in an unmirrored image). */
  hand: 'left' | 'right' | null;
}

export type LiveStatus =
  | { kind: 'off' }
  | { kind: 'starting'; text: string }
  /** The camera is on and the tracker ready (its first result may take a moment). */
  | { kind: 'running' }
  | { kind: 'error'; text: string; reason: string };

export interface LiveListener {
  /**
   * A tracked frame, or null when no hand is in view (`lost`: none for a while); `trackingMs`: the
   * tracker's time for this frame, null when replayed.
   */
  frame(frame: HandFrame | null, lost: boolean, trackingMs: number | null): void;
  status(status: LiveStatus): void;
}

/** After this many results without a hand, the hand counts as lost (the window starts again). */
export const LOST_AFTER = 8;

export class LiveInput {
  /** Mirror a left hand into a right one (FPHA has right hands only; clips stay comparable). */
  mirrorLeft = true;
  /**
   * Stop handing camera frames to the tracker (the camera stays on): for feeding recorded results
   * with `replay` only. A software-rendered tracker (headless browsers) holds the page's thread for
   * a third of a second per frame.
   */
  trackerPaused = false;
  private stream: MediaStream | null = null;
  private tracker: HandTracker | null = null;
  private trackerStart: Promise<HandTracker> | null = null;
  private running = false;
  private busy = false;
  private replaying = false;
  private sentAt = 0;
  private missing = 0;
  private generation = 0;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly listener: LiveListener,
  ) {}

  get on(): boolean {
    return this.running;
  }

  /** Opens the camera and the tracker; failures become an `error` status with their message. */
  async start(): Promise<void> {
    if (this.running) return;
    const generation = ++this.generation;
    this.running = true;
    this.missing = 0;
    try {
      this.listener.status({ kind: 'starting', text: 'Asking for the camera…' });
      const stream = await openCamera();
      if (generation !== this.generation) return closeCamera(stream);
      this.stream = stream;
      for (const track of stream.getVideoTracks()) {
        track.addEventListener('ended', () =>
          this.fail(
            new CameraError('The camera stopped (unplugged or taken by another application).', 'busy'),
          ),
        );
      }
      this.video.srcObject = stream;
      await this.video.play();
      if (!this.tracker) {
        this.listener.status({
          kind: 'starting',
          text: 'Loading the hand tracker (about 7 MB, from this page’s server, once)…',
        });
        // One tracker, even when the camera is stopped and started again while it loads.
        this.trackerStart ??= startTracker((results) => {
          // A frame sent before a replay began: its result would interleave with the replayed ones.
          if (!this.replaying) this.onResults(results);
        }).catch((error: unknown) => {
          this.trackerStart = null;
          throw error;
        });
        this.tracker = await this.trackerStart;
      }
      if (generation !== this.generation) return;
      this.listener.status({ kind: 'running' });
      this.schedule();
    } catch (error) {
      if (generation === this.generation) this.fail(error);
    }
  }

  stop(): void {
    this.generation++;
    this.running = false;
    closeCamera(this.stream);
    this.stream = null;
    this.video.srcObject = null;
    this.listener.status({ kind: 'off' });
  }

  private fail(error: unknown): void {
    this.stop();
    if (error instanceof CameraError)
      this.listener.status({ kind: 'error', text: error.message, reason: error.reason });
    else if (error instanceof TrackerError)
      this.listener.status({ kind: 'error', text: error.message, reason: 'tracker' });
    else throw error;
  }

  /** Hands the next video frame to the tracker, one at a time (a slow tracker skips frames). */
  private schedule(): void {
    if (!this.running) return;
    const next = () => this.pump();
    if ('requestVideoFrameCallback' in this.video) this.video.requestVideoFrameCallback(next);
    else requestAnimationFrame(next);
  }

  private pump(): void {
    if (!this.running) return;
    this.schedule();
    const { tracker, video } = this;
    if (!tracker || this.busy || this.replaying || this.trackerPaused || video.readyState < 2) return;
    this.busy = true;
    this.sentAt = performance.now();
    tracker
      .send(video)
      .catch((error: unknown) => this.fail(new TrackerError(`The hand tracker stopped: ${String(error)}`)))
      .finally(() => {
        this.busy = false;
      });
  }

  /** The tracker's results for one frame (the function `Hands.onResults` calls). */
  onResults(results: TrackerResults, trackingMs: number | null = performance.now() - this.sentAt): void {
    if (!this.running) return;
    const world = results.multiHandWorldLandmarks?.[0];
    const image = results.multiHandLandmarks?.[0];
    if (world?.length !== 21 || image?.length !== 21) {
      this.missing++;
      this.listener.frame(null, this.missing >= LOST_AFTER, trackingMs);
      return;
    }
    this.missing = 0;
    // In an unmirrored image MediaPipe labels hands as if it were mirrored: its 'Left' is a right hand.
    const label = results.multiHandedness?.[0]?.label;
    const hand = label === 'Left' ? 'right' : label === 'Right' ? 'left' : null;
    const { videoWidth, videoHeight } = this.video;
    const positions = mediapipeHandFrame(world, {
      image,
      aspect: videoWidth > 0 && videoHeight > 0 ? videoWidth / videoHeight : 4 / 3,
      mirror: hand === 'left' && this.mirrorLeft,
    });
    this.listener.frame({ positions, image, hand }, false, trackingMs);
  }

  /**
   * Feeds recorded tracker results through `onResults`, one per `intervalMs` (0: one after the other
   * without waiting), while the camera's own frames wait. The camera must be on.
   */
  async replay(results: readonly TrackerResults[], intervalMs = 0): Promise<void> {
    if (!this.running) throw new Error('replay needs the camera on (it stands in for its frames)');
    this.replaying = true;
    try {
      for (const result of results) {
        this.onResults(result, null);
        if (intervalMs > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    } finally {
      this.replaying = false;
    }
  }
}
