/**
 * Preprocessing: turns a variable-length sequence into a fixed-size array [T, persons, joints, 3].
 *
 * Two steps of life:
 *  1. `fitPreprocessing(trainSequences, graph, config)` resolves the user's config against the
 *     skeleton (which joint is the centre) and the training sequences (statistics such as the global
 *     std), giving a self-contained `FittedPreprocessing`, plain JSON, stored with the trained model.
 *  2. `preprocessSequence(sequence, fitted, rng?)` applies it: the runtime package's deterministic
 *     `normalizeSequence` (identical at inference), plus augmentation when an `rng` is passed
 *     (training; off by default).
 *
 * Per sequence, in this order: time warp and temporal crop (augmentation) → centring → view
 * normalisation → scale normalization → temporal resampling or chunking → person swap, mirror,
 * rotation, yaw, scaling, jitter (augmentation).
 */
import {
  centeredFrames,
  type FittedPreprocessing,
  jointDistance,
  normalizeSequence,
  parseFittedPreprocessing,
  rotateToView,
  type ViewNormalization,
} from '@skelprune/runtime/internal';
import { z } from 'zod';
import type { Rng } from '../engine/random.js';
import { ConfigError } from '../errors.js';
import { note } from '../util/notes.js';
import { applyToPoints, multiply, rotation } from './geometry.js';
import { describeSchemaError, safeParseFirst } from './schema-errors.js';
import type { SkeletonGraph, SkeletonSequence } from './types.js';

const temporalModes = z.discriminatedUnion('mode', [
  /** Linear interpolation to `frames` evenly spaced instants; the first and last frames are kept. */
  z.strictObject({
    /** Resample to a fixed number of frames. */
    mode: z.literal('resample'),
    /** Frames of every preprocessed sequence. */
    frames: z.int().min(2).default(32),
  }),
  /** The time axis cut into `chunks` equal parts; each output frame is the mean of its part. */
  z.strictObject({
    /** Average the frames of equal parts of the sequence. */
    mode: z.literal('chunks'),
    /** Parts, hence frames of every preprocessed sequence. */
    chunks: z.int().min(1).default(8),
  }),
]);

/** `{ frames: 64 }` alone means resampling and `{ chunks: 8 }` chunking: the mode follows the key. */
const temporalSchema = z.preprocess((value) => {
  if (typeof value !== 'object' || value === null || 'mode' in value) return value;
  return { mode: 'chunks' in value ? 'chunks' : 'resample', ...value };
}, temporalModes);

const augmentSchema = z.strictObject({
  /**
   * Largest rotation about each of x, y, z, in degrees (uniform in ±rotation). 0 = off. Default 0; sbu,
   * fpha and generic: 15.
   */
  rotation: z.number().min(0).max(180).default(0),
  /**
   * Largest further turn about the vertical y axis, in degrees (uniform in ±yaw), after `rotation`:
   * a camera placed further round the body. y is up after view normalisation (and in Kinect data).
   * 0 = off. Default 0; generic: 30.
   */
  yaw: z.number().min(0).max(180).default(0),
  /**
   * Largest relative size change: a factor uniform in [1 − scaling, 1 + scaling]. 0 = off. Default 0; sbu,
   * fpha and generic: 0.1.
   */
  scaling: z.number().min(0).lt(1).default(0),
  /**
   * Standard deviation of Gaussian noise added to every output coordinate (normalized units). 0 = off.
   * Default 0.
   */
  jitter: z.number().min(0).default(0),
  /**
   * Largest fraction of the frames cut away by a random contiguous crop. 0 = off. Default 0; sbu and fpha:
   * 0.15; generic: 0.3.
   */
  temporalCrop: z.number().min(0).lt(1).default(0),
  /**
   * Largest relative change of the playback speed: the sequence is replayed with each quarter at a
   * speed factor uniform in [1 − temporalWarp, 1 + temporalWarp], a random time warp. 0 = off.
   * Default 0.
   */
  temporalWarp: z.number().min(0).lt(1).default(0),
  /**
   * Probability of listing the persons in reverse order (two-person interactions such as SBU's keep
   * their label whoever acts first). 0 = off; no effect on one-person data.
   * Default 0; sbu: 0.5.
   */
  personSwap: z.number().min(0).max(1).default(0),
  /**
   * Probability of mirroring a sequence: x negated and every left joint swapped with its right twin
   * (pairs found by name, e.g. `elbow_left` and `elbow_right`; off, with a note, when there are none).
   * Only for labels that do not depend on the side. 0 = off. Default 0.
   */
  mirror: z.number().min(0).max(1).default(0),
});

const centerChoiceSchema = z.union([
  z.enum(['dataset', 'torso', 'wrist', 'none']),
  z.strictObject({
    /** Index of the centre joint in the skeleton (0-based). */
    joint: z.int().nonnegative(),
  }),
]);

const jointList = z.array(z.int().nonnegative()).min(1);
const viewChoiceSchema = z.union([
  z.enum(['none', 'auto']),
  z.strictObject({
    /** Joints whose mean starts the right direction (e.g. left shoulder and left hip). */
    rightFrom: jointList,
    /** Joints whose mean ends it (e.g. right shoulder and right hip). */
    rightTo: jointList,
    /** Joints whose mean starts the up direction (e.g. both hips). */
    upFrom: jointList,
    /** Joints whose mean ends it (e.g. both shoulders). */
    upTo: jointList,
  }),
]);

/** What a user configures; every field is optional (see the defaults). */
export const preprocessConfigSchema = z.strictObject({
  /**
   * `dataset`: the skeleton's default centre joint; `torso`/`wrist`: the joint so named; `none`: no
   * centring; `{ joint }`: that joint. Default `dataset`.
   */
  center: centerChoiceSchema.default('dataset'),
  /**
   * Subtract the centre of the first frame (keeps global motion) or of every frame (removes it);
   * `dataset`: the skeleton's default. Default `dataset`.
   */
  centerMode: z.enum(['dataset', 'first-frame', 'every-frame']).default('dataset'),
  /**
   * Rotate each sequence into its body's own frame (right = left → right shoulders and hips, up =
   * hips → shoulders) or its hand's (right = pinky → index MCP, up = wrist → middle MCP), so the
   * camera's viewpoint stops mattering. `auto`: find those joints by name (off, with a note, when
   * they are not found); `{ rightFrom, rightTo, upFrom, upTo }`: joint indices; `none`: keep the
   * camera's view. Default `none`; generic: `auto`.
   */
  view: viewChoiceSchema.default('none'),
  /**
   * `global-std`: divide by the standard deviation of all centred training coordinates.
   * `bone-length`: set every bone to its mean training length, then divide by the mean bone length.
   * Default `global-std`.
   */
  scale: z.enum(['none', 'global-std', 'bone-length']).default('global-std'),
  /** A fixed number of frames, by resampling or by averaging chunks. Default: resample to 32; fpha and generic: 64. */
  temporal: temporalSchema.default({ mode: 'resample', frames: 32 }),
  /** Random augmentation of the training sequences; off by default, partly on in sbu's and fpha's defaults. */
  augment: augmentSchema.prefault({}),
});

export type PreprocessConfig = z.input<typeof preprocessConfigSchema>;
export type ResolvedPreprocessConfig = z.output<typeof preprocessConfigSchema>;
export type { FittedPreprocessing } from '@skelprune/runtime/internal';
export { outputFrames, parseFittedPreprocessing } from '@skelprune/runtime/internal';

/** A fitted preprocessing inside a zod schema (checkpoints), checked by the runtime's own reader. */
export const fittedPreprocessingSchema = z.unknown().transform((value, context): FittedPreprocessing => {
  try {
    return parseFittedPreprocessing(value);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** Validates a user config (a ConfigError names the bad key) and fills in the defaults. */
export function parsePreprocessConfig(config: unknown): ResolvedPreprocessConfig {
  const parsed = safeParseFirst(preprocessConfigSchema, config ?? {});
  if (!parsed.success) throw new ConfigError(`preprocessing: ${describeSchemaError(parsed.error, config)}`);
  return parsed.data;
}

/** Resolves `config` against the skeleton and computes its statistics from the training sequences only. */
export function fitPreprocessing(
  train: readonly SkeletonSequence[],
  graph: SkeletonGraph,
  config: PreprocessConfig = {},
): FittedPreprocessing {
  const resolved = parsePreprocessConfig(config);
  const joints = graph.jointNames.length;
  const center = resolveCenter(resolved, graph);
  const view = resolveView(resolved.view, graph);
  const base = {
    version: 1 as const,
    persons: graph.persons,
    joints,
    center,
    view,
    temporal: resolved.temporal,
    clipFrames: train.length > 0 ? medianFrames(train) : null,
  };
  const augment = { ...resolved.augment, mirrorPairs: resolveMirrorPairs(resolved.augment.mirror, graph) };
  const unscaled: FittedPreprocessing = { ...base, scale: { method: 'none' }, augment };
  if (resolved.scale === 'none') return unscaled;
  if (train.length === 0) {
    throw new ConfigError(`preprocessing: scale '${resolved.scale}' needs training sequences`);
  }
  if (resolved.scale === 'global-std') {
    return { ...unscaled, scale: { method: 'global-std', std: globalStd(train, unscaled) } };
  }
  return { ...unscaled, scale: fitBoneLengths(train, graph, center?.joint ?? graph.centerJoint) };
}

function resolveCenter(
  config: ResolvedPreprocessConfig,
  graph: SkeletonGraph,
): FittedPreprocessing['center'] {
  const mode = config.centerMode === 'dataset' ? graph.centerMode : config.centerMode;
  const choice = config.center;
  if (choice === 'none') return null;
  if (choice === 'dataset') return { joint: graph.centerJoint, mode };
  if (typeof choice === 'object') {
    if (choice.joint >= graph.jointNames.length) {
      throw new ConfigError(
        `preprocessing: center.joint: expected 0-${graph.jointNames.length - 1}, found ${choice.joint}`,
      );
    }
    return { joint: choice.joint, mode };
  }
  const joint = graph.jointNames.findIndex((name) => name.toLowerCase().includes(choice));
  if (joint === -1) {
    const names = graph.jointNames.join(', ');
    throw new ConfigError(
      `preprocessing: center '${choice}': the skeleton has no joint named like it (joints: ${names})`,
    );
  }
  return { joint, mode };
}

/** The median length of the training sequences, in frames (rounded). */
function medianFrames(train: readonly SkeletonSequence[]): number {
  const lengths = train.map((s) => s.frames).sort((a, b) => a - b);
  const middle = lengths.length >> 1;
  return Math.round(lengths.length % 2 === 1 ? lengths[middle] : (lengths[middle - 1] + lengths[middle]) / 2);
}

/** The joints of a view normalisation: as given, found by name (`auto`), or none. */
function resolveView(
  choice: ResolvedPreprocessConfig['view'],
  graph: SkeletonGraph,
): ViewNormalization | null {
  if (choice === 'none') return null;
  const joints = graph.jointNames.length;
  if (typeof choice === 'object') {
    for (const [key, list] of Object.entries(choice)) {
      const outside = list.find((j) => j >= joints);
      if (outside !== undefined) {
        throw new ConfigError(
          `preprocessing: view.${key}: expected joints 0-${joints - 1}, found ${outside}`,
        );
      }
    }
    return choice;
  }
  const view = viewJointsByName(graph.jointNames);
  if (view === null) {
    note(
      `view normalisation off: 'auto' found neither left and right shoulders and hips (a body) nor a wrist with index, middle and pinky MCPs (a hand) among the joints (${firstJointNames(graph.jointNames)}); give them as preprocess.view: { rightFrom, rightTo, upFrom, upTo }`,
    );
  }
  return view;
}

/** The first 8 joint names, for a note about a skeleton. */
function firstJointNames(names: readonly string[]): string {
  return `${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''}`;
}

/** The pairs a mirror augmentation swaps: none when it is off, by name otherwise. */
function resolveMirrorPairs(mirror: number, graph: SkeletonGraph): [number, number][] {
  if (mirror === 0) return [];
  const pairs = mirrorPairsByName(graph.jointNames);
  if (pairs.length === 0) {
    note(
      `mirror augmentation off: no joint names come in left/right pairs (${firstJointNames(graph.jointNames)})`,
    );
  }
  return pairs;
}

/** A joint name's lower-case words: `HipLeft`, `hip_left` and `hip-left` all give `hip left`. */
function nameWords(name: string): string[] {
  return name
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

const SIDE_TWINS: Record<string, string> = { left: 'right', l: 'r' };

/**
 * Left/right twins among joint names (`elbow_left` and `elbow_right`, `l_hip` and `r_hip`): each
 * name with a left word whose twin, that word replaced by its right one, is also a joint.
 */
export function mirrorPairsByName(names: readonly string[]): [number, number][] {
  const keys = names.map((name) => nameWords(name).join(' '));
  const pairs: [number, number][] = [];
  keys.forEach((key, left) => {
    const words = key.split(' ');
    const side = words.findIndex((w) => w in SIDE_TWINS);
    if (side === -1) return;
    const twin = words.map((w, i) => (i === side ? SIDE_TWINS[w] : w)).join(' ');
    const right = keys.indexOf(twin);
    if (right !== -1) pairs.push([left, right]);
  });
  return pairs;
}

/**
 * A body's or a hand's view joints, found by their names (case and separators ignored): `left_hip`,
 * `HipLeft`, `LEFT_SHOULDER`, `l_shoulder`; `Wrist`, `IMCP` or `index_mcp`, `MMCP`, `PMCP` or
 * `pinky_mcp`/`little_mcp`. Null when neither set is complete.
 */
export function viewJointsByName(names: readonly string[]): ViewNormalization | null {
  const words = names.map(nameWords);
  const find = (test: (w: string[]) => boolean) => words.findIndex(test);
  const side = (w: string[], s: 'left' | 'right') => w.includes(s) || w.includes(s[0]);
  const body = (part: string, s: 'left' | 'right') => find((w) => w.includes(part) && side(w, s));
  const [ls, rs, lh, rh] = [
    body('shoulder', 'left'),
    body('shoulder', 'right'),
    body('hip', 'left'),
    body('hip', 'right'),
  ];
  if (Math.min(ls, rs, lh, rh) >= 0) {
    return { rightFrom: [ls, lh], rightTo: [rs, rh], upFrom: [lh, rh], upTo: [ls, rs] };
  }
  const mcp = (short: string, ...fingers: string[]) =>
    find((w) => w.join('') === short || (w.includes('mcp') && fingers.some((f) => w.includes(f))));
  const wrist = find((w) => w.includes('wrist'));
  const [index, middle, pinky] = [
    mcp('imcp', 'index'),
    mcp('mmcp', 'middle'),
    mcp('pmcp', 'pinky', 'little'),
  ];
  if (Math.min(wrist, index, middle, pinky) >= 0) {
    return { rightFrom: [pinky], rightTo: [index], upFrom: [wrist], upTo: [middle] };
  }
  return null;
}

function globalStd(train: readonly SkeletonSequence[], fitted: FittedPreprocessing): number {
  let count = 0;
  let sum = 0;
  let sumSquares = 0;
  for (const sequence of train) {
    const values = centeredFrames(sequence, fitted.center, 0, sequence.frames);
    if (fitted.view) rotateToView(values, sequence.frames, sequence.persons, sequence.joints, fitted.view);
    for (const v of values) {
      sum += v;
      sumSquares += v * v;
    }
    count += values.length;
  }
  const mean = sum / count;
  const std = Math.sqrt(Math.max(0, sumSquares / count - mean * mean));
  if (!(std > 0)) {
    throw new ConfigError('preprocessing: the training coordinates have zero spread; use scale: none');
  }
  return std;
}

/** Breadth-first spanning tree of the bones from `root`, then each edge's mean length over training. */
function fitBoneLengths(
  train: readonly SkeletonSequence[],
  graph: SkeletonGraph,
  root: number,
): Extract<FittedPreprocessing['scale'], { method: 'bone-length' }> {
  const tree = spanningTree(graph, root);
  const totals = new Float64Array(tree.length);
  let samples = 0;
  for (const { positions, frames, persons, joints } of train) {
    for (let fp = 0; fp < frames * persons; fp++) {
      tree.forEach(([parent, child], e) => {
        totals[e] += jointDistance(positions, (fp * joints + parent) * 3, (fp * joints + child) * 3);
      });
    }
    samples += frames * persons;
  }
  const lengths = Array.from(totals, (total) => total / samples);
  const unit = lengths.reduce((a, b) => a + b, 0) / lengths.length;
  if (!(unit > 0)) throw new ConfigError('preprocessing: scale bone-length needs bones with nonzero length');
  return { method: 'bone-length', tree, lengths, unit };
}

function spanningTree(graph: SkeletonGraph, root: number): [number, number][] {
  const neighbours = graph.jointNames.map((): number[] => []);
  for (const [a, b] of graph.bones) {
    neighbours[a].push(b);
    neighbours[b].push(a);
  }
  const visited = new Set([root]);
  const queue = [root];
  const tree: [number, number][] = [];
  for (let i = 0; i < queue.length; i++) {
    for (const next of neighbours[queue[i]]) {
      if (visited.has(next)) continue;
      visited.add(next);
      queue.push(next);
      tree.push([queue[i], next]);
    }
  }
  return tree;
}

/**
 * Applies a fitted preprocessing to one sequence: a new Float32Array [T or M, persons, joints, 3].
 * Pass `rng` only for training samples: it enables the configured augmentation.
 */
export function preprocessSequence(
  sequence: SkeletonSequence,
  fitted: FittedPreprocessing,
  rng?: Rng,
): Float32Array {
  if (!rng) return normalizeSequence(sequence, fitted);
  const warped = timeWarp(sequence, fitted.augment.temporalWarp, rng);
  const { start, frames } = temporalCrop(warped.frames, fitted.augment.temporalCrop, rng);
  const out = normalizeSequence(warped, fitted, start, frames);
  augmentInPlace(out, fitted, rng);
  return out;
}

function reversePersons(out: Float32Array, persons: number, joints: number): void {
  const person = joints * 3;
  const frame = persons * person;
  for (let t = 0; t < out.length; t += frame) {
    const copy = out.slice(t, t + frame);
    for (let p = 0; p < persons; p++) {
      out.set(copy.subarray(p * person, (p + 1) * person), t + (persons - 1 - p) * person);
    }
  }
}

/** Segments of a time warp, each replayed at its own speed. */
const WARP_SEGMENTS = 4;

/**
 * The sequence replayed with each of `WARP_SEGMENTS` equal parts of the output at a random speed in
 * [1 − strength, 1 + strength]: a monotone piecewise-linear time map, sampled by linear interpolation.
 */
function timeWarp(sequence: SkeletonSequence, strength: number, rng: Rng): SkeletonSequence {
  if (strength === 0 || sequence.frames < 2) return sequence;
  const speeds = Array.from({ length: WARP_SEGMENTS }, () => rng.range(1 - strength, 1 + strength));
  const total = speeds.reduce((a, b) => a + b, 0);
  const knots = [0];
  for (const speed of speeds) knots.push(knots[knots.length - 1] + speed / total);
  const { frames } = sequence;
  const size = sequence.persons * sequence.joints * 3;
  const source = sequence.positions;
  const positions = new Float32Array(source.length);
  for (let f = 0; f < frames; f++) {
    const x = (f / (frames - 1)) * WARP_SEGMENTS;
    const k = Math.min(WARP_SEGMENTS - 1, Math.floor(x));
    const at = Math.min(frames - 1, (knots[k] + (x - k) * (knots[k + 1] - knots[k])) * (frames - 1));
    const lo = Math.floor(at);
    const hi = Math.min(frames - 1, lo + 1);
    const w = at - lo;
    for (let i = 0; i < size; i++) {
      positions[f * size + i] = (1 - w) * source[lo * size + i] + w * source[hi * size + i];
    }
  }
  return { ...sequence, positions };
}

function temporalCrop(frames: number, maxCut: number, rng: Rng): { start: number; frames: number } {
  if (maxCut === 0) return { start: 0, frames };
  const kept = Math.max(1, Math.round(frames * (1 - rng.range(0, maxCut))));
  return { start: rng.int(frames - kept + 1), frames: kept };
}

/** Mirrors [T, persons, joints, 3] in place: x negated, then each pair of twin joints swapped. */
function mirrorInPlace(out: Float32Array, pairs: readonly [number, number][], joints: number): void {
  for (let k = 0; k < out.length; k += 3) out[k] = -out[k];
  for (let base = 0; base < out.length; base += joints * 3) {
    for (const [a, b] of pairs) {
      for (let c = 0; c < 3; c++) {
        const t = out[base + a * 3 + c];
        out[base + a * 3 + c] = out[base + b * 3 + c];
        out[base + b * 3 + c] = t;
      }
    }
  }
}

/**
 * Random person order, a mirror, rotation about the origin and a turn about y, then a random size
 * factor, then Gaussian jitter, all in place on [T, persons, joints, 3].
 */
function augmentInPlace(out: Float32Array, fitted: FittedPreprocessing, rng: Rng): void {
  const { augment } = fitted;
  if (augment.personSwap > 0 && fitted.persons > 1 && rng.uniform() < augment.personSwap) {
    reversePersons(out, fitted.persons, fitted.joints);
  }
  if (augment.mirror > 0 && augment.mirrorPairs.length > 0 && rng.uniform() < augment.mirror) {
    mirrorInPlace(out, augment.mirrorPairs, fitted.joints);
  }
  if (augment.rotation > 0) {
    const limit = (augment.rotation * Math.PI) / 180;
    const [x, y, z] = [rng.range(-limit, limit), rng.range(-limit, limit), rng.range(-limit, limit)];
    const matrix = multiply(rotation([0, 0, 1], z), multiply(rotation([0, 1, 0], y), rotation([1, 0, 0], x)));
    applyToPoints(matrix, out);
  }
  if (augment.yaw > 0) {
    const limit = (augment.yaw * Math.PI) / 180;
    applyToPoints(rotation([0, 1, 0], rng.range(-limit, limit)), out);
  }
  if (augment.scaling > 0) {
    const factor = rng.range(1 - augment.scaling, 1 + augment.scaling);
    for (let k = 0; k < out.length; k++) out[k] *= factor;
  }
  if (augment.jitter > 0) {
    for (let k = 0; k < out.length; k++) out[k] += rng.normal(0, augment.jitter);
  }
}
