import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { after, describe, it } from 'node:test';
import { gemmChunk, planChunks } from '../../src/kernels/gemm-split.js';
import { createKernels, createKernelsSync, wasmSimdSupported } from '../../src/kernels/index.js';
import { CHUNK_NANOS } from '../../src/kernels/pool.js';
import type { GemmParams, Kernels, Ptr } from '../../src/kernels/types.js';
import type { WasmKernels } from '../../src/kernels/wasm.js';
import {
  assertClose,
  copyOf,
  filled,
  heap,
  maxAbs,
  Rng,
  randomBuffer,
  read,
  threaded,
  ts,
  wasm,
} from './helpers.js';

after(() => threaded.dispose());

interface Case {
  transA?: boolean;
  transB?: boolean;
  m: number;
  n: number;
  k: number;
  alpha?: number;
  beta?: number;
  batch?: number;
  /** Which operands are shared across the batch (stride 0). */
  shareA?: boolean;
  shareB?: boolean;
  /** Accumulate every batch item into one C (strideC = 0, beta = 1). */
  accumulate?: boolean;
  /** Extra elements of padding per row, so lda/ldb/ldc exceed the minimum. */
  pad?: number;
  /** Fill C with NaN first: beta = 0 must never read it. */
  nanC?: boolean;
}

interface Problem {
  params: GemmParams;
  cSize: number;
  cInit: Ptr;
}

function problem(rng: Rng, spec: Case): Problem {
  const { m, n, k, transA = false, transB = false, batch = 1, pad = 0 } = spec;
  const [aRows, aCols] = transA ? [k, m] : [m, k];
  const [bRows, bCols] = transB ? [n, k] : [k, n];
  const lda = aCols + pad;
  const ldb = bCols + pad;
  const ldc = n + pad;
  const strideA = spec.shareA ? 0 : aRows * lda;
  const strideB = spec.shareB ? 0 : bRows * ldb;
  const strideC = spec.accumulate ? 0 : m * ldc;
  const aSize = Math.max(1, strideA * batch, aRows * lda);
  const bSize = Math.max(1, strideB * batch, bRows * ldb);
  const cSize = Math.max(1, strideC * batch, m * ldc);
  const cInit = spec.nanC ? filled(cSize, Number.NaN) : randomBuffer(rng, cSize);
  const params: GemmParams = {
    transA,
    transB,
    m,
    n,
    k,
    alpha: spec.alpha ?? 1,
    a: randomBuffer(rng, aSize),
    lda,
    strideA,
    b: randomBuffer(rng, bSize),
    ldb,
    strideB,
    beta: spec.accumulate ? 1 : (spec.beta ?? 0),
    c: cInit,
    ldc,
    strideC,
    batch,
  };
  return { params, cSize, cInit };
}

/** Runs the gemm on a fresh copy of the initial C and returns the result. */
function run(kernels: Kernels, { params, cSize, cInit }: Problem): Float32Array {
  const c = copyOf(cInit, cSize);
  kernels.gemm({ ...params, c });
  const result = read(c, cSize);
  heap.free(c);
  return result;
}

/** Straightforward triple loop in float64, the definition itself. */
function naive({ params: p, cSize, cInit }: Problem): Float64Array {
  const f = heap.f32;
  const c = Float64Array.from(read(cInit, cSize));
  for (let item = 0; item < p.batch; item++) {
    for (let i = 0; i < p.m; i++) {
      for (let j = 0; j < p.n; j++) {
        let sum = 0;
        for (let d = 0; d < p.k; d++) {
          const a = f[p.a + item * p.strideA + (p.transA ? d * p.lda + i : i * p.lda + d)];
          const b = f[p.b + item * p.strideB + (p.transB ? j * p.ldb + d : d * p.ldb + j)];
          sum += a * b;
        }
        const index = item * p.strideC + i * p.ldc + j;
        c[index] = p.alpha * sum + (p.beta === 0 ? 0 : p.beta * c[index]);
      }
    }
  }
  return c;
}

function release({ params, cInit }: Problem): void {
  heap.free(params.a);
  heap.free(params.b);
  heap.free(cInit);
}

/** Compares the wasm result with the fallback's, relative to the magnitude of the result. */
function checkAgainstFallback(rng: Rng, spec: Case, reference?: 'naive'): void {
  const prob = problem(rng, spec);
  const expected = reference === 'naive' ? naive(prob) : run(ts, prob);
  const actual = run(wasm, prob);
  const label = JSON.stringify(spec);
  assertClose(actual, expected, 2e-6 * Math.sqrt(spec.k + 1), label, maxAbs(expected));
  if (reference === 'naive') assertClose(run(ts, prob), expected, 1e-6, `ts ${label}`, maxAbs(expected));
  release(prob);
}

describe('gemm', () => {
  const rng = new Rng(11);
  const sizes = [1, 3, 17, 129];

  it('matches the definition on every transpose combination and edge size', () => {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const [m, n, k] of [
          [1, 1, 1],
          [3, 17, 5],
          [17, 3, 129],
          [129, 17, 3],
          [5, 9, 0],
        ]) {
          checkAgainstFallback(rng, { transA, transB, m, n, k, alpha: 0.5, beta: 0.25, pad: 3 }, 'naive');
        }
      }
    }
  });

  it('matches the fallback on all combinations of sizes 1, 3, 17, 129', () => {
    for (const m of sizes) {
      for (const n of sizes) {
        for (const k of sizes) {
          const transA = rng.uniform() < 0.5;
          const transB = rng.uniform() < 0.5;
          checkAgainstFallback(rng, { transA, transB, m, n, k, alpha: 1.5, beta: -0.5 });
        }
      }
    }
  });

  it('handles long K blocks and shapes wider than one packed block', () => {
    checkAgainstFallback(rng, { m: 33, n: 1100, k: 600, beta: 1 });
    checkAgainstFallback(rng, { transA: true, transB: true, m: 150, n: 20, k: 700, pad: 1 });
  });

  it('never reads C when beta is 0', () => {
    for (const transB of [false, true]) {
      const prob = problem(rng, { transB, m: 17, n: 19, k: 7, nanC: true, pad: 2 });
      for (const kernels of [wasm, ts]) {
        const c = run(kernels, prob);
        for (let i = 0; i < prob.params.m; i++) {
          for (let j = 0; j < prob.params.n; j++) {
            assert.ok(Number.isFinite(c[i * prob.params.ldc + j]), `${kernels.name} read NaN from C`);
          }
        }
      }
      checkAgainstFallback(rng, { transB, m: 17, n: 19, k: 7, nanC: true, pad: 2 });
      release(prob);
    }
  });

  it('runs batches with a shared operand on either side', () => {
    for (const transA of [false, true]) {
      checkAgainstFallback(rng, { transA, m: 42, n: 128, k: 42, batch: 5, shareA: true }, 'naive');
      checkAgainstFallback(rng, { transA, m: 17, n: 3, k: 9, batch: 4, shareB: true, beta: 2 }, 'naive');
    }
  });

  it('accumulates the batch into one C when strideC is 0', () => {
    checkAgainstFallback(rng, { transB: true, m: 42, n: 42, k: 128, batch: 6, accumulate: true }, 'naive');
    checkAgainstFallback(
      rng,
      { transA: true, m: 3, n: 17, k: 5, batch: 3, accumulate: true, alpha: -2 },
      'naive',
    );
  });
});

describe('threaded gemm', () => {
  const rng = new Rng(12);

  /**
   * Runs a gemm until the worker has computed a chunk of it (it joins as soon as it gets a core,
   * which on a loaded machine may take a few tries); returns the worker's chunk count.
   */
  function repeatUntilWorkerHelps(gemm: () => void): number {
    const before = (threaded as WasmKernels).workerChunks;
    const deadline = Date.now() + 5000;
    do gemm();
    while ((threaded as WasmKernels).workerChunks === before && Date.now() < deadline);
    const after = (threaded as WasmKernels).workerChunks;
    assert.ok(after > before, 'the worker never took a chunk');
    return after;
  }

  function checkThreaded(spec: Case): void {
    const prob = problem(rng, spec);
    assert.deepEqual(run(threaded, prob), run(wasm, prob), JSON.stringify(spec));
    release(prob);
  }

  it('uses two threads', () => {
    assert.equal(threaded.threads, 2);
  });

  it('gives the single-threaded result bit for bit, above and below the threshold', () => {
    checkThreaded({ m: 1344, n: 128, k: 128 });
    checkThreaded({ transA: true, m: 64, n: 129, k: 1344, beta: 0.5 });
    checkThreaded({ transB: true, m: 33, n: 1027, k: 300, pad: 1 });
    checkThreaded({ m: 42, n: 128, k: 42, batch: 32, shareA: true });
    checkThreaded({ transA: true, m: 42, n: 128, k: 42, batch: 31, shareA: true, alpha: 3 });
    checkThreaded({ transB: true, m: 42, n: 42, k: 128, batch: 32, accumulate: true });
    checkThreaded({ m: 17, n: 3, k: 5 });
    const prob = problem(rng, { m: 1344, n: 128, k: 128 });
    repeatUntilWorkerHelps(() => threaded.gemm(prob.params));
    release(prob);
  });

  it('is correct before its workers have started', () => {
    const fresh = createKernelsSync({ backend: 'wasm', threads: 2, memory: heap.memory });
    const prob = problem(rng, { m: 1344, n: 128, k: 128 });
    assert.deepEqual(run(fresh, prob), run(wasm, prob));
    release(prob);
    fresh.dispose();
  });

  it('sees memory the heap grew into after the workers started', () => {
    const capacity = heap.stats().capacityBytes / 4;
    const filler = heap.alloc(capacity);
    assert.ok(heap.stats().capacityBytes / 4 > capacity, 'the heap did not grow');
    // Operands at the end of the filler, which lies beyond the memory the workers started with.
    const [m, n, k] = [1344, 128, 128];
    const end = filler + capacity;
    const params: GemmParams = {
      transA: false,
      transB: false,
      m,
      n,
      k,
      alpha: 1,
      a: end - m * k - k * n - m * n,
      lda: k,
      strideA: 0,
      b: end - k * n - m * n,
      ldb: n,
      strideB: 0,
      beta: 0,
      c: end - m * n,
      ldc: n,
      strideC: 0,
      batch: 1,
    };
    assert.ok(params.a >= capacity);
    const f = heap.f32;
    for (let i = params.a; i < params.c; i++) f[i] = rng.range(-1, 1);
    repeatUntilWorkerHelps(() => threaded.gemm(params));
    const viaThreads = read(params.c, m * n);
    wasm.gemm(params);
    assert.deepEqual(viaThreads, read(params.c, m * n));
    heap.free(filler);
  });

  it('keeps working on one thread after dispose', async () => {
    const local = createKernelsSync({ backend: 'wasm', threads: 2, memory: heap.memory });
    await local.whenReady();
    local.dispose();
    const prob = problem(rng, { m: 1344, n: 128, k: 128, beta: 0.5 });
    assert.deepEqual(run(local, prob), run(wasm, prob));
    release(prob);
  });

  it('cuts work into disjoint chunks that cover C', () => {
    const base: GemmParams = {
      transA: false,
      transB: true,
      m: 130,
      n: 7,
      k: 9,
      alpha: 1,
      a: 1000,
      lda: 9,
      strideA: 0,
      b: 5000,
      ldb: 9,
      strideB: 0,
      beta: 0,
      c: 9000,
      ldc: 7,
      strideC: 0,
      batch: 3,
    };
    const chunks = (p: GemmParams, max: number) => {
      const plan = planChunks(p, max, 4, 8);
      return Array.from({ length: plan.chunks }, (_, i) => gemmChunk(p, plan, i));
    };
    // Rows in multiples of the 4-row tile: 33 tiles over 2 chunks.
    assert.deepEqual(
      chunks(base, 2).map((part) => [part.m, part.c, part.a]),
      [
        [68, 9000, 1000],
        [62, 9000 + 68 * 7, 1000 + 68 * 9],
      ],
    );
    // Columns in multiples of the 8-column tile, the last chunk taking the odd remainder.
    assert.deepEqual(
      chunks({ ...base, m: 5, n: 1027 }, 3).map((part) => [part.n, part.b, part.c]),
      [
        [344, 5000, 9000],
        [344, 5000 + 344 * 9, 9000 + 344],
        [339, 5000 + 688 * 9, 9000 + 688],
      ],
    );
    // Batch items when each has its own C.
    assert.deepEqual(
      chunks({ ...base, strideC: 910, strideA: 10, batch: 6 }, 2).map((part) => [part.batch, part.a, part.c]),
      [
        [3, 1000, 9000],
        [3, 1030, 9000 + 3 * 910],
      ],
    );
    // A gemm this small is never shared: its cost (at least its flop count / 40 ns) is far below a chunk.
    assert.ok(CHUNK_NANOS > 2 * 17 * 3 * 5);
  });
});

describe('backend creation', () => {
  it('picks wasm SIMD with min(2, cores) threads by default in Node', async () => {
    assert.equal(wasmSimdSupported(), true);
    const kernels = await createKernels();
    assert.equal(kernels.name, 'wasm-simd');
    assert.equal(kernels.threads, Math.min(2, availableParallelism()));
    kernels.dispose();
  });

  it('runs the unshared wasm variant single-threaded on an unshared memory (a page without isolation)', async () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 256 });
    for (const kernels of [createKernelsSync({ memory, threads: 2 }), await createKernels({ memory })]) {
      assert.equal(kernels.name, 'wasm-simd');
      assert.equal(kernels.threads, 1);
    }
    // The same small gemm on the unshared wasm module and on the TS fallback over that memory.
    const unshared = createKernelsSync({ memory });
    const fallback = createKernelsSync({ backend: 'ts', memory });
    const rng = new Rng(5);
    const [a, b, c] = [30, 35, 42].map((n) => unshared.heap.alloc(n));
    for (let i = 0; i < 30; i++) unshared.heap.f32[a + i] = rng.range(-1, 1);
    for (let i = 0; i < 35; i++) unshared.heap.f32[b + i] = rng.range(-1, 1);
    const shape = { transA: false, transB: false, m: 6, n: 7, k: 5, alpha: 1, beta: 0, batch: 1 };
    const params: GemmParams = {
      ...shape,
      a,
      lda: 5,
      strideA: 0,
      b,
      ldb: 7,
      strideB: 0,
      c,
      ldc: 7,
      strideC: 0,
    };
    fallback.gemm(params);
    const expected = unshared.heap.f32.slice(c, c + 42);
    unshared.gemm(params);
    assertClose(unshared.heap.f32.slice(c, c + 42), expected, 1e-6, 'unshared gemm');
  });

  it('shares one heap between backends created over one memory', () => {
    assert.equal(ts.heap, wasm.heap);
    assert.equal(createKernelsSync({ backend: 'ts', memory: heap.memory }).heap, heap);
  });
});
