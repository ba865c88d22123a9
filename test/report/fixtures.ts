/** Hand-made reproduce results for the report tests: accuracies given, every other figure fixed. */
import type { ReproduceResults, RunFigures } from '../../src/report/results.js';

/** A run whose folds ('fold1', 'fold2', ...) have the given top-1 accuracies. */
export function runFigures(method: string, rate: number, top1s: readonly number[]): RunFigures {
  const top1 = top1s.reduce((s, v) => s + v, 0) / top1s.length;
  return {
    method,
    rate,
    achievedRate: rate,
    folds: top1s.map((t, k) => ({ fold: `fold${k + 1}`, top1: t, meanClass: t - 0.1 })),
    top1,
    meanClass: top1 - 0.1,
    parameters: 1000,
    flops: { dense: 2e6, compacted: 1e6, sparse: 5e5 },
    structuredShare: 0.5,
    speed: { p50Ms: 0.5, p90Ms: 0.6, throughput: 1000, bytes: 4096, speedup: 2, engineRevision: 2 },
    confusion: [
      [3, 1],
      [0, 4],
    ],
    checkpoint: 'unused.ckpt',
  };
}

/** Results of a 5-fold-protocol run with the given seed (its folds counted from the first run). */
export function reproduceResults(seed: number, runs: RunFigures[]): ReproduceResults {
  return {
    dataset: { name: 'sbu', title: 'SBU', protocol: '5-fold', folds: runs[0].folds.length },
    provenance: {
      command: `skelprune reproduce --seed ${seed}`,
      seed,
      date: '2026-11-21T00:00:00.000Z',
      machine: { cpu: 'test', cores: 2, memoryGiB: 1, os: 'test', node: 'v20' },
      skelprune: '0.1.0',
    },
    classNames: ['a', 'b'],
    runs,
  };
}
