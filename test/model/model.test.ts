import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng, randn, tidy } from '../../src/engine/index.js';
import { featureDim, jointParents, writeNodeFeatures } from '../../src/model/features.js';
import { SkeletonGcn } from '../../src/model/gcn.js';
import { blockCount, blockIndex, tiling } from '../../src/model/layers.js';
import { classificationMetrics, formatConfusion, meanMetrics } from '../../src/train/metrics.js';

describe('node features', () => {
  it('finds each joint’s parent in the bone tree from the root', () => {
    assert.deepEqual(
      [
        ...jointParents(
          5,
          [
            [0, 1],
            [1, 2],
            [0, 3],
            [3, 4],
          ],
          0,
        ),
      ],
      [-1, 0, 1, 0, 3],
    );
    assert.deepEqual([...jointParents(3, [[2, 1]], 1)], [-1, -1, 1], 'unreachable joints have no parent');
  });

  it('writes position, velocity and bone channels time-major per node', () => {
    // 2 frames, 1 person, 2 joints (root 0, child 1).
    const sample = Float32Array.from([0, 0, 0, 1, 2, 3, 10, 0, 0, 12, 2, 3]);
    const out = new Float32Array(2 * 2 * 9);
    writeNodeFeatures(
      sample,
      { frames: 2, persons: 1, joints: 2 },
      { channels: ['position', 'velocity', 'bone'] },
      Int32Array.from([-1, 0]),
      out,
    );
    // node 1, frame 1: position (12,2,3), velocity (11,0,0), bone (2,2,3)
    assert.deepEqual([...out.subarray(18 + 9, 18 + 18)], [12, 2, 3, 11, 0, 0, 2, 2, 3]);
    // node 0, frame 0: root has zero bone and zero velocity
    assert.deepEqual([...out.subarray(0, 9)], [0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('lays out overlapping temporal windows, one per encoder chunk', () => {
    // 5 frames, 1 person, 1 joint whose x is the frame number; windows of 3 frames every 1 → 3 windows.
    const sample = Float32Array.from([0, 1, 2, 3, 4].flatMap((t) => [t, 0, 0]));
    const features = { channels: ['position' as const], windows: { size: 3, stride: 1 } };
    assert.equal(featureDim(features, 5), 3 * 3 * 3);
    assert.equal(
      featureDim({ ...features, windows: { size: 2, stride: 2 } }, 5),
      2 * 2 * 3,
      'the last frame left over',
    );
    const out = new Float32Array(27);
    writeNodeFeatures(sample, { frames: 5, persons: 1, joints: 1 }, features, Int32Array.from([-1]), out);
    assert.deepEqual(
      Array.from({ length: 9 }, (_, k) => out[k * 3]),
      [0, 1, 2, 1, 2, 3, 2, 3, 4],
    );
  });
});

describe('SkeletonGcn', () => {
  const shape = { nodes: 21, inputDim: 64 * 9, classes: 45, edges: [[0, 1] as const, [1, 2] as const] };

  it('has about 2 M parameters on FPHA by default, like the paper', () => {
    const count = new SkeletonGcn(shape, {}, new Rng(0)).parameterCount();
    assert.ok(count > 1.8e6 && count < 2.4e6, `${count} parameters`);
  });

  it('maps node signals to logits, with chunked encoders too', () => {
    for (const encoderChunks of [1, 4]) {
      const model = new SkeletonGcn(
        { ...shape, classes: 5 },
        { heads: 2, fcUnits: 16, encoderChunks },
        new Rng(1),
      );
      tidy(() => {
        const logits = model.forward(randn([3, 21, 64 * 9], new Rng(2)));
        assert.deepEqual(logits.shape, [3, 5]);
        assert.ok(logits.data.every(Number.isFinite));
      });
    }
    assert.throws(
      () => new SkeletonGcn({ ...shape, inputDim: 10 }, { encoderChunks: 4 }, new Rng(0)),
      /does not divide/,
    );
  });

  it('describes every prunable weight with its true shape and blocks', () => {
    const model = new SkeletonGcn(
      shape,
      { heads: 4, headDim: 8, encodingChannels: 16, encoderChunks: 2 },
      new Rng(0),
    );
    const prunable = model.prunableWeights();
    assert.deepEqual(
      prunable.map((p) => p.name),
      ['encoder', 'query', 'key', 'conv', 'fc'],
    );
    for (const p of prunable) assert.deepEqual(p.layer.weight.shape, [p.rows, p.cols], p.name);
    const conv = prunable.find((p) => p.name === 'conv')!;
    assert.equal(blockCount(conv.blocks, conv.rows, conv.cols), 4, 'one conv block per head');
    const query = prunable.find((p) => p.name === 'query')!;
    assert.equal(blockCount(query.blocks, query.rows, query.cols), 4, 'one query block per head');
    assert.ok(!prunable.some((p) => p.layer === model.classifier), 'the classifier is never pruned');
    const dense = model.costs();
    assert.equal(
      dense.find((c) => c.name === 'fc')!.macs,
      21 * model.config.convChannels * model.config.fcUnits,
    );
  });
});

describe('block layouts', () => {
  it('index tiles, row groups and column groups', () => {
    assert.deepEqual(
      [...blockIndex({ kind: 'tiles', rows: 2, cols: 2 }, 4, 4)],
      [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3],
    );
    assert.deepEqual([...blockIndex({ kind: 'row-groups', size: 2 }, 4, 2)], [0, 0, 0, 0, 1, 1, 1, 1]);
    assert.deepEqual([...blockIndex({ kind: 'col-groups', size: 2 }, 2, 4)], [0, 0, 1, 1, 0, 0, 1, 1]);
    // Tiles shrink to divisors so the layout is exact: 6 rows in tiles of 3, 8 columns in tiles of 4.
    assert.deepEqual(tiling({ kind: 'tiles', rows: 4, cols: 4 }, 6, 8), {
      blockRows: 2,
      rowsPerBlock: 3,
      blockCols: 2,
      colsPerBlock: 4,
    });
    assert.equal(blockCount({ kind: 'tiles', rows: 16, cols: 16 }, 2688, 700), 168 * 50);
    assert.throws(() => tiling({ kind: 'row-groups', size: 5 }, 12, 3), /does not divide 12/);
  });
});

describe('metrics', () => {
  it('computes top-1, mean-class accuracy and the confusion matrix', () => {
    const m = classificationMetrics([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 3);
    assert.equal(m.top1, 4 / 6);
    assert.ok(Math.abs(m.meanClass - (1 / 2 + 1 / 2 + 1) / 3) < 1e-12);
    assert.deepEqual(m.confusion, [
      [1, 0, 1],
      [1, 1, 0],
      [0, 0, 2],
    ]);
    const mean = meanMetrics([m, classificationMetrics([0], [0], 3)]);
    assert.equal(mean.top1, (4 / 6 + 1) / 2);
    assert.equal(mean.confusion[0][0], 2);
    assert.match(
      formatConfusion(m.confusion, ['a', 'b', 'c']),
      /^true \\ predicted\s+0\s+1\s+2\n0 a\s+1\s+·\s+1/,
    );
  });
});
