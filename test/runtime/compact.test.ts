import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { graphConvolutionOrder } from '@skelprune/runtime/internal';
import { noGrad, Rng, randn, tidy } from '../../src/engine/index.js';
import { compactionPlan } from '../../src/model/compaction.js';
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

describe('graph convolution order', () => {
  it('keeps channels first while filters match channels, and counts filters first once fewer remain', () => {
    // SBU's dense network: 16 heads mixing 128 channels each into 128 filters over 30 nodes.
    const dense = graphConvolutionOrder({
      nodes: 30,
      channelCounts: Array(16).fill(128),
      filters: 128,
      width: 128,
    });
    assert.deepEqual(dense, { filtersFirst: false, convMacs: 30 * 128 * 2048, mixMacs: 900 * 2048 });
    const pruned = graphConvolutionOrder({
      nodes: 30,
      channelCounts: Array(16).fill(128),
      filters: 62,
      width: 128,
    });
    assert.deepEqual(pruned, {
      filtersFirst: true,
      convMacs: 30 * 16 * 62 * 128,
      mixMacs: 900 * 16 * 62 + 30 * 16 * 62,
    });
    // Heads that mix few channels stay channels first even with few filters.
    const sparse = graphConvolutionOrder({ nodes: 30, channelCounts: [4, 4], filters: 62, width: 128 });
    assert.equal(sparse.filtersFirst, false);
  });

  it('counts only the kept entries of a sparse conv, in either order', () => {
    // CTF at 95% on FPHA: 7 heads mix 484 channels into 54 filters; the conv keeps 7,644 weights.
    const shape = { nodes: 21, channelCounts: [59, 71, 80, 61, 66, 75, 72], filters: 54, width: 128 };
    assert.equal(graphConvolutionOrder(shape).filtersFirst, false, 'dense, the stack costs 21·378·128');
    assert.deepEqual(graphConvolutionOrder({ ...shape, convNonzeros: 7644 }), {
      filtersFirst: true,
      convMacs: 21 * 7644,
      mixMacs: 441 * 378 + 21 * 378,
    });
    // The dense network (every entry kept) stays channels first: the sum over heads tips the tie.
    const full = { nodes: 30, channelCounts: Array(16).fill(128), filters: 128, width: 128 };
    assert.equal(graphConvolutionOrder({ ...full, convNonzeros: 128 * 2048 }).filtersFirst, false);
  });

  it('is what the compaction plan reports for the convolution and the mixing, dense and sparse', () => {
    const { model, masks } = prunedGcn(SMALL_SHAPE, SMALL_CONFIG, 5, 0.5);
    const plan = compactionPlan(model, masks);
    const alive = plan.heads.filter((h) => h.alive);
    const shape = {
      nodes: SMALL_SHAPE.nodes,
      channelCounts: alive.map((h) => h.channels.length),
      filters: plan.conv.cols.length,
      width: SMALL_CONFIG.encoderChunks * plan.encoder.cols.length,
    };
    const structured = graphConvolutionOrder(shape);
    const sparse = graphConvolutionOrder({ ...shape, convNonzeros: plan.conv.nonzeros });
    const cost = (name: string) => plan.costs.find((c) => c.name === name)!;
    assert.equal(cost('conv').structuredMacs, structured.convMacs);
    assert.equal(cost('graph mixing A·U').structuredMacs, structured.mixMacs);
    assert.equal(cost('conv').sparseMacs, sparse.convMacs);
    assert.equal(cost('graph mixing A·U').sparseMacs, sparse.mixMacs);
  });
});
