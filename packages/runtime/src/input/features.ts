/**
 * Node features: turns a preprocessed sequence [T, persons, joints, 3] into the graph's node signals
 * [persons·joints, T·C], each node's signal being its joint's trajectory over time with C channels
 * per frame (time-major: the C values of frame 0, then of frame 1, ...).
 *
 * Channels: `position` (x, y, z), `velocity` (the displacement since the previous frame, 0 at the
 * first) and `bone` (the vector from the joint's parent in the skeleton tree, 0 at the root).
 */
import * as check from '../format/check.js';

/**
 * The node feature channels, each 3 values (x, y, z) per frame: `position`, `velocity` (the
 * displacement since the previous frame, 0 at the first) and `bone` (the vector from the joint's
 * parent in the skeleton tree, 0 at the root).
 */
export const FEATURE_CHANNELS = ['position', 'velocity', 'bone'] as const;
/** One node feature channel (see {@link FEATURE_CHANNELS}). */
export type FeatureChannel = (typeof FEATURE_CHANNELS)[number];

/**
 * Overlapping temporal windows: a node's signal becomes the frames of each window in turn, `size`
 * frames starting every `stride` frames. The network's encoder, shared by its chunks, then sees one
 * window per chunk: a temporal convolution per joint (kernel `size`, stride `stride`) before the
 * graph attention, where plain chunks are non-overlapping.
 */
export interface TemporalWindows {
  /** Frames per window. */
  size: number;
  /** Frames between the starts of consecutive windows. */
  stride: number;
}

/** Which channels each frame of a node's signal carries, in order, and how time is windowed. */
export interface FeatureConfig {
  /** One or more channels, none repeated, in the order each frame lists them. */
  channels: FeatureChannel[];
  /** Overlapping temporal windows; absent or null: the frames once, in order. */
  windows?: TemporalWindows | null;
}

/** Validates a feature configuration read back from JSON. */
export function readFeatureConfig(json: unknown, path = 'features'): FeatureConfig {
  const o = check.object(path, json, ['channels', 'windows']);
  const channels = check.array(`${path}.channels`, o.channels, FEATURE_CHANNELS.length);
  const read = channels.map((c, i) => check.oneOf(`${path}.channels.${i}`, c, FEATURE_CHANNELS));
  if (read.length === 0 || new Set(read).size !== read.length) {
    check.invalid(`${path}.channels`, 'one or more channels, none repeated', read.join(', '));
  }
  if (o.windows === undefined || o.windows === null) return { channels: read };
  const w = check.object(`${path}.windows`, o.windows, ['size', 'stride']);
  const size = check.integer(`${path}.windows.size`, w.size, 1, 65536);
  const stride = check.integer(`${path}.windows.stride`, w.stride, 1, 65536);
  return { channels: read, windows: { size, stride } };
}

/** Windows that fit in `frames` (the last one may not reach the end); 0 when one does not fit. */
export function windowCount(windows: TemporalWindows, frames: number): number {
  return frames < windows.size ? 0 : Math.floor((frames - windows.size) / windows.stride) + 1;
}

/** Per-node feature layout of one sample. */
export interface FeatureShape {
  frames: number;
  persons: number;
  joints: number;
}

/** Width of a node's signal: frames × 3 values per channel, or windows × window frames × that. */
export function featureDim(features: FeatureConfig, frames: number): number {
  const perFrame = features.channels.length * 3;
  if (!features.windows) return perFrame * frames;
  return perFrame * features.windows.size * windowCount(features.windows, frames);
}

/**
 * Parent of every joint in the tree spanned by `bones` from `root` (−1 for the root and for joints
 * the bones do not reach).
 */
export function jointParents(
  joints: number,
  bones: readonly (readonly [number, number])[],
  root: number,
): Int32Array {
  const parents = new Int32Array(joints).fill(-1);
  const seen = new Uint8Array(joints);
  seen[root] = 1;
  const queue = [root];
  while (queue.length > 0) {
    const joint = queue.shift()!;
    for (const [a, b] of bones) {
      const other = a === joint ? b : b === joint ? a : -1;
      if (other >= 0 && !seen[other]) {
        seen[other] = 1;
        parents[other] = joint;
        queue.push(other);
      }
    }
  }
  return parents;
}

/**
 * Writes the node features of one sample into `out` (length persons·joints·featureDim) at `offset`.
 * `sample` is [T, persons, joints, 3].
 */
export function writeNodeFeatures(
  sample: Float32Array,
  shape: FeatureShape,
  features: FeatureConfig,
  parents: Int32Array,
  out: Float32Array,
  offset = 0,
): void {
  const { frames, persons, joints } = shape;
  const { windows } = features;
  const width = features.channels.length * 3;
  if (!windows) {
    writeFrameFeatures(sample, shape, features.channels, parents, out, offset);
    return;
  }
  // The plain signal of every node, then each node's windows copied out of it.
  const plain = new Float32Array(persons * joints * frames * width);
  writeFrameFeatures(sample, shape, features.channels, parents, plain, 0);
  const count = windowCount(windows, frames);
  const nodeWidth = count * windows.size * width;
  for (let node = 0; node < persons * joints; node++) {
    for (let w = 0; w < count; w++) {
      const from = (node * frames + w * windows.stride) * width;
      out.set(
        plain.subarray(from, from + windows.size * width),
        offset + node * nodeWidth + w * windows.size * width,
      );
    }
  }
}

/** Each node's signal frame by frame: [persons·joints, T, channels × 3]. */
function writeFrameFeatures(
  sample: Float32Array,
  shape: FeatureShape,
  channels: readonly FeatureChannel[],
  parents: Int32Array,
  out: Float32Array,
  offset: number,
): void {
  const { frames, persons, joints } = shape;
  const width = channels.length * 3;
  const nodeStride = frames * width;
  for (let p = 0; p < persons; p++) {
    for (let j = 0; j < joints; j++) {
      const node = offset + (p * joints + j) * nodeStride;
      for (let t = 0; t < frames; t++) {
        const here = ((t * persons + p) * joints + j) * 3;
        const previous = t > 0 ? here - persons * joints * 3 : here;
        const parent = parents[j] >= 0 ? ((t * persons + p) * joints + parents[j]) * 3 : here;
        let o = node + t * width;
        for (const channel of channels) {
          for (let axis = 0; axis < 3; axis++) {
            const v = sample[here + axis];
            out[o++] =
              channel === 'position'
                ? v
                : channel === 'velocity'
                  ? v - sample[previous + axis]
                  : v - sample[parent + axis];
          }
        }
      }
    }
  }
}
