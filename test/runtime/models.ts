/** Small random GCNs, dense and pruned, shared by the compaction, engine and ONNX tests. */
import { Rng, randn } from '../../src/engine/index.js';
import { type GcnConfig, type GcnShape, SkeletonGcn } from '../../src/model/gcn.js';
import { setHardMask } from '../../src/model/layers.js';

export const SMALL_SHAPE: GcnShape = {
  nodes: 6,
  inputDim: 24,
  classes: 5,
  edges: [
    [0, 1],
    [1, 2],
  ],
};

export const SMALL_CONFIG = {
  heads: 4,
  headDim: 3,
  encodingChannels: 6,
  encoderChunks: 2,
  convChannels: 8,
  fcUnits: 10,
  dropout: 0,
} satisfies Partial<GcnConfig>;

export type Masks = Record<string, Uint8Array>;

/** A model whose parameters are all redrawn from N(0, 0.5²) with `rng`, after its initialisation. */
export function randomGcn(shape: GcnShape, config: Partial<GcnConfig>, rng: Rng): SkeletonGcn {
  const model = new SkeletonGcn(shape, config, rng);
  for (const p of model.parameters()) p.data.set(randn(p.shape, rng, 0.5).data);
  return model;
}

/** A mask per prunable weight keeping each entry with probability `keep`. */
export function randomMasks(model: SkeletonGcn, keep: number, rng: Rng): Masks {
  const masks: Masks = {};
  for (const w of model.prunableWeights()) {
    masks[w.name] = Uint8Array.from({ length: w.rows * w.cols }, () => (rng.uniform() < keep ? 1 : 0));
  }
  return masks;
}

/** Prunes the entries of a prunable weight where `predicate(row, col)` holds. */
export function removeEntries(
  model: SkeletonGcn,
  masks: Masks,
  name: string,
  predicate: (i: number, j: number) => boolean,
): void {
  const w = model.prunableWeights().find((p) => p.name === name)!;
  for (let i = 0; i < w.rows; i++)
    for (let j = 0; j < w.cols; j++) if (predicate(i, j)) masks[name][i * w.cols + j] = 0;
}

/**
 * Prunes whole structures: encoder column 1 (a constant channel), conv filter 2 (a constant filter),
 * FC unit 3 (a constant unit), every conv row of head 0 (a dead head), query dims of head 1 (static).
 * Positive biases make every removed structure a non-zero constant that compaction must fold.
 */
export function removeStructures(model: SkeletonGcn, masks: Masks): void {
  const { headDim, encoderChunks, encodingChannels } = model.config;
  const width = encoderChunks * encodingChannels;
  removeEntries(model, masks, 'encoder', (_, j) => j === 1);
  removeEntries(model, masks, 'conv', (i, j) => j === 2 || Math.floor(i / width) === 0);
  removeEntries(model, masks, 'fc', (_, j) => j === 3);
  removeEntries(model, masks, 'query', (_, j) => Math.floor(j / headDim) === 1);
  model.encoder.bias!.data[1] = 1;
  model.conv.bias!.data[2] = 2;
  model.fc.bias!.data[3] = 1.5;
}

/** Installs the masks as the model's hard masks (pruned entries zeroed). */
export function setHardMasks(model: SkeletonGcn, masks: Masks): void {
  for (const w of model.prunableWeights()) setHardMask(w.layer, masks[w.name]);
}

/**
 * A random model pruned at random to `keep` plus the whole structures of {@link removeStructures},
 * all drawn from one Rng(seed), with its masks installed.
 */
export function prunedGcn(shape: GcnShape, config: Partial<GcnConfig>, seed: number, keep: number) {
  const rng = new Rng(seed);
  const model = randomGcn(shape, config, rng);
  const masks = randomMasks(model, keep, rng);
  removeStructures(model, masks);
  setHardMasks(model, masks);
  return { model, masks };
}
