/**
 * Parallel gemm: large products are cut into chunks that the main thread and the worker threads
 * claim from a shared counter (gemm-protocol.ts), all on one shared memory. Only Node has the
 * threads this needs; `createGemmPool` returns null elsewhere and the kernels run single-threaded.
 */
import {
  awaitChunks,
  CONTROL_INTS,
  type ControlBlock,
  controlBlock,
  planChunks,
  publishGemm,
  quitWorkers,
  runChunks,
  startedWorkers,
  type WorkerData,
  workerChunks,
  workersAsleep,
} from './gemm-protocol.js';
import type { Heap } from './heap.js';
import type { GemmParams, Ptr } from './types.js';
import { gemmArguments, type KernelExports } from './wasm.js';

/**
 * Work per chunk, in floating-point operations: ~30 µs at 30 GFLOP/s, several times the cost of
 * handing a chunk to a hot (spinning) worker; a gemm is only shared out when it makes two chunks.
 */
export const GEMM_CHUNK_FLOPS = 1_000_000;
/** Below this a gemm does not wake sleeping workers: ~300 µs of work, a few times a wake-up. */
export const GEMM_WAKE_FLOPS = 10_000_000;
/** Chunks per thread: more balance late-waking workers better, but each repacks an operand. */
const CHUNKS_PER_THREAD = 4;

export class GemmPool {
  readonly threads: number;
  /** Resolves once every worker has started or failed (gemms meanwhile run on fewer threads). */
  readonly ready: Promise<void>;
  private readonly exports: KernelExports;
  private readonly block: ControlBlock;
  private readonly heap: Heap;
  private readonly workerScratch: Ptr[];
  private readonly tileRows: number;
  private readonly tileCols: number;
  private sequence = 0;
  private disposed = false;

  constructor(heap: Heap, module: WebAssembly.Module, exports: KernelExports, workerCount: number) {
    const workerThreads = process.getBuiltinModule('node:worker_threads');
    this.heap = heap;
    this.exports = exports;
    this.tileRows = exports.gemmTileRows();
    this.tileCols = exports.gemmTileCols();
    this.threads = workerCount + 1;
    const control = heap.allocZeroed(CONTROL_INTS);
    this.block = controlBlock(heap.memory, control);
    const scratchFloats = exports.gemmScratchBytes() / 4;
    this.workerScratch = Array.from({ length: workerCount }, () => heap.alloc(scratchFloats));
    const started = this.workerScratch.map((scratch) => {
      const data: WorkerData = { module, memory: heap.memory as WebAssembly.Memory, control, scratch };
      const worker = new workerThreads.Worker(new URL('./gemm-worker.js', import.meta.url), {
        workerData: data,
      });
      worker.unref();
      // A worker that fails to start only costs parallelism: gemms run on the threads that did.
      return new Promise<void>((resolve) => {
        worker.once('message', () => resolve());
        worker.once('error', () => resolve());
      });
    });
    this.ready = Promise.all(started).then(() => {});
  }

  /**
   * Runs the gemm across the threads and returns true, or returns false (doing nothing) when it is
   * too small to share or no worker is running. `scratch` is the main thread's packing scratch.
   */
  tryGemm(p: GemmParams, scratch: Ptr): boolean {
    const flops = 2 * p.m * p.n * p.k * p.batch;
    const maxChunks = Math.min(CHUNKS_PER_THREAD * this.threads, Math.floor(flops / GEMM_CHUNK_FLOPS));
    if (this.disposed || maxChunks < 2 || startedWorkers(this.block) === 0) return false;
    if (flops < GEMM_WAKE_FLOPS && workersAsleep(this.block)) return false;
    const plan = planChunks(p, maxChunks, this.tileRows, this.tileCols);
    if (plan.chunks < 2) return false;
    this.sequence++;
    publishGemm(this.block, p, plan, this.sequence);
    runChunks(this.block, (part) => this.exports.gemm(...gemmArguments(part, scratch)), { params: p, plan });
    awaitChunks(this.block, plan.chunks);
    return true;
  }

  /** Gemm chunks the worker threads have computed, for diagnostics. */
  get workerChunks(): number {
    return workerChunks(this.block);
  }

  /** Lets the workers exit; later gemms run on the main thread alone. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    quitWorkers(this.block);
    // No gemm is in flight (tryGemm returns only once every chunk is done), so no worker still
    // touches its scratch.
    for (const scratch of this.workerScratch) this.heap.free(scratch);
  }
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
