/**
 * Measured inference speed, one definition for every report: latency percentiles of single calls at
 * batch 1, and throughput (sequences/s) from the median time of a batched call. Inputs are fixed
 * random node features (the kernels' cost does not depend on the values).
 */

import { InferenceEngine, type RuntimeModel } from '@skelprune/runtime/internal';
import { Rng } from '../engine/random.js';
import type { CompactModel } from './compact.js';
import { exportOnnx } from './onnx.js';
import { toCompactModel } from './runtime-model.js';

export interface SpeedOptions {
  /** Timed batch-1 calls (after warm-up). */
  repeats?: number;
  /** Batch size of the throughput measurement. */
  batch?: number;
  /** Timed batched calls. */
  batchRepeats?: number;
}

export interface Speed {
  /** Batch-1 latency percentiles, milliseconds. */
  p50Ms: number;
  p90Ms: number;
  /** Sequences per second at `batch`. */
  throughput: number;
  batch: number;
}

type Shape = Pick<CompactModel, 'nodes' | 'chunks' | 'chunkWidth'>;

/** Something to time: a forward pass over node features of `shape`, and how to free it. */
export interface Runner {
  shape: Shape;
  run(x: Float32Array, batch: number): unknown;
  dispose(): unknown;
}

/** Rounds the timed calls are split into; each round times every runner in turn. */
export const ROUNDS = 10;
/** Untimed calls before timing, as a share of the timed ones: up front, and again in every round. */
const WARMUP_SHARE = 0.1;

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function features(shape: Shape, batch: number): Float32Array {
  const rng = new Rng(batch);
  return Float32Array.from({ length: batch * shape.nodes * shape.chunks * shape.chunkWidth }, () =>
    rng.normal(),
  );
}

/** Appends the milliseconds of `repeats` calls to `times`. */
async function time(runner: Runner, x: Float32Array, batch: number, repeats: number, times: number[] = []) {
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await runner.run(x, batch);
    times.push(performance.now() - start);
  }
  return times;
}

/**
 * Timed calls of every runner at one batch size, interleaved: ROUNDS rounds, each timing every runner
 * in turn, so a change in the machine's speed during the measurement (a shared VM's neighbours,
 * frequency scaling) affects all runners alike and their ratios stay meaningful. Sorted per runner.
 */
async function interleaved(runners: readonly Runner[], batch: number, repeats: number): Promise<number[][]> {
  const inputs = runners.map((r) => features(r.shape, batch));
  const times = runners.map(() => [] as number[]);
  const perRound = Math.ceil(repeats / ROUNDS);
  for (const [i, runner] of runners.entries())
    await time(runner, inputs[i], batch, Math.ceil(repeats * WARMUP_SHARE));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, runner] of runners.entries()) {
      await time(runner, inputs[i], batch, Math.ceil(perRound * WARMUP_SHARE));
      await time(runner, inputs[i], batch, perRound, times[i]);
    }
  }
  return times.map((t) => t.sort((a, b) => a - b));
}

/** Batch-1 latency and batched throughput of several runners, measured interleaved. */
export async function measureSpeeds(
  runners: readonly Runner[],
  options: SpeedOptions = {},
): Promise<Speed[]> {
  const repeats = options.repeats ?? 2000;
  const batch = options.batch ?? 32;
  const latencies = await interleaved(runners, 1, repeats);
  const batchTimes = await interleaved(
    runners,
    batch,
    options.batchRepeats ?? Math.max(20, Math.ceil(repeats / 20)),
  );
  return runners.map((_, i) => ({
    p50Ms: percentile(latencies[i], 0.5),
    p90Ms: percentile(latencies[i], 0.9),
    throughput: (1000 * batch) / percentile(batchTimes[i], 0.5),
    batch,
  }));
}

/** skelprune's own runtime on a stored model. */
export function runtimeRunner(model: RuntimeModel): Runner {
  const engine = new InferenceEngine(model);
  return { shape: model, run: (x, batch) => engine.predict(x, batch), dispose: () => engine.dispose() };
}

/** The onnxruntime-node module, or a clear error when it is not installed. */
export async function loadOnnxRuntime(): Promise<typeof import('onnxruntime-node')> {
  try {
    return await import('onnxruntime-node');
  } catch {
    throw new Error(
      'onnxruntime-node is not installed: run `npm install onnxruntime-node` to compare with it',
    );
  }
}

/**
 * onnxruntime-node on the ONNX export of a stored model: default session options (a thread per
 * core), or one thread when `threads` is 1.
 */
export async function onnxRunner(model: RuntimeModel, threads?: 1): Promise<Runner> {
  const ort = await loadOnnxRuntime();
  const options = threads === 1 ? { intraOpNumThreads: 1, interOpNumThreads: 1 } : {};
  const session = await ort.InferenceSession.create(exportOnnx(toCompactModel(model)), options);
  const width = model.chunks * model.chunkWidth;
  return {
    shape: model,
    run: (x, batch) => session.run({ features: new ort.Tensor('float32', x, [batch, model.nodes, width]) }),
    dispose: () => session.release(),
  };
}
