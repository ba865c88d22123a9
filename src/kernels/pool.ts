/**
 * Parallel gemm: the main thread computes one part of a large product and each worker thread
 * another, all on one shared memory. Only Node has the threads this needs; `createGemmPool`
 * returns null elsewhere, and the kernels then run single-threaded.
 */
import type { Worker } from 'node:worker_threads';
import {
  COMMAND,
  COMMAND_GEMM,
  COMMAND_QUIT,
  CONTROL_INTS,
  type ControlBlock,
  controlBlock,
  DONE,
  FAILED,
  READY,
  SEQ,
  type WorkerData,
  waitForChange,
  writeGemmArguments,
} from './gemm-protocol.js';
import type { Heap } from './heap.js';
import type { GemmParams, Ptr } from './types.js';
import { gemmArguments, type KernelExports } from './wasm.js';

/**
 * Below this many floating-point operations a gemm stays on one thread: the hand-off costs a few
 * µs, which only pays once each thread has tens of µs of work (measured with bench/matmul.ts).
 */
export const THREADED_GEMM_MIN_FLOPS = 2_000_000;
/** How long the first threaded gemm waits for the workers to start before giving up on them. */
const STARTUP_TIMEOUT_MS = 10_000;

interface PoolWorker {
  worker: Worker;
  block: ControlBlock;
  scratch: Ptr;
  seq: number;
}

type PoolState = 'starting' | 'ready' | 'failed' | 'disposed';

export class GemmPool {
  readonly threads: number;
  private readonly exports: KernelExports;
  private readonly heap: Heap;
  private readonly workers: PoolWorker[];
  private readonly tileRows: number;
  private readonly tileCols: number;
  private state: PoolState = 'starting';

  constructor(heap: Heap, module: WebAssembly.Module, exports: KernelExports, workerCount: number) {
    const workerThreads = process.getBuiltinModule('node:worker_threads');
    this.heap = heap;
    this.exports = exports;
    this.tileRows = exports.gemmTileRows();
    this.tileCols = exports.gemmTileCols();
    this.threads = workerCount + 1;
    const scratchFloats = exports.gemmScratchBytes() / 4;
    this.workers = Array.from({ length: workerCount }, () => {
      const control = heap.allocZeroed(CONTROL_INTS);
      const data: WorkerData = { module, memory: heap.memory, control };
      const worker = new workerThreads.Worker(new URL('./gemm-worker.js', import.meta.url), {
        workerData: data,
      });
      worker.unref();
      worker.on('error', () => {
        if (this.state !== 'disposed') this.state = 'failed';
      });
      return {
        worker,
        block: controlBlock(heap.memory, control),
        scratch: heap.alloc(scratchFloats),
        seq: 0,
      };
    });
  }

  /**
   * Runs the gemm split across the threads and returns true, or returns false (doing nothing) when
   * it is too small to pay or the workers are unavailable. `scratch` is the main thread's.
   */
  tryGemm(p: GemmParams, scratch: Ptr): boolean {
    if (2 * p.m * p.n * p.k * p.batch < THREADED_GEMM_MIN_FLOPS || !this.isReady()) return false;
    const parts = splitGemm(p, this.threads, this.tileRows, this.tileCols);
    if (parts.length < 2) return false;
    const busy = this.workers.slice(0, parts.length - 1);
    busy.forEach((entry, index) => {
      writeGemmArguments(entry.block, gemmArguments(parts[index + 1], entry.scratch));
      entry.block.ints[COMMAND] = COMMAND_GEMM;
      entry.seq = (entry.seq + 1) | 0;
      Atomics.store(entry.block.ints, SEQ, entry.seq);
      Atomics.notify(entry.block.ints, SEQ);
    });
    this.exports.gemm(...gemmArguments(parts[0], scratch));
    let failed = false;
    for (const entry of busy) {
      waitForChange(entry.block.ints, DONE, (entry.seq - 1) | 0);
      failed ||= entry.block.ints[FAILED] !== 0;
    }
    if (failed) throw new Error('gemm failed in a worker thread');
    return true;
  }

  /** Tells the workers to exit and frees their memory; later gemms run on the main thread. */
  dispose(): void {
    if (this.state === 'disposed') return;
    this.state = 'disposed';
    for (const entry of this.workers) {
      entry.block.ints[COMMAND] = COMMAND_QUIT;
      Atomics.add(entry.block.ints, SEQ, 1);
      Atomics.notify(entry.block.ints, SEQ);
      this.heap.free(entry.scratch);
    }
    // The control blocks stay allocated: a worker may still be reading its block as it exits.
  }

  /** True once every worker has started; the first call blocks until they have (or time out). */
  private isReady(): boolean {
    if (this.state === 'starting') {
      const deadline = Date.now() + STARTUP_TIMEOUT_MS;
      const started = this.workers.every(({ block }) => {
        while (Atomics.load(block.ints, READY) === 0) {
          const left = deadline - Date.now();
          if (left <= 0) return false;
          Atomics.wait(block.ints, READY, 0, left);
        }
        return true;
      });
      if (this.state === 'starting') this.state = started ? 'ready' : 'failed';
    }
    return this.state === 'ready';
  }
}

/**
 * Splits a gemm into at most `parts` independent gemms: over the batch when every item has its own
 * C and there are enough items to balance, else over the rows or columns of C (aligned to the
 * register tile), whichever dimension is larger. Parts never share an element of C.
 */
export function splitGemm(p: GemmParams, parts: number, tileRows: number, tileCols: number): GemmParams[] {
  if (p.strideC !== 0 && (p.batch % parts === 0 || p.batch >= 4 * parts)) {
    return splitRange(p.batch, parts, 1).map(([start, count]) => ({
      ...p,
      batch: count,
      a: p.a + start * p.strideA,
      b: p.b + start * p.strideB,
      c: p.c + start * p.strideC,
    }));
  }
  if (p.m >= p.n) {
    const rowStride = p.transA ? 1 : p.lda;
    return splitRange(p.m, parts, tileRows).map(([start, count]) => ({
      ...p,
      m: count,
      a: p.a + start * rowStride,
      c: p.c + start * p.ldc,
    }));
  }
  const colStride = p.transB ? p.ldb : 1;
  return splitRange(p.n, parts, tileCols).map(([start, count]) => ({
    ...p,
    n: count,
    b: p.b + start * colStride,
    c: p.c + start,
  }));
}

/** Near-equal [start, count] ranges covering 0..total, boundaries on multiples of `align`. */
function splitRange(total: number, parts: number, align: number): [number, number][] {
  const units = Math.ceil(total / align);
  const ranges: [number, number][] = [];
  let start = 0;
  for (let part = 0; part < parts && start < total; part++) {
    const end = Math.min(total, Math.round((units * (part + 1)) / parts) * align);
    if (end > start) ranges.push([start, end - start]);
    start = end;
  }
  return ranges;
}

/** A pool with `threads − 1` workers, or null where threads or shared memory are unavailable. */
export function createGemmPool(
  heap: Heap,
  module: WebAssembly.Module,
  exports: KernelExports,
  threads: number,
): GemmPool | null {
  const canThread =
    threads > 1 &&
    typeof SharedArrayBuffer !== 'undefined' &&
    heap.memory.buffer instanceof SharedArrayBuffer &&
    typeof process !== 'undefined' &&
    typeof process.getBuiltinModule === 'function';
  return canThread ? new GemmPool(heap, module, exports, threads - 1) : null;
}
