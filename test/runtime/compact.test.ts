import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { noGrad, Rng, randn, tidy } from '../../src/engine/index.js';
import { SkeletonGcn } from '../../src/model/gcn.js';
import { setHardMask } from '../../src/model/layers.js';
import { compactModel } from '../../src/runtime/compact.js';
import { assertClose } from '../helpers.js';
import { referenceForward } from './reference.js';

const shape = {
  nodes: 6,
  inputDim: 24,
  classes: 5,
  edges: [
    [0, 1],
    [1, 2],
  ] as [number, number][],
};
const config = {
  heads: 4,
  headDim: 3,
  encodingChannels: 6,
  encoderChunks: 2,
  convChannels: 8,
  fcUnits: 10,
  dropout: 0,
};

/** A model with random non-zero biases and masks that kill whole heads, channels, filters and units. */
function prunedModel(seed: number, keep: number) {
  const rng = new Rng(seed);
  const model = new SkeletonGcn(shape, config, rng);
  for (const p of model.parameters()) p.data.set(randn(p.shape, rng, 0.5).data);
  const masks: Record<string, Uint8Array> = {};
  for (const w of model.prunableWeights()) {
    const mask = Uint8Array.from({ length: w.rows * w.cols }, () => (rng.uniform() < keep ? 1 : 0));
    masks[w.name] = mask;
  }
  // Whole structures: encoder column 1 (a constant channel), conv filter 2 (a constant filter),
  // FC unit 3 (a constant unit), every conv row of head 0 (a dead head), query dims of head 1 (static).
  const kill = (name: string, predicate: (i: number, j: number) => boolean) => {
    const w = model.prunableWeights().find((p) => p.name === name)!;
    for (let i = 0; i < w.rows; i++)
      for (let j = 0; j < w.cols; j++) if (predicate(i, j)) masks[name][i * w.cols + j] = 0;
  };
  const width = config.encoderChunks * config.encodingChannels;
  kill('encoder', (_, j) => j === 1);
  kill('conv', (i, j) => j === 2 || Math.floor(i / width) === 0);
  kill('fc', (_, j) => j === 3);
  kill('query', (_, j) => Math.floor(j / config.headDim) === 1);
  // Positive biases make every removed structure a non-zero constant that must be folded.
  model.encoder.bias!.data[1] = 1;
  model.conv.bias!.data[2] = 2;
  model.fc.bias!.data[3] = 1.5;
  for (const w of model.prunableWeights()) setHardMask(w.layer, masks[w.name]);
  return { model, masks };
}

describe('compaction', () => {
  for (const keep of [1, 0.6, 0.25]) {
    it(`computes exactly what the masked model computes (keep ${keep})`, () => {
      const { model, masks } = prunedModel(Math.round(keep * 100), keep);
      const compact = compactModel(model, keep === 1 ? {} : masks);
      const rng = new Rng(9);
      noGrad(() =>
        tidy(() => {
          model.eval();
          const x = randn([3, shape.nodes, shape.inputDim], rng);
          const expected = model.forward(x).toArray();
          for (let b = 0; b < 3; b++) {
            const sample = x.data.slice(
              b * shape.nodes * shape.inputDim,
              (b + 1) * shape.nodes * shape.inputDim,
            );
            const logits = referenceForward(compact, sample);
            assertClose(logits, expected.subarray(b * shape.classes, (b + 1) * shape.classes), {
              rtol: 1e-4,
              atol: 1e-5,
              label: `sample ${b}`,
            });
          }
        }),
      );
      if (keep < 1) {
        assert.ok(!compact.heads.some((h) => h.index === 0), 'the dead head is gone');
        const head1 = compact.heads.find((h) => h.index === 1);
        assert.ok(!head1 || head1.dims.length === 0, 'head 1 is static');
        assert.ok(compact.encoder.weight.cols < config.encodingChannels, 'the constant channel is gone');
        assert.ok(compact.classifier.weight.rows < config.fcUnits, 'the constant unit is gone');
      }
    });
  }
});
