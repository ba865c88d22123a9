import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { noGrad, Rng, randn, tidy } from '../../src/engine/index.js';
import { compactModel } from '../../src/runtime/compact.js';
import { assertClose } from '../helpers.js';
import { prunedGcn, SMALL_CONFIG, SMALL_SHAPE } from './models.js';
import { referenceForward } from './reference.js';

const shape = SMALL_SHAPE;
const config = SMALL_CONFIG;

describe('compaction', () => {
  for (const keep of [1, 0.6, 0.25]) {
    it(`computes exactly what the masked model computes (keep ${keep})`, () => {
      const { model, masks } = prunedGcn(shape, config, Math.round(keep * 100), keep);
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
