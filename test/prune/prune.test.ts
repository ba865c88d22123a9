import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeSafetensors, loadSafetensors } from '../../src/engine/index.js';
import { resolvePruneConfig } from '../../src/prune/config.js';
import {
  allocateBudget,
  allocateUnderCap,
  keepLearnedShares,
  keepTopEntries,
} from '../../src/prune/masks.js';
import { type PruneResult, pruneFold } from '../../src/prune/run.js';
import { loadCheckpoint, modelFromCheckpoint } from '../../src/train/checkpoint.js';
import { loadRunDataset } from '../../src/train/experiment.js';
import { predictBatch } from '../../src/train/trainer.js';
import { projectRoot } from '../helpers.js';

const cli = join(projectRoot, 'bin/skelprune.js');
const tiny = {
  dataset: 'synthetic',
  fold: 1,
  synthetic: { sequencesPerClass: 12 },
  model: { heads: 2, headDim: 4, encodingChannels: 8, convChannels: 16, fcUnits: 32 },
  pruneEpochs: 3,
  finetuneEpochs: 1,
};

const temp = () => mkdtempSync(join(tmpdir(), 'skelprune-prune-'));

async function pruneTiny(settings: Record<string, unknown>): Promise<PruneResult> {
  const config = resolvePruneConfig({}, { ...tiny, ...settings });
  return pruneFold({ config, dir: temp(), command: 'test' });
}

describe('exact budgets', () => {
  for (const rate of [0.5, 0.9, 0.99]) {
    it(`CTF hits ${rate} within 0.1 point, with binary masks and zeroed pruned weights`, async () => {
      const result = await pruneTiny({ method: 'ctf', rate });
      assert.ok(Math.abs(result.achievedRate - rate) < 0.001, `achieved ${result.achievedRate}`);
      const saved = await loadSafetensors(result.checkpoint);
      for (const layer of result.layers) {
        const mask = saved.tensors[`mask.${layer.name}`].data;
        const weight = saved.tensors[`model.${layer.name}.weight`].data;
        assert.ok(
          mask instanceof Uint8Array && mask.every((v) => v === 0 || v === 1),
          `${layer.name} mask is binary`,
        );
        assert.ok(
          weight.every((w, i) => mask[i] === 1 || w === 0),
          `${layer.name}: pruned weights are zero`,
        );
      }
    });
  }

  const methods: Record<string, unknown>[] = [
    { method: 'ctf-fine' },
    { method: 'ctf-coarse' },
    { method: 'mp-unstructured' },
    { method: 'mp-unstructured', magnitude: { scope: 'layer', schedule: 'gradual' } },
    { method: 'mp-structured' },
    { method: 'l1' },
    { method: 'l0' },
    { method: 'ctf', budget: 'flops' },
    { method: 'ctf', budget: 'weights+flops' },
  ];
  for (const settings of methods) {
    it(`${JSON.stringify(settings)} meets a 0.9 budget`, async () => {
      const result = await pruneTiny({ ...settings, rate: 0.9 });
      const achieved = settings.budget === 'flops' ? result.achievedFlopRate : result.achievedRate;
      assert.ok(Math.abs(achieved - 0.9) < 0.001, `achieved ${achieved}`);
      if (settings.budget === 'weights+flops')
        assert.ok(result.achievedFlopRate >= 0.9, `FLOPs removed: ${result.achievedFlopRate}`);
      if (settings.method === 'mp-structured') {
        const pruned = result.layers.reduce((s, l) => s + l.structure.total - l.structure.kept, 0);
        const whole = result.layers.reduce((s, l) => s + l.structure.structuredRemoved, 0);
        assert.equal(whole, pruned, 'structured pruning removes only whole rows, columns and blocks');
      }
    });
  }

  it('keeps the top entries across layers, ties broken by the second score', () => {
    // Three entries tie at 1; the tie-break ranks A[1] (0.9) before B[0] (0.5) before A[0] (0.1).
    const scores = [Float32Array.from([1, 1, 0.5]), Float32Array.from([1, 0.2])];
    const ties = [Float32Array.from([0.1, 0.9, 0]), Float32Array.from([0.5, 0])];
    const twoKept = keepTopEntries(scores, 2, [1, 1], ties);
    assert.deepEqual(
      twoKept.map((m) => [...m]),
      [
        [0, 1, 0],
        [1, 0],
      ],
    );
    const threeKept = keepTopEntries(scores, 3, [1, 1], ties);
    assert.deepEqual(
      threeKept.map((m) => [...m]),
      [
        [1, 1, 0],
        [1, 0],
      ],
    );
    // With costs, a too-expensive entry is skipped and cheaper ones still fill the budget.
    const costed = keepTopEntries([Float32Array.from([3, 2]), Float32Array.from([1])], 2, [5, 1]);
    assert.deepEqual(
      costed.map((m) => [...m]),
      [[0, 0], [1]],
    );
  });
});

describe('pruned checkpoints', () => {
  it('reload and evaluate identically', async () => {
    const result = await pruneTiny({ method: 'ctf', rate: 0.8 });
    const { model, input } = modelFromCheckpoint(await loadCheckpoint(result.checkpoint));
    const config = resolvePruneConfig({}, { ...tiny, method: 'ctf', rate: 0.8 });
    const dataset = await loadRunDataset(config);
    const test = new Set(dataset.protocols['cross-subject'][0].test);
    const batch = input.encode(dataset.sequences.filter((s) => test.has(s.id)));
    const { predicted } = predictBatch(model, batch, input);
    const top1 = predicted.reduce((n, p, i) => n + (p === batch.labels[i] ? 1 : 0), 0) / batch.count;
    assert.equal(top1, result.metrics.top1);
  });
});

describe('bad pruning requests', () => {
  it('reject a rate outside (0, 1) and unknown methods by name', () => {
    assert.throws(
      () => resolvePruneConfig({}, { ...tiny, method: 'ctf', rate: 1 }),
      /rate: the rate must be below 1 \(found 1\)/,
    );
    assert.throws(
      () => resolvePruneConfig({}, { ...tiny, method: 'ctf', rate: 0 }),
      /rate: the rate must be above 0/,
    );
    assert.throws(
      () => resolvePruneConfig({}, { ...tiny, method: 'random', rate: 0.5 }),
      /method: .*(found "random")/,
    );
  });

  it('reject a checkpoint of another architecture or another dataset, in one line', () => {
    const dir = temp();
    const foreign = join(dir, 'resnet.safetensors');
    writeFileSync(
      foreign,
      encodeSafetensors(
        { w: { shape: [1], data: new Float32Array(1) } },
        { skelprune: JSON.stringify({ format: 'skelprune-checkpoint', version: 1, architecture: 'resnet' }) },
      ),
    );
    const run = (from: string) =>
      spawnSync(
        process.execPath,
        [
          cli,
          'prune',
          '--method',
          'ctf',
          '--rate',
          '0.5',
          '--dataset',
          'synthetic',
          '--from',
          from,
          '--out',
          join(dir, `o${Math.random()}`),
        ],
        { encoding: 'utf8' },
      );
    const a = run(foreign);
    assert.notEqual(a.status, 0);
    assert.match(
      a.stderr,
      /resnet\.safetensors: a 'resnet' model; skelprune works with 'skeleton-gcn' checkpoints/,
    );
    const plain = join(dir, 'plain.safetensors');
    writeFileSync(plain, encodeSafetensors({ w: { shape: [1], data: new Float32Array(1) } }));
    assert.match(run(plain).stderr, /plain\.safetensors: a safetensors file, but not a skelprune checkpoint/);
    assert.match(run(join(dir, 'missing.ckpt')).stderr, /--from .*missing\.ckpt: no such file or directory/);
    assert.equal(readFileSync(foreign).length > 0, true);
  });

  it('splits a budget in proportion to the soft kept mass, exactly, with full layers capped', () => {
    assert.deepEqual(allocateBudget([30, 10], [1, 1], [100, 100], 20), [15, 5]);
    // 10 / 3 each: the largest remainders get the spare entries; the total stays exact.
    const thirds = allocateBudget([1, 1, 1], [1, 1, 1], [50, 50, 50], 10);
    assert.equal(
      thirds.reduce((a, b) => a + b),
      10,
    );
    assert.ok(thirds.every((n) => n === 3 || n === 4));
    // The first layer can hold only 4: the rest of its share goes to the second.
    assert.deepEqual(allocateBudget([8, 2], [1, 1], [4, 100], 10), [4, 6]);
    // Costs: a share is counted in cost, entries are whole.
    assert.deepEqual(allocateBudget([1, 1], [2, 1], [100, 100], 12), [4, 4]);
  });

  it('keeps an exact count under a cost cap by tilting the shares toward cheap layers', () => {
    // Equal shares give [10, 10] costing 10·4 + 10·1 = 50 > 30: the tilt moves entries to the cheap
    // layer until the cost fits, always keeping 20 entries.
    const counts = allocateUnderCap([1, 1], [100, 100], 20, { costs: [4, 1], target: 30 });
    assert.equal(counts[0] + counts[1], 20);
    assert.ok(counts[0] * 4 + counts[1] <= 30, `cost of ${counts}`);
    assert.ok(counts[0] >= 2, 'no more than needed moves: 3 costly entries fit');
    // A cap the shares already meet changes nothing.
    assert.deepEqual(allocateUnderCap([1, 1], [100, 100], 20, { costs: [4, 1], target: 60 }), [10, 10]);
    assert.throws(
      () => allocateUnderCap([1, 1], [100, 100], 20, { costs: [4, 1], target: 10 }),
      /cannot keep 20 entries within the FLOP cap 10/,
    );
  });

  it('accepts weights+flops only for the CTF methods', () => {
    assert.equal(
      resolvePruneConfig({}, { ...tiny, method: 'ctf-coarse', rate: 0.5, budget: 'weights+flops' }).budget,
      'weights+flops',
    );
    assert.throws(
      () =>
        resolvePruneConfig({}, { ...tiny, method: 'mp-unstructured', rate: 0.5, budget: 'weights+flops' }),
      /config: budget 'weights\+flops' needs a method that learns per-layer shares .*mp-unstructured ranks by one cost/,
    );
  });

  it('hardens to the learned shares: a layer of uniformly low scores is not emptied', () => {
    const low = Float32Array.from({ length: 10 }, (_, i) => 0.1 + i * 0.01);
    const high = Float32Array.from({ length: 10 }, (_, i) => 0.9 + i * 0.001);
    const globalTop = keepTopEntries([low, high], 4);
    assert.equal(
      globalTop[0].reduce((a, b) => a + b),
      0,
    );
    const shares = keepLearnedShares([low, high], [1, 1], { costs: [1, 1], total: 20, target: 4 });
    assert.deepEqual(
      shares.map((m) => [...m]),
      [
        [0, 0, 0, 0, 0, 0, 0, 0, 1, 1],
        [0, 0, 0, 0, 0, 0, 0, 0, 1, 1],
      ],
    );
  });
});
