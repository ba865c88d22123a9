/**
 * Matrix-multiply throughput of every kernel backend: the two headline shapes (stack.md compares
 * them with other engines) and the GCN shapes that decide training speed, forward and backward.
 */

import type { GemmParams } from '@skelprune/runtime/internal';
import { createKernelsSync, type KernelBackend } from '@skelprune/runtime/internal';

export interface MatmulCase {
  group: 'headline' | 'gcn';
  label: string;
  transA?: boolean;
  transB?: boolean;
  m: number;
  n: number;
  k: number;
  batch?: number;
  /** A is one matrix shared by every batch item (stride 0). */
  shareA?: boolean;
  /** Every batch item accumulates into one C (strideC = 0). */
  accumulate?: boolean;
}

export interface MatmulRow {
  group: MatmulCase['group'];
  label: string;
  backend: string;
  /** Median milliseconds per call. */
  ms: number;
  gflops: number;
}

/** 32 graphs × 42 nodes, 64 → 128 → 128 channels: the reference GCN workload. */
export const MATMUL_CASES: MatmulCase[] = [
  { group: 'headline', label: '1344×128 · 128×128', m: 1344, n: 128, k: 128 },
  { group: 'headline', label: '256×1024 · 1024×256', m: 256, n: 256, k: 1024 },
  { group: 'gcn', label: 'X·W        1344×64 · 64×128', m: 1344, n: 128, k: 64 },
  { group: 'gcn', label: 'X·W        1344×128 · 128×128', m: 1344, n: 128, k: 128 },
  { group: 'gcn', label: 'dW = Xᵀ·dY [64×1344] · 1344×128', transA: true, m: 64, n: 128, k: 1344 },
  { group: 'gcn', label: 'dX = dY·Wᵀ 1344×128 · [128×64]', transB: true, m: 1344, n: 64, k: 128 },
  {
    group: 'gcn',
    label: 'A·X        32 × 42×42 · 42×128, A shared',
    m: 42,
    n: 128,
    k: 42,
    batch: 32,
    shareA: true,
  },
  {
    group: 'gcn',
    label: 'Aᵀ·dY      32 × [42×42] · 42×128, A shared',
    transA: true,
    m: 42,
    n: 128,
    k: 42,
    batch: 32,
    shareA: true,
  },
  {
    group: 'gcn',
    label: 'dA = Σ dY·Xᵀ 32 × 42×128 · [128×42]',
    transB: true,
    m: 42,
    n: 42,
    k: 128,
    batch: 32,
    accumulate: true,
  },
];

/** Minimum wall time of one timed repetition, so timer resolution never dominates. */
const REPETITION_MS = 25;
const REPETITIONS = 7;
const WARMUP_MS = 200;

/** Every case on the TS fallback, wasm on 1 thread and wasm on 2 threads, sharing one heap. */
export async function benchMatmul(cases: readonly MatmulCase[] = MATMUL_CASES): Promise<MatmulRow[]> {
  const single = createKernelsSync({ backend: 'wasm', threads: 1 });
  const backends: [string, KernelBackend][] = [
    ['ts', createKernelsSync({ backend: 'ts', memory: single.heap.memory })],
    ['wasm 1 thread', single],
    ['wasm 2 threads', createKernelsSync({ backend: 'wasm', threads: 2, memory: single.heap.memory })],
  ];
  const rows: MatmulRow[] = [];
  for (const spec of cases) {
    const params = allocate(single, spec);
    const flops = 2 * spec.m * spec.n * spec.k * (spec.batch ?? 1);
    for (const [name, kernels] of backends) {
      // Let the event loop run between measurements (workers report start-up through it).
      await new Promise((resolve) => setImmediate(resolve));
      const ms = medianMs(() => kernels.gemm(params));
      rows.push({ group: spec.group, label: spec.label, backend: name, ms, gflops: flops / ms / 1e6 });
    }
    for (const ptr of [params.a, params.b, params.c]) single.heap.free(ptr);
  }
  for (const [, kernels] of backends) kernels.dispose();
  return rows;
}

function allocate(kernels: KernelBackend, spec: MatmulCase): GemmParams {
  const { m, n, k, transA = false, transB = false, batch = 1 } = spec;
  const strideA = spec.shareA ? 0 : m * k;
  const strideB = k * n;
  const strideC = spec.accumulate ? 0 : m * n;
  const heap = kernels.heap;
  const a = heap.alloc(Math.max(m * k, strideA * batch));
  const b = heap.alloc(strideB * batch);
  const c = heap.alloc(Math.max(m * n, strideC * batch));
  const f = heap.f32;
  for (const [ptr, size] of [
    [a, Math.max(m * k, strideA * batch)],
    [b, strideB * batch],
    [c, Math.max(m * n, strideC * batch)],
  ]) {
    for (let i = 0; i < size; i++) f[ptr + i] = Math.sin(i) * 0.5;
  }
  return {
    transA,
    transB,
    m,
    n,
    k,
    alpha: 1,
    a,
    lda: transA ? m : k,
    strideA,
    b,
    ldb: transB ? k : n,
    strideB,
    beta: spec.accumulate ? 1 : 0,
    c,
    ldc: n,
    strideC,
    batch,
  };
}

/** Median per-call time over several repetitions, after a warm-up that lets V8 tier up. */
function medianMs(run: () => void): number {
  const warmupEnd = performance.now() + WARMUP_MS;
  do run();
  while (performance.now() < warmupEnd);
  const samples: number[] = [];
  for (let repetition = 0; repetition < REPETITIONS; repetition++) {
    const start = performance.now();
    let calls = 0;
    let elapsed = 0;
    do {
      run();
      calls++;
      elapsed = performance.now() - start;
    } while (elapsed < REPETITION_MS);
    samples.push(elapsed / calls);
  }
  samples.sort((x, y) => x - y);
  return samples[samples.length >> 1];
}
