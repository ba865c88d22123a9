import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Parameter, tensor } from '../../src/engine/index.js';
import { resolvePruneConfig } from '../../src/prune/config.js';
import { pruneFold } from '../../src/prune/run.js';
import { distillationLoss } from '../../src/train/distill.js';
import { trainFold } from '../../src/train/experiment.js';
import { resolveRunConfig } from '../../src/train/run-config.js';

const softmax = (row: number[]) => {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

describe('distillation', () => {
  const student = [
    [1.5, -0.3, 0.2],
    [-1, 2, 0.5],
  ];
  const teacher = [
    [2, 0, -1],
    [0.1, 0.4, 3],
  ];
  const options = { weight: 0.7, temperature: 3 };

  it('is w·T²·mean CE(softmax(t/T), softmax(s/T)), with gradient w·T·(softmax(s/T) − softmax(t/T))/n', () => {
    const s = new Parameter([2, 3], Float32Array.from(student.flat()));
    const loss = distillationLoss(s, tensor(teacher.flat(), [2, 3]), options);
    const { weight: w, temperature: t } = options;
    const scaled = (rows: number[][]) => rows.map((r) => softmax(r.map((v) => v / t)));
    const [ps, pt] = [scaled(student), scaled(teacher)];
    const expected =
      (-w * t * t * ps.reduce((sum, p, i) => sum + p.reduce((a, q, c) => a + pt[i][c] * Math.log(q), 0), 0)) /
      2;
    assert.ok(Math.abs(loss.item() - expected) < 1e-5, `${loss.item()} vs ${expected}`);
    loss.backward();
    const grad = Array.from(s.grad!.data);
    const analytic = ps.flatMap((p, i) => p.map((q, c) => (w * t * (q - pt[i][c])) / 2));
    grad.forEach((g, i) => {
      assert.ok(Math.abs(g - analytic[i]) < 1e-5, `grad ${i}: ${g} vs ${analytic[i]}`);
    });
  });

  it('pulls nothing when the student already predicts what the teacher does', () => {
    const s = new Parameter([2, 3], Float32Array.from(teacher.flat()));
    distillationLoss(s, tensor(teacher.flat(), [2, 3]), options).backward();
    assert.ok(s.grad!.data.every((g) => Math.abs(g) < 1e-6));
  });

  it('needs a teacher: --distill without --from is refused by name', () => {
    assert.throws(
      () => resolvePruneConfig({}, { dataset: 'synthetic', method: 'ctf', rate: 0.5, distill: 1 }),
      /distill 1 needs a teacher: give --from a trained checkpoint/,
    );
  });

  it('adds the teacher term to every pruning and fine-tuning step of a run from a checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skelprune-distill-'));
    const model = { heads: 2, headDim: 4, encodingChannels: 8, convChannels: 16, fcUnits: 32 };
    const base = { dataset: 'synthetic', fold: 1, synthetic: { sequencesPerClass: 12 }, model };
    const dense = await trainFold({
      config: resolveRunConfig({}, { ...base, epochs: 3 }),
      foldIndex: 0,
      dir: join(dir, 'dense'),
      command: 'test',
    });
    const losses = async (distill: number) => {
      const config = resolvePruneConfig(
        {},
        {
          ...base,
          from: dense.checkpoint,
          method: 'ctf',
          rate: 0.5,
          pruneEpochs: 2,
          finetuneEpochs: 1,
          distill,
        },
      );
      const out = join(dir, `distill-${distill}`);
      await pruneFold({ config, checkpoint: dense.checkpoint, dir: out, command: 'test' });
      const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n');
      return log.map((line) => JSON.parse(line) as { phase: string; loss: number });
    };
    const [plain, taught] = [await losses(0), await losses(2)];
    assert.deepEqual(
      taught.map((r) => r.phase),
      ['prune', 'prune', 'finetune'],
    );
    // The soft cross-entropy is at least the teacher's entropy (> 0), so every epoch's loss grows.
    taught.forEach((r, i) => {
      assert.ok(r.loss > plain[i].loss + 1e-3, `${r.phase} epoch ${i + 1}: ${r.loss} vs ${plain[i].loss}`);
    });
  });
});
