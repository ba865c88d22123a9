/**
 * Measured inference speed, one definition for every report: latency percentiles of single calls at
 * batch 1, and throughput (sequences/s) from the median time of a batched call. Inputs are fixed
 * random node features (the kernels' cost does not depend on the values).
 */
import { Rng } from '../engine/random.js';
import type { CompactModel } from './compact.js';
import { InferenceEngine, type RuntimeModel, toCompactModel } from './engine.js';
import { exportOnnx } from './onnx.js';

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

type Runner = (x: Float32Array, batch: number) => unknown;

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function features(model: Pick<CompactModel, 'nodes' | 'chunks' | 'chunkWidth'>, batch: number): Float32Array {
  const rng = new Rng(batch);
  return Float32Array.from({ length: batch * model.nodes * model.chunks * model.chunkWidth }, () =>
    rng.normal(),
  );
}

async function time(run: Runner, x: Float32Array, batch: number, repeats: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await run(x, batch);
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b);
}

/** Latency and throughput of any runner over node features shaped for `model`. */
export async function measureSpeed(
  run: Runner,
  model: Pick<CompactModel, 'nodes' | 'chunks' | 'chunkWidth'>,
  options: SpeedOptions = {},
): Promise<Speed> {
  const repeats = options.repeats ?? 2000;
  const batch = options.batch ?? 32;
  const single = features(model, 1);
  const batched = features(model, batch);
  await time(run, single, 1, Math.ceil(repeats / 10));
  const latencies = await time(run, single, 1, repeats);
  await time(run, batched, batch, 5);
  const batchTimes = await time(
    run,
    batched,
    batch,
    options.batchRepeats ?? Math.max(20, Math.ceil(repeats / 20)),
  );
  return {
    p50Ms: percentile(latencies, 0.5),
    p90Ms: percentile(latencies, 0.9),
    throughput: (1000 * batch) / percentile(batchTimes, 0.5),
    batch,
  };
}

/** Speed of skelprune's own runtime on a stored model. */
export async function runtimeSpeed(model: RuntimeModel, options?: SpeedOptions): Promise<Speed> {
  const engine = new InferenceEngine(model);
  try {
    return await measureSpeed((x, batch) => engine.predict(x, batch), model, options);
  } finally {
    engine.dispose();
  }
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

/** Speed of onnxruntime-node (default session options) on the ONNX export of a stored model. */
export async function onnxRuntimeSpeed(model: RuntimeModel, options?: SpeedOptions): Promise<Speed> {
  const ort = await loadOnnxRuntime();
  const compact = toCompactModel(model);
  const session = await ort.InferenceSession.create(exportOnnx(compact));
  const width = model.chunks * model.chunkWidth;
  try {
    return await measureSpeed(
      (x, batch) => session.run({ features: new ort.Tensor('float32', x, [batch, model.nodes, width]) }),
      model,
      options,
    );
  } finally {
    await session.release();
  }
}
