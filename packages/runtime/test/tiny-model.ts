/**
 * A tiny random model built with the runtime alone (no training), for the API tests: one person of
 * 5 joints, 8 resampled frames of position and velocity, two attention heads and every storage
 * format among its layers. Its predictions mean nothing, but they depend on every input coordinate,
 * so any difference in what reaches the engine shows up in the probabilities.
 */
import { encodeModelFile, type ModelFile } from '../src/format/model-file.js';
import type { NestedFrame } from '../src/input/sequence-input.js';
import type { LayerName, RuntimeLayer } from '../src/model/engine.js';
import { type StorageFormat, storeTransposed } from '../src/model/storage.js';
import { Rng } from '../src/random.js';

export const TINY_JOINTS = 5;
export const TINY_FRAMES = 8;
export const TINY_CLASSES = ['wave', 'clap', 'point', 'swipe'];
export const TINY_PRUNING = { method: 'ctf', rate: 0.5, achievedRate: 0.5 };

const CHUNKS = 2;
/** 2 channels × 3 axes × 8 frames, cut into 2 chunks. */
const CHUNK_WIDTH = (2 * 3 * TINY_FRAMES) / CHUNKS;
const ENCODINGS = 6;
const FILTERS = 7;
const UNITS = 9;

/** A layer of `rows` outputs × `cols` inputs, keeping each weight with probability `density`. */
function layer(rng: Rng, rows: number, cols: number, format: StorageFormat, density = 1): RuntimeLayer {
  const values = Float32Array.from({ length: rows * cols }, () =>
    rng.uniform() < density ? rng.normal(0, 0.5) : 0,
  );
  return {
    weight: storeTransposed(values, rows, cols, format),
    bias: Float32Array.from({ length: rows }, () => rng.normal(0, 0.1)),
  };
}

const range = (start: number, end: number) => Array.from({ length: end - start }, (_, i) => start + i);

export function tinyModelFile(seed = 1): ModelFile {
  const rng = new Rng(seed);
  const nodes = TINY_JOINTS;
  const channels = CHUNKS * ENCODINGS;
  const heads = [
    { index: 0, dims: range(0, 2), channels: range(0, 6) },
    { index: 1, dims: range(2, 5), channels: range(3, channels) },
  ].map((h) => ({ ...h, bias: Float32Array.from({ length: nodes * nodes }, () => rng.normal(0, 0.3)) }));
  const dims = 5;
  const mixed = heads.reduce((n, h) => n + h.channels.length, 0);
  // Every other conv output feeds the FC layer, as pruned FC inputs leave it.
  const fcInputs = range(0, nodes * FILTERS).filter((r) => r % 2 === 0);
  const encoderInputs = range(0, CHUNK_WIDTH - 4);
  const layers: Record<LayerName, RuntimeLayer> = {
    encoder: layer(rng, ENCODINGS, encoderInputs.length, 'dense'),
    projection: layer(rng, 2 * dims, channels, 'csr', 0.5),
    conv: layer(rng, FILTERS, mixed, 'bsr', 0.6),
    fc: layer(rng, UNITS, fcInputs.length, 'csr', 0.5),
    classifier: layer(rng, TINY_CLASSES.length, UNITS, 'dense'),
  };
  return {
    model: {
      nodes,
      chunks: CHUNKS,
      classes: TINY_CLASSES.length,
      chunkWidth: CHUNK_WIDTH,
      encoderInputs,
      scoreScale: 0.5,
      heads,
      fcInputs,
      layers,
    },
    input: {
      preprocessing: {
        version: 1,
        persons: 1,
        joints: TINY_JOINTS,
        center: { joint: 0, mode: 'first-frame' },
        view: null,
        clipFrames: null,
        scale: { method: 'global-std', std: 0.5 },
        temporal: { mode: 'resample', frames: TINY_FRAMES },
        augment: {
          rotation: 0,
          yaw: 0,
          scaling: 0,
          jitter: 0,
          temporalCrop: 0,
          temporalWarp: 0,
          personSwap: 0,
          mirror: 0,
          mirrorPairs: [],
        },
      },
      features: { channels: ['position', 'velocity'] },
      jointNames: ['wrist', 'thumb', 'index', 'middle', 'ring'],
      bones: [
        [0, 1],
        [0, 2],
        [0, 3],
        [0, 4],
      ],
      centerJoint: 0,
    },
    classNames: [...TINY_CLASSES],
    info: { pruning: TINY_PRUNING, dataset: 'tiny' },
  };
}

/** The `.skp` bytes of {@link tinyModelFile}. */
export function tinyModelBytes(seed = 1): Uint8Array {
  return encodeModelFile(tinyModelFile(seed));
}

/** A smooth random motion of the tiny skeleton: frames × joints × [x, y, z]. */
export function tinySequence(seed: number, frames = 12): number[][][] {
  const rng = new Rng(seed);
  const start = Array.from({ length: TINY_JOINTS }, () => [rng.normal(), rng.normal(), rng.normal()]);
  const speed = Array.from({ length: TINY_JOINTS }, () => [rng.normal(), rng.normal(), rng.normal()]);
  return Array.from({ length: frames }, (_, f) =>
    start.map((p, j) => p.map((v, axis) => v + Math.sin(0.3 * f * speed[j][axis]))),
  );
}

/** Nested frames packed frame after frame, as `PackedSequence.positions` holds them. */
export function packed(frames: readonly NestedFrame[]): Float32Array {
  return Float32Array.from(frames.flat(2) as number[]);
}
