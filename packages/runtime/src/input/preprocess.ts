/**
 * The deterministic half of preprocessing, applied identically in training and inference: a
 * variable-length sequence becomes a fixed-size array [T, persons, joints, 3] by centring, scale
 * normalization and temporal resampling or chunking, with the `FittedPreprocessing` a model file
 * records (fitted on the training data by the toolkit, plain JSON). Augmentation is training's
 * business and lives in the toolkit; its settings ride along in the record and are ignored here.
 */
import { SkelpruneError } from '../errors.js';
import * as check from '../format/check.js';
import type { SkeletonSequence } from './types.js';

/**
 * Which centre a sequence is moved to the origin by: the centre joint's position in the first frame,
 * subtracted from every frame (`first-frame`), or each frame's own (`every-frame`).
 */
export type CenterMode = 'first-frame' | 'every-frame';

/** Training-time augmentation recorded with the model (unused at inference). */
export interface Augmentation {
  /** Largest rotation about each of x, y, z, in degrees. */
  rotation: number;
  /** Largest further turn about the vertical y axis, in degrees. */
  yaw: number;
  /** Largest relative size change. */
  scaling: number;
  /** Standard deviation of Gaussian noise on every output coordinate. */
  jitter: number;
  /** Largest fraction of the frames cut away by a random contiguous crop. */
  temporalCrop: number;
  /** Largest relative change of the playback speed along a sequence (a random time warp). */
  temporalWarp: number;
  /** Probability of listing the persons in reverse order. */
  personSwap: number;
  /** Probability of mirroring a sequence (x negated, left and right joints swapped). */
  mirror: number;
  /** The joint pairs (left, right; indices within a person) a mirror swaps. */
  mirrorPairs: [number, number][];
}

/**
 * How a sequence of any length becomes the model's fixed number of frames: resampled to `frames`
 * instants, or cut into `chunks` parts that each become their mean.
 */
export type TemporalSampling =
  /** Linear interpolation to `frames` evenly spaced instants; the first and last frames are kept. */
  | {
      /** Resampling. */
      mode: 'resample';
      /** Instants the sequence is resampled to (at least 2). */
      frames: number;
    }
  /** The time axis cut into `chunks` equal parts; each output frame is the mean of its part. */
  | {
      /** Chunk means. */
      mode: 'chunks';
      /** Equal parts of the time axis, one output frame each. */
      chunks: number;
    };

/** How centred coordinates are scaled, fitted on the training data. */
export type ScaleNormalization =
  /** Coordinates stay in the data's units. */
  | {
      /** No scaling. */
      method: 'none';
    }
  /** Divide by the standard deviation of all centred training coordinates. */
  | {
      /** Scaling by one standard deviation. */
      method: 'global-std';
      /** The standard deviation, in the data's units (positive). */
      std: number;
    }
  /**
   * Every bone keeps its direction and takes its mean training length (each subtree follows its
   * parent), then all coordinates are divided by `unit`.
   */
  | {
      /** Scaling to mean bone lengths. */
      method: 'bone-length';
      /** Tree edges [parent, child], parents before children, rooted at the centre joint. */
      tree: [number, number][];
      /** Mean training length of each tree edge. */
      lengths: number[];
      /** Mean of `lengths`: the unit of the output. */
      unit: number;
    };

/**
 * A view normalisation: each sequence is rotated into a frame of its own body (or hand), so that the
 * camera's viewpoint stops mattering. Two directions are measured on the first person, averaged over
 * the sequence's frames: "right" from the mean of `rightFrom` joints to the mean of `rightTo` joints
 * (e.g. left shoulder and hip → right shoulder and hip; pinky MCP → index MCP), and "up" from `upFrom`
 * to `upTo` (hips → shoulders; wrist → middle MCP). The new x axis is right, y is up made orthogonal to
 * it, z completes a right-handed frame.
 */
export interface ViewNormalization {
  /** Joints whose mean is where the right direction starts. */
  rightFrom: number[];
  /** Joints whose mean is where it ends. */
  rightTo: number[];
  /** Joints whose mean is where the up direction starts. */
  upFrom: number[];
  /** Joints whose mean is where it ends. */
  upTo: number[];
}

/** A preprocessing resolved against a skeleton and training data: everything inference needs, as JSON. */
export interface FittedPreprocessing {
  /** Version of this record's layout. */
  version: 1;
  /** Persons in every frame. */
  persons: number;
  /** Joints of each person. */
  joints: number;
  /** null: no centring. The centre is the mean of this joint over all persons. */
  center: null | {
    /** The centre joint's index. */
    joint: number;
    /** Which frame's centre each frame is moved by. */
    mode: CenterMode;
  };
  /** The rotation into the body's (or hand's) own frame, after centring; null: none. */
  view: ViewNormalization | null;
  /** How centred coordinates are scaled. */
  scale: ScaleNormalization;
  /** How the sequence is brought to a fixed number of frames. */
  temporal: TemporalSampling;
  /**
   * Median frames of the training sequences before temporal sampling: how long a clip the model
   * learned from, the natural window for live input. Null when not recorded (older files).
   */
  clipFrames: number | null;
  /** Training-time augmentation (recorded, ignored at inference). */
  augment: Augmentation;
}

/** Largest joint, person and frame counts a model description may claim (far above any skeleton). */
export const LIMITS = { joints: 4096, persons: 64, frames: 65536 } as const;

/** Validates a fitted preprocessing read back from JSON (a model file or a checkpoint). */
export function parseFittedPreprocessing(json: unknown, path = 'preprocessing'): FittedPreprocessing {
  try {
    return readFitted(json, path);
  } catch (error) {
    if (error instanceof SkelpruneError) throw new SkelpruneError(`fitted preprocessing: ${error.message}`);
    throw error;
  }
}

function readFitted(json: unknown, path: string): FittedPreprocessing {
  const o = check.object(path, json, [
    'version',
    'persons',
    'joints',
    'center',
    'view',
    'scale',
    'temporal',
    'clipFrames',
    'augment',
  ]);
  if (o.version !== 1) check.invalid(`${path}.version`, '1', o.version);
  const persons = check.integer(`${path}.persons`, o.persons, 1, LIMITS.persons);
  const joints = check.integer(`${path}.joints`, o.joints, 1, LIMITS.joints);
  return {
    version: 1,
    persons,
    joints,
    center: readCenter(`${path}.center`, o.center, joints),
    // Files written before view normalisation existed have no `view`: none.
    view: o.view === undefined || o.view === null ? null : readView(`${path}.view`, o.view, joints),
    scale: readScale(`${path}.scale`, o.scale, joints),
    temporal: readTemporal(`${path}.temporal`, o.temporal),
    clipFrames:
      o.clipFrames === undefined || o.clipFrames === null
        ? null
        : check.integer(`${path}.clipFrames`, o.clipFrames, 1, LIMITS.frames),
    augment: readAugment(`${path}.augment`, o.augment, joints),
  };
}

function readCenter(path: string, value: unknown, joints: number): FittedPreprocessing['center'] {
  if (value === null) return null;
  const o = check.object(path, value, ['joint', 'mode']);
  return {
    joint: check.integer(`${path}.joint`, o.joint, 0, joints - 1),
    mode: check.oneOf(`${path}.mode`, o.mode, ['first-frame', 'every-frame'] as const),
  };
}

function readView(path: string, value: unknown, joints: number): ViewNormalization {
  const o = check.object(path, value, ['rightFrom', 'rightTo', 'upFrom', 'upTo']);
  const list = (key: keyof ViewNormalization) => {
    const items = check.array(`${path}.${key}`, o[key], joints);
    if (items.length === 0) check.invalid(`${path}.${key}`, 'at least one joint', '[]');
    return items.map((v, i) => check.integer(`${path}.${key}.${i}`, v, 0, joints - 1));
  };
  return {
    rightFrom: list('rightFrom'),
    rightTo: list('rightTo'),
    upFrom: list('upFrom'),
    upTo: list('upTo'),
  };
}

function readScale(path: string, value: unknown, joints: number): ScaleNormalization {
  const method = check.oneOf(`${path}.method`, check.object(path, value).method, [
    'none',
    'global-std',
    'bone-length',
  ] as const);
  if (method === 'none') {
    check.object(path, value, ['method']);
    return { method };
  }
  if (method === 'global-std') {
    const o = check.object(path, value, ['method', 'std']);
    return { method, std: check.positive(`${path}.std`, o.std) };
  }
  const o = check.object(path, value, ['method', 'tree', 'lengths', 'unit']);
  const tree = check.pairs(`${path}.tree`, o.tree, joints - 1);
  const lengths = check
    .array(`${path}.lengths`, o.lengths)
    .map((v, i) => check.number(`${path}.lengths.${i}`, v, 0));
  if (lengths.length !== tree.length)
    check.invalid(`${path}.lengths`, `${tree.length} lengths, one per tree edge`, `${lengths.length}`);
  return { method, tree, lengths, unit: check.positive(`${path}.unit`, o.unit) };
}

function readTemporal(path: string, value: unknown): TemporalSampling {
  const mode = check.oneOf(`${path}.mode`, check.object(path, value).mode, ['resample', 'chunks'] as const);
  if (mode === 'resample') {
    const o = check.object(path, value, ['mode', 'frames']);
    return { mode, frames: check.integer(`${path}.frames`, o.frames, 2, LIMITS.frames) };
  }
  const o = check.object(path, value, ['mode', 'chunks']);
  return { mode, chunks: check.integer(`${path}.chunks`, o.chunks, 1, LIMITS.frames) };
}

function readAugment(path: string, value: unknown, joints: number): Augmentation {
  const o = check.object(path, value, [
    'rotation',
    'yaw',
    'scaling',
    'jitter',
    'temporalCrop',
    'temporalWarp',
    'personSwap',
    'mirror',
    'mirrorPairs',
  ]);
  const field = (key: string, max: number) => check.number(`${path}.${key}`, o[key], 0, max);
  // Files written before the yaw, the time warp and the mirror existed lack their keys: off.
  const newer = (key: string, max: number) => (o[key] === undefined ? 0 : field(key, max));
  return {
    rotation: field('rotation', 180),
    yaw: newer('yaw', 180),
    scaling: field('scaling', 1),
    jitter: field('jitter', Infinity),
    temporalCrop: field('temporalCrop', 1),
    temporalWarp: newer('temporalWarp', 1),
    personSwap: field('personSwap', 1),
    mirror: newer('mirror', 1),
    mirrorPairs:
      o.mirrorPairs === undefined ? [] : check.pairs(`${path}.mirrorPairs`, o.mirrorPairs, joints - 1),
  };
}

/** Frames out of preprocessing: T when resampling, M when chunking. */
export function outputFrames(fitted: FittedPreprocessing): number {
  return fitted.temporal.mode === 'resample' ? fitted.temporal.frames : fitted.temporal.chunks;
}

/**
 * Centres, normalizes and resamples (or chunks) frames [start, start + frames) of a sequence: a new
 * Float32Array [T or M, persons, joints, 3]. Inference takes the whole sequence; training may pass a
 * random crop.
 */
export function normalizeSequence(
  sequence: SkeletonSequence,
  fitted: FittedPreprocessing,
  start = 0,
  frames = sequence.frames,
): Float32Array {
  if (sequence.persons !== fitted.persons || sequence.joints !== fitted.joints) {
    throw new SkelpruneError(
      `sequence ${sequence.id}: expected ${fitted.persons} persons × ${fitted.joints} joints, found ${sequence.persons} × ${sequence.joints}`,
    );
  }
  if (frames < 1) throw new SkelpruneError(`sequence ${sequence.id}: has no frames`);
  const values = centeredFrames(sequence, fitted.center, start, frames);
  if (fitted.view) rotateToView(values, frames, sequence.persons, sequence.joints, fitted.view);
  normalizeScale(values, frames, sequence.persons, sequence.joints, fitted.scale);
  return fitted.temporal.mode === 'resample'
    ? resample(values, frames, fitted.temporal.frames)
    : chunkMeans(values, frames, fitted.temporal.chunks);
}

/** Distance between the points at offsets a and b of a flat xyz array. */
export function jointDistance(values: ArrayLike<number>, a: number, b: number): number {
  return Math.hypot(values[b] - values[a], values[b + 1] - values[a + 1], values[b + 2] - values[a + 2]);
}

/** Frames [start, start + frames) as float64, minus the centre (the mean of the centre joint over persons). */
export function centeredFrames(
  sequence: SkeletonSequence,
  center: FittedPreprocessing['center'],
  start: number,
  frames: number,
): Float64Array {
  const { persons, joints, positions } = sequence;
  const frameSize = persons * joints * 3;
  const values = new Float64Array(positions.subarray(start * frameSize, (start + frames) * frameSize));
  if (!center) return values;
  const point = [0, 0, 0];
  for (let f = 0; f < frames; f++) {
    if (f === 0 || center.mode === 'every-frame') {
      for (let axis = 0; axis < 3; axis++) {
        let sum = 0;
        for (let p = 0; p < persons; p++) {
          sum += values[f * frameSize + (p * joints + center.joint) * 3 + axis];
        }
        point[axis] = sum / persons;
      }
    }
    for (let k = 0; k < frameSize; k++) values[f * frameSize + k] -= point[k % 3];
  }
  return values;
}

/**
 * Rotates every point of `values` ([frames, persons, joints, 3], centred) into the frame the view
 * normalisation defines on the first person. A direction of zero length (joints on top of each
 * other, or right and up parallel) leaves the sequence as it is.
 */
export function rotateToView(
  values: Float64Array,
  frames: number,
  persons: number,
  joints: number,
  view: ViewNormalization,
): void {
  const frameSize = persons * joints * 3;
  const meanDirection = (from: number[], to: number[]) => {
    const direction = [0, 0, 0];
    for (let f = 0; f < frames; f++) {
      for (let axis = 0; axis < 3; axis++) {
        const at = (list: number[]) =>
          list.reduce((sum, j) => sum + values[f * frameSize + j * 3 + axis], 0) / list.length;
        direction[axis] += at(to) - at(from);
      }
    }
    return direction;
  };
  const x = unit(meanDirection(view.rightFrom, view.rightTo));
  const up = meanDirection(view.upFrom, view.upTo);
  if (x === null) return;
  const along = dot(up, x);
  const y = unit([up[0] - along * x[0], up[1] - along * x[1], up[2] - along * x[2]]);
  if (y === null) return;
  const z = [x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]];
  for (let k = 0; k < values.length; k += 3) {
    const point = [values[k], values[k + 1], values[k + 2]];
    values[k] = dot(x, point);
    values[k + 1] = dot(y, point);
    values[k + 2] = dot(z, point);
  }
}

const dot = (a: readonly number[], b: readonly number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

function unit(v: number[]): number[] | null {
  const length = Math.hypot(v[0], v[1], v[2]);
  return length > 1e-12 ? v.map((c) => c / length) : null;
}

function normalizeScale(
  values: Float64Array,
  frames: number,
  persons: number,
  joints: number,
  scale: ScaleNormalization,
): void {
  if (scale.method === 'none') return;
  if (scale.method === 'global-std') {
    for (let k = 0; k < values.length; k++) values[k] /= scale.std;
    return;
  }
  const original = new Float64Array(joints * 3);
  for (let fp = 0; fp < frames * persons; fp++) {
    const base = fp * joints * 3;
    original.set(values.subarray(base, base + joints * 3));
    scale.tree.forEach(([parent, child], e) => {
      // Keep the bone's direction, give it the mean length; the subtree follows its parent.
      const length = jointDistance(original, parent * 3, child * 3);
      const factor = length > 0 ? scale.lengths[e] / length : 0;
      for (let axis = 0; axis < 3; axis++) {
        const offset = original[child * 3 + axis] - original[parent * 3 + axis];
        values[base + child * 3 + axis] = values[base + parent * 3 + axis] + factor * offset;
      }
    });
    for (let k = base; k < base + joints * 3; k++) values[k] /= scale.unit;
  }
}

/** Linear interpolation of `frames` frames to `target` evenly spaced instants, endpoints included. */
function resample(values: Float64Array, frames: number, target: number): Float32Array {
  const frameSize = values.length / frames;
  const out = new Float32Array(target * frameSize);
  for (let i = 0; i < target; i++) {
    const position = (i * (frames - 1)) / (target - 1);
    const before = Math.floor(position);
    const after = Math.min(before + 1, frames - 1);
    const weight = position - before;
    for (let k = 0; k < frameSize; k++) {
      out[i * frameSize + k] =
        (1 - weight) * values[before * frameSize + k] + weight * values[after * frameSize + k];
    }
  }
  return out;
}

/**
 * Cuts the time axis [0, frames) into `chunks` equal parts (frame f spans [f, f + 1)) and returns the
 * mean of each part; a frame straddling a boundary counts in proportion to its overlap, so the result
 * is exact even when the frame count is not a multiple of `chunks` or is smaller than it.
 */
function chunkMeans(values: Float64Array, frames: number, chunks: number): Float32Array {
  const frameSize = values.length / frames;
  const out = new Float32Array(chunks * frameSize);
  const width = frames / chunks;
  const sums = new Float64Array(frameSize);
  for (let c = 0; c < chunks; c++) {
    const from = c * width;
    const to = (c + 1) * width;
    sums.fill(0);
    for (let f = Math.floor(from); f < Math.min(frames, Math.ceil(to)); f++) {
      const overlap = Math.min(to, f + 1) - Math.max(from, f);
      for (let k = 0; k < frameSize; k++) sums[k] += overlap * values[f * frameSize + k];
    }
    for (let k = 0; k < frameSize; k++) out[c * frameSize + k] = sums[k] / width;
  }
  return out;
}
