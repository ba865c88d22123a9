/**
 * Recording your own gestures: name a gesture, record clips of it from the camera (after a countdown,
 * for a set length or until Stop), review and delete them, and download the set in skelprune's generic
 * format (skeleton.json + sequences.jsonl, docs/datasets.md), which `skelprune train --dataset generic`
 * reads. Clips hold the tracked hand as the live mode gives it to models: MediaPipe's 21 landmarks in
 * its order, millimetres in the camera's frame. They are kept in this browser (localStorage) until
 * deleted, so a reload loses nothing.
 */
import { MEDIAPIPE_HAND_BONES, MEDIAPIPE_HAND_LANDMARKS } from '@skelprune/runtime';
import type { SkeletonSequence } from '../src/data/types.js';
import { byId, el } from './dom.js';
import { zipFiles } from './zip.js';

export interface Clip {
  id: string;
  label: string;
  subject: string;
  /** frames × 21 × 3, millimetres. */
  positions: Float32Array;
}

const STORAGE_KEY = 'skelprune-demo-recordings-v1';
const JOINT_VALUES = MEDIAPIPE_HAND_LANDMARKS.length * 3;
/** Fewer frames with a hand than this is no clip (the tracker lost the hand, or Stop came at once). */
export const MIN_CLIP_FRAMES = 8;
/** The dataset's name in skeleton.json, and the folder in the .zip. */
export const DATASET_NAME = 'gestures';

/** A sequence of a clip, for the player. */
export function clipSequence(clip: Clip): SkeletonSequence {
  return {
    id: clip.id,
    label: -1,
    subject: clip.subject,
    frames: clip.positions.length / JOINT_VALUES,
    persons: 1,
    joints: MEDIAPIPE_HAND_LANDMARKS.length,
    positions: clip.positions,
    source: 'recorded in this page',
  };
}

const round = (value: number) => Math.round(value * 10) / 10;
const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '') || 'gesture';

/** Classes in the order their first clip was recorded. */
export function classesOf(clips: readonly Clip[]): string[] {
  return [...new Set(clips.map((c) => c.label))];
}

/**
 * The test part of the `holdout` protocol: of each gesture's clips, every fourth (or the last one,
 * when there are 2 or 3), so each gesture is both trained and tested on.
 */
function heldOut(clips: readonly Clip[]): string[] {
  return classesOf(clips).flatMap((label) => {
    const own = clips.filter((c) => c.label === label);
    if (own.length < 2) return [];
    const every4th = own.filter((_, i) => (i + 1) % 4 === 0);
    return (every4th.length > 0 ? every4th : own.slice(-1)).map((c) => c.id);
  });
}

/**
 * The generic-format files of a set of clips. Protocols: `holdout` (the first, which `train` uses by
 * default: every fourth clip of each gesture is tested on), and with clips by two or more people also
 * `cross-subject` (each person's clips tested on by a model trained on the others').
 */
export function genericFiles(clips: readonly Clip[]): { skeleton: string; sequences: string } {
  const protocols: Record<string, { name: string; test: string[] }[]> = {
    holdout: [{ name: 'holdout', test: heldOut(clips) }],
  };
  const subjects = [...new Set(clips.map((c) => c.subject))];
  if (subjects.length > 1) {
    protocols['cross-subject'] = subjects.map((subject) => ({
      name: subject,
      test: clips.filter((c) => c.subject === subject).map((c) => c.id),
    }));
  }
  const skeleton = {
    name: DATASET_NAME,
    title: 'Hand gestures recorded in the skelprune demo',
    units: 'mm',
    jointNames: MEDIAPIPE_HAND_LANDMARKS,
    bones: MEDIAPIPE_HAND_BONES,
    classNames: classesOf(clips),
    centerJoint: 0,
    // The first frame's wrist: the hand's movement counts, not only its shape.
    centerMode: 'first-frame',
    protocols,
  };
  const lines = clips.map((clip) => {
    const frames: number[][][] = [];
    for (let f = 0; f < clip.positions.length / JOINT_VALUES; f++) {
      frames.push(
        MEDIAPIPE_HAND_LANDMARKS.map((_, j) => {
          const at = f * JOINT_VALUES + j * 3;
          return [round(clip.positions[at]), round(clip.positions[at + 1]), round(clip.positions[at + 2])];
        }),
      );
    }
    return JSON.stringify({ id: clip.id, label: clip.label, subject: clip.subject, frames });
  });
  return { skeleton: `${JSON.stringify(skeleton, null, 2)}\n`, sequences: `${lines.join('\n')}\n` };
}

/** What a set needs before `train` can use it: two gestures, two clips each (one to test on). */
export function downloadProblem(clips: readonly Clip[]): string | null {
  const classes = classesOf(clips);
  if (classes.length < 2) return 'Record at least two gestures (a model tells classes apart).';
  const few = classes.filter((label) => clips.filter((c) => c.label === label).length < 2);
  if (few.length > 0)
    return `Record at least two clips of ${few.join(', ')} (one is kept to test the model on).`;
  return null;
}

function download(name: string, contents: Uint8Array | string, type: string): void {
  const url = URL.createObjectURL(new Blob([contents as BlobPart], { type }));
  const link = el('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

type State =
  | { kind: 'idle' }
  | { kind: 'countdown'; timer: number; left: number }
  | { kind: 'recording'; frames: Float32Array[]; started: number; timer: number | null };

export interface RecorderHooks {
  /** Shows (a number) or hides (null) the big countdown over the video. */
  countdown(seconds: number | null): void;
  /** Plays a clip in the 3D view. */
  review(clip: Clip): void;
}

export class Recorder {
  private clips: Clip[] = [];
  private state: State = { kind: 'idle' };
  private cameraOn = false;
  private readonly elements = {
    name: byId<HTMLInputElement>('record-class'),
    classes: byId('record-classes'),
    subject: byId<HTMLInputElement>('record-subject'),
    countdown: byId<HTMLSelectElement>('record-countdown'),
    length: byId<HTMLSelectElement>('record-length'),
    record: byId<HTMLButtonElement>('record'),
    status: byId('record-status'),
    list: byId('clip-list'),
    download: byId<HTMLButtonElement>('download'),
    skeleton: byId<HTMLButtonElement>('download-skeleton'),
    sequences: byId<HTMLButtonElement>('download-sequences'),
    clear: byId<HTMLButtonElement>('clear-clips'),
    hint: byId('download-hint'),
  };

  constructor(private readonly hooks: RecorderHooks) {
    this.clips = loadClips();
    const { record, download: zip, skeleton, sequences, clear, name } = this.elements;
    record.addEventListener('click', () => (this.state.kind === 'idle' ? this.start() : this.stop()));
    name.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && this.state.kind === 'idle' && this.cameraOn) this.start();
    });
    zip.addEventListener('click', () => {
      const files = genericFiles(this.clips);
      const archive = zipFiles({
        [`${DATASET_NAME}/skeleton.json`]: files.skeleton,
        [`${DATASET_NAME}/sequences.jsonl`]: files.sequences,
      });
      download(`${DATASET_NAME}.zip`, archive, 'application/zip');
    });
    skeleton.addEventListener('click', () =>
      download('skeleton.json', genericFiles(this.clips).skeleton, 'application/json'),
    );
    sequences.addEventListener('click', () =>
      download('sequences.jsonl', genericFiles(this.clips).sequences, 'application/x-ndjson'),
    );
    clear.addEventListener('click', () => {
      if (!window.confirm(`Delete all ${this.clips.length} clips from this browser?`)) return;
      this.clips = [];
      this.changed('All clips deleted.');
    });
    this.render();
  }

  /** The camera went on or off; recording needs it (turning it off ends a recording). */
  setCamera(on: boolean): void {
    this.cameraOn = on;
    if (!on && this.state.kind !== 'idle') this.stop();
    this.elements.record.disabled = !on;
    this.status(on ? 'Name a gesture, then press Record.' : 'Start the camera to record.');
  }

  /** Every tracked frame (MediaPipe order, mm), or null when no hand is in view. */
  onFrame(positions: Float32Array | null): void {
    if (this.state.kind !== 'recording' || !positions) return;
    this.state.frames.push(positions.slice());
    const seconds = (performance.now() - this.state.started) / 1000;
    this.status(`● Recording ${this.label()}: ${this.state.frames.length} frames, ${seconds.toFixed(1)} s`);
  }

  get recording(): boolean {
    return this.state.kind === 'recording';
  }

  private label(): string {
    return this.elements.name.value.trim();
  }

  private start(): void {
    if (!this.cameraOn) return;
    if (this.label() === '') {
      this.status('Name the gesture first (e.g. wave, fist, thumbs up).');
      this.elements.name.focus();
      return;
    }
    const seconds = Number(this.elements.countdown.value);
    this.elements.record.textContent = 'Stop';
    if (seconds > 0) this.countdown(seconds);
    else this.begin();
  }

  private countdown(left: number): void {
    this.hooks.countdown(left);
    this.status(`Get ready to show ${this.label()}: ${left}…`);
    const timer = window.setTimeout(() => (left > 1 ? this.countdown(left - 1) : this.begin()), 1000);
    this.state = { kind: 'countdown', timer, left };
  }

  private begin(): void {
    this.hooks.countdown(null);
    const length = Number(this.elements.length.value);
    const timer = length > 0 ? window.setTimeout(() => this.stop(), length * 1000) : null;
    this.state = { kind: 'recording', frames: [], started: performance.now(), timer };
    this.status(`● Recording ${this.label()}…`);
  }

  private stop(): void {
    const { state } = this;
    this.state = { kind: 'idle' };
    this.hooks.countdown(null);
    this.elements.record.textContent = 'Record';
    if (state.kind === 'countdown') {
      clearTimeout(state.timer);
      this.status('Recording cancelled.');
      return;
    }
    if (state.kind !== 'recording') return;
    if (state.timer !== null) clearTimeout(state.timer);
    if (state.frames.length < MIN_CLIP_FRAMES) {
      this.status(
        `Nothing kept: the hand was seen in only ${state.frames.length} frame(s) (at least ${MIN_CLIP_FRAMES} are needed). Keep your hand in view and try again.`,
      );
      return;
    }
    const label = this.label();
    const positions = new Float32Array(state.frames.length * JOINT_VALUES);
    for (const [f, frame] of state.frames.entries()) positions.set(frame, f * JOINT_VALUES);
    const clip: Clip = {
      id: this.newId(label),
      label,
      subject: this.elements.subject.value.trim() || 'me',
      positions,
    };
    this.clips.push(clip);
    this.changed(`Kept ${clip.id}: ${state.frames.length} frames. Record another, or name the next gesture.`);
  }

  private newId(label: string): string {
    const base = slug(label);
    const taken = new Set(this.clips.map((c) => c.id));
    let n = this.clips.filter((c) => c.label === label).length + 1;
    while (taken.has(`${base}-${n}`)) n++;
    return `${base}-${n}`;
  }

  private delete(clip: Clip): void {
    this.clips = this.clips.filter((c) => c !== clip);
    this.changed(`Deleted ${clip.id}.`);
  }

  private changed(message: string): void {
    const saved = saveClips(this.clips);
    this.status(
      saved ? message : `${message} (This browser's storage is full: download the set to keep it.)`,
    );
    this.render();
  }

  private status(text: string): void {
    this.elements.status.textContent = text;
  }

  private render(): void {
    const { list, classes, download: zip, skeleton, sequences, clear, hint } = this.elements;
    const names = classesOf(this.clips);
    classes.replaceChildren(...names.map((name) => el('option', { value: name })));
    list.replaceChildren(
      ...names.map((label) => {
        const own = this.clips.filter((c) => c.label === label);
        return el(
          'div',
          { class: 'clip-class' },
          el('h3', {}, `${label} `, el('small', {}, `${own.length} clip${own.length === 1 ? '' : 's'}`)),
          el('ul', {}, ...own.map((clip) => this.clipItem(clip))),
        );
      }),
    );
    const problem = this.clips.length === 0 ? 'No clips yet.' : downloadProblem(this.clips);
    for (const button of [zip, skeleton, sequences]) button.disabled = problem !== null;
    clear.disabled = this.clips.length === 0;
    hint.textContent =
      problem ??
      `${this.clips.length} clips of ${names.length} gestures. Unzip gestures.zip, then: skelprune train --dataset generic --path gestures`;
  }

  private clipItem(clip: Clip): HTMLElement {
    const frames = clip.positions.length / JOINT_VALUES;
    const review = el(
      'button',
      { type: 'button', class: 'small', 'aria-label': `Review ${clip.id}` },
      'Review',
    );
    review.addEventListener('click', () => this.hooks.review(clip));
    const remove = el(
      'button',
      { type: 'button', class: 'small', 'aria-label': `Delete ${clip.id}` },
      'Delete',
    );
    remove.addEventListener('click', () => this.delete(clip));
    return el(
      'li',
      { 'data-clip': clip.id },
      el('span', {}, `${clip.id}`),
      el('small', {}, `${frames} frames`),
      review,
      remove,
    );
  }
}

/** Clips kept in this browser (none when storage is off or holds something else). */
function loadClips(): Clip[] {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]') as {
      id: string;
      label: string;
      subject: string;
      positions: number[];
    }[];
    return stored
      .filter((c) => typeof c.id === 'string' && c.positions.length % JOINT_VALUES === 0)
      .map((c) => ({ ...c, positions: Float32Array.from(c.positions) }));
  } catch {
    return [];
  }
}

function saveClips(clips: readonly Clip[]): boolean {
  try {
    const plain = clips.map((c) => ({ ...c, positions: Array.from(c.positions, round) }));
    localStorage.setItem(STORAGE_KEY, JSON.stringify(plain));
    return true;
  } catch {
    return false;
  }
}
