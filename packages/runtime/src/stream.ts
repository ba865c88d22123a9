/**
 * Live classification: frames are pushed one at a time (from a webcam hand tracker, a Kinect, a
 * motion-capture stream) into a ring buffer of the last `window` frames, and `predict` classifies
 * that window with the model's own pipeline, as if it were a recorded sequence.
 */
import type { Prediction, PredictOptions, SkeletonClassifier } from './classifier.js';
import { SkelpruneError } from './errors.js';
import { type NestedFrame, writeFrame } from './input/sequence-input.js';

/** Options of `SkeletonClassifier.stream`. */
export interface StreamOptions {
  /**
   * Raw frames per prediction: the most recent ones (default: the median length of the model's
   * training clips when the file records it, else its own frame window when it resamples, else 32).
   */
  window?: number;
  /** Frames needed before `predict` answers (default: `window`; at least 2). */
  minFrames?: number;
}

const DEFAULT_WINDOW = 32;

/**
 * Classifies live input: frames are pushed as they arrive into a ring buffer of the last `window`,
 * and `predict` classifies those frames as `SkeletonClassifier.predict` would a recorded sequence
 * of them. Create one with `SkeletonClassifier.stream`.
 */
export class StreamingClassifier {
  /** Raw frames a prediction covers at most: the most recent ones. */
  readonly window: number;
  /** Frames needed before `predict` answers. */
  readonly minFrames: number;
  private readonly frameSize: number;
  private readonly ring: Float32Array;
  /** The frame being pushed, checked here before it replaces the ring's oldest. */
  private readonly scratch: Float32Array;
  /** Frames pushed since the last reset (the ring holds the last `window` of them). */
  private pushed = 0;

  /**
   * A stream over `classifier` (as `classifier.stream(options)`). Throws a `SkelpruneError` for a
   * `window` below 2, or a `minFrames` outside [2, `window`].
   */
  constructor(
    private readonly classifier: SkeletonClassifier,
    options: StreamOptions = {},
  ) {
    const { temporal, persons, joints, clipFrames } = classifier.info;
    const modelWindow = temporal.mode === 'resample' ? temporal.frames : DEFAULT_WINDOW;
    this.window = options.window ?? Math.max(2, clipFrames ?? modelWindow);
    this.minFrames = options.minFrames ?? this.window;
    if (!Number.isInteger(this.window) || this.window < 2) {
      throw new SkelpruneError(`window must be an integer of at least 2 frames, got ${this.window}`);
    }
    if (!Number.isInteger(this.minFrames) || this.minFrames < 2 || this.minFrames > this.window) {
      throw new SkelpruneError(`minFrames must be an integer in [2, ${this.window}], got ${this.minFrames}`);
    }
    this.frameSize = persons * joints * 3;
    this.ring = new Float32Array(this.window * this.frameSize);
    this.scratch = new Float32Array(this.frameSize);
  }

  /**
   * Adds the newest frame: joints × [x, y, z] (one person), persons × joints × [x, y, z], or the
   * persons·joints·3 coordinates flat. A frame of the wrong shape or with a coordinate that is not
   * finite throws a `SkelpruneError` and is not taken. Returns the stream, for chaining.
   */
  push(frame: NestedFrame | ArrayLike<number>): this {
    const { persons, joints } = this.classifier.info;
    const { scratch } = this;
    writeFrame(frame, scratch, 0, { persons, joints }, `frame ${this.pushed}`);
    if (!scratch.every(Number.isFinite)) {
      throw new SkelpruneError(`frame ${this.pushed}: holds a coordinate that is not a finite number`);
    }
    this.ring.set(scratch, (this.pushed % this.window) * this.frameSize);
    this.pushed++;
    return this;
  }

  /** Frames available for the next prediction (at most `window`). */
  get frames(): number {
    return Math.min(this.pushed, this.window);
  }

  /** Whether `predict` answers: at least `minFrames` frames have arrived since the last reset. */
  get ready(): boolean {
    return this.frames >= this.minFrames;
  }

  /** The prediction over the buffered frames, oldest first; null until `minFrames` have arrived. */
  predict(options: PredictOptions = {}): Prediction | null {
    if (!this.ready) return null;
    const frames = this.frames;
    const positions = new Float32Array(frames * this.frameSize);
    const oldest = this.pushed - frames;
    for (let f = 0; f < frames; f++) {
      const slot = ((oldest + f) % this.window) * this.frameSize;
      positions.set(this.ring.subarray(slot, slot + this.frameSize), f * this.frameSize);
    }
    return this.classifier.predict({ positions, frames, id: 'stream' }, options);
  }

  /** Forgets every frame (e.g. when tracking is lost). */
  reset(): void {
    this.pushed = 0;
  }
}
