/**
 * How many times faster the pruned model runs than the dense one, measured the way `skelprune bench`
 * does (src/runtime/latency.ts): both models warmed up, then timed in interleaved rounds (each round
 * times every model in turn, so a change in the machine's speed affects both alike), on the same
 * random node features, and the median taken over many calls. A browser clock ticks in 5 µs at best
 * (100 µs without cross-origin isolation), so each timed sample runs the model several times, enough
 * to last about a millisecond. The spread is the range of the ratio over the rounds.
 */
import type { SkeletonClassifier } from '@skelprune/runtime';
import { classifierInternals } from '@skelprune/runtime/internal';

/** As `skelprune bench`: rounds, and untimed calls up front and in every round (10% of the timed). */
export const ROUNDS = 10;
const SAMPLES_PER_ROUND = 15;
const WARMUP_SHARE = 0.1;
/** Each timed sample lasts at least this long (many clock ticks). */
const SAMPLE_MS = 1;

export interface SpeedComparison {
  /** Median milliseconds per inference of each model, over every timed sample. */
  denseMs: number;
  prunedMs: number;
  /** denseMs / prunedMs. */
  ratio: number;
  /** Lowest and highest ratio of the per-round medians. */
  low: number;
  high: number;
  rounds: number;
  /** Inferences timed per model. */
  calls: number;
}

interface Runner {
  run(): void;
  /** Calls per timed sample. */
  repeats: number;
}

function runner(model: SkeletonClassifier): Runner {
  const { file, engine } = classifierInternals(model);
  const { nodes, chunks, chunkWidth, classes } = file.model;
  // Random node features of the model's input size (the kernels' cost does not depend on the values).
  let seed = 1;
  const x = Float32Array.from({ length: nodes * chunks * chunkWidth }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 1073741824 - 1;
  });
  const logits = new Float32Array(classes);
  return { run: () => engine.predict(x, 1, logits), repeats: 1 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Milliseconds per call of one sample of `repeats` calls. */
function sample({ run, repeats }: Runner): number {
  const start = performance.now();
  for (let i = 0; i < repeats; i++) run();
  return (performance.now() - start) / repeats;
}

const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Times the two models as described above; yields to the page between rounds so it stays responsive
 * (about half a second in all for models of ~0.1–2 ms).
 */
export async function compareSpeed(
  dense: SkeletonClassifier,
  pruned: SkeletonClassifier,
): Promise<SpeedComparison> {
  const runners = [runner(dense), runner(pruned)];
  for (const r of runners) {
    // Warm-up, and the calls a sample needs to last SAMPLE_MS.
    for (let i = 0; i < 5; i++) r.run();
    const start = performance.now();
    let calls = 0;
    while (performance.now() - start < SAMPLE_MS * 2) {
      r.run();
      calls++;
    }
    r.repeats = Math.max(1, Math.ceil(calls / 2));
  }
  const times = runners.map(() => [] as number[]);
  const ratios: number[] = [];
  const warmup = Math.ceil(SAMPLES_PER_ROUND * WARMUP_SHARE);
  for (let round = 0; round < ROUNDS; round++) {
    await nextTask();
    const roundTimes = runners.map((r, i) => {
      for (let w = 0; w < warmup; w++) r.run();
      const samples = Array.from({ length: SAMPLES_PER_ROUND }, () => sample(r));
      times[i].push(...samples);
      return median(samples);
    });
    ratios.push(roundTimes[0] / roundTimes[1]);
  }
  const [denseMs, prunedMs] = times.map(median);
  return {
    denseMs,
    prunedMs,
    ratio: denseMs / prunedMs,
    low: Math.min(...ratios),
    high: Math.max(...ratios),
    rounds: ROUNDS,
    calls: Math.min(...runners.map((r) => r.repeats * SAMPLES_PER_ROUND * ROUNDS)),
  };
}
