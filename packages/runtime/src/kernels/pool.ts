/**
 * The kernel thread pool: large kernel calls (gemms, products, element-wise ops, optimizer steps)
 * are cut into chunks that the main thread and the worker threads claim from a shared counter
 * (parallel-protocol.ts), all on one shared memory. Only Node has the threads this needs;
 * `createKernelPool` returns null elsewhere and the kernels run single-threaded.
 */
import type { Heap } from './heap.js';
import {
  awaitChunks,
  CONTROL_FLOATS,
  type ControlBlock,
  controlBlock,
  MAX_CHUNKS,
  publishCall,
  quitWorkers,
  runChunks,
  startedWorkers,
  type WorkerData,
  workerChunks,
  workersAsleep,
} from './parallel-protocol.js';
import type { KernelExports } from './wasm.js';

/**
 * Work that is worth sharing, in nanoseconds of single-thread time: a chunk should take ~8 µs,
 * several times the cost of handing it to a hot (spinning) worker (measured on pruned models).
 */
export const CHUNK_NANOS = 8_000;
/**
 * Below this a call does not wake sleeping workers: ~50 µs of work. A woken worker then stays hot
 * for the calls that follow (a model's next layers, the next prediction of a loop).
 */
export const WAKE_NANOS = 50_000;
/**
 * Sleeping workers are woken for small calls too when these add up to this much work within
 * BUSY_WINDOW_MS: a caller that predicts back to back (batch 1, ~60 µs a pass) then keeps a hot
 * worker, while one that predicts now and then (a 30 fps stream) never pays a wake-up.
 */
const BUSY_NANOS = 300_000;
const BUSY_WINDOW_MS = 1;
/** Chunks per thread: more balance late-waking workers better, but each costs a little. */
const CHUNKS_PER_THREAD = 4;

/** The exports a pool call may name. */
export type PoolFunction = keyof KernelExports;

export class KernelPool {
  readonly threads: number;
  /** Resolves once every worker has started or failed (calls meanwhile run on fewer threads). */
  readonly ready: Promise<void>;
  private readonly block: ControlBlock;
  private readonly heap: Heap;
  private readonly workerScratch: number[];
  /** Every export, by the index a published call names it with (the workers hold the same list). */
  private readonly functions: PoolFunction[];
  private readonly indexOf: Map<PoolFunction, number>;
  private readonly table: ((...args: number[]) => void)[];
  private sequence = 0;
  private disposed = false;
  /** Start of the current busy window and the work requested in it while the workers slept. */
  private windowStart = Number.NEGATIVE_INFINITY;
  private windowNanos = 0;

  /** `scratchFloats`: the per-thread scratch a call's `scratchArg` receives. */
  constructor(
    heap: Heap,
    module: WebAssembly.Module,
    exports: KernelExports,
    workerCount: number,
    scratchFloats: number,
  ) {
    const workerThreads = process.getBuiltinModule('node:worker_threads');
    this.heap = heap;
    this.threads = workerCount + 1;
    const byName = exports as unknown as Record<string, unknown>;
    this.functions = Object.keys(exports).filter(
      (name) => typeof byName[name] === 'function',
    ) as PoolFunction[];
    this.indexOf = new Map(this.functions.map((name, index) => [name, index]));
    this.table = this.functions.map((name) => byName[name] as (...args: number[]) => void);
    const control = heap.allocZeroed(CONTROL_FLOATS);
    this.block = controlBlock(heap.memory, control);
    this.workerScratch = Array.from({ length: workerCount }, () => heap.alloc(scratchFloats));
    const started = this.workerScratch.map((scratch) => {
      const data: WorkerData = {
        module,
        memory: heap.memory as WebAssembly.Memory,
        control,
        scratch,
        functions: this.functions,
      };
      const worker = new workerThreads.Worker(new URL('./pool-worker.js', import.meta.url), {
        workerData: data,
      });
      worker.unref();
      // A worker that fails to start only costs parallelism: calls run on the threads that did.
      return new Promise<void>((resolve) => {
        worker.once('message', () => resolve());
        worker.once('error', () => resolve());
      });
    });
    this.ready = Promise.all(started).then(() => {});
  }

  /**
   * How many chunks a call of `nanos` single-thread work should have: 0 when it should run on the
   * calling thread alone (too small, no worker running, or workers asleep and the call too small to
   * repay waking one, unless small calls come in a busy stream). A multiple of the threads once
   * there are as many chunks: the calling thread claims from the front and the workers from the
   * back, so no chunk is left in the middle for whichever comes first, and each thread finds its
   * chunks' weights in its own cache call after call.
   */
  chunksFor(nanos: number): number {
    if (this.disposed || startedWorkers(this.block) === 0) return 0;
    if (nanos < WAKE_NANOS && workersAsleep(this.block) && !this.busy(nanos)) return 0;
    const chunks = Math.min(CHUNKS_PER_THREAD * this.threads, MAX_CHUNKS, Math.floor(nanos / CHUNK_NANOS));
    const shared = chunks >= this.threads ? chunks - (chunks % this.threads) : chunks;
    return shared >= 2 ? shared : 0;
  }

  /** Counts `nanos` of requested work into the busy window; whether it reached BUSY_NANOS. */
  private busy(nanos: number): boolean {
    const now = performance.now();
    if (now - this.windowStart > BUSY_WINDOW_MS) {
      this.windowStart = now;
      this.windowNanos = 0;
    }
    this.windowNanos += nanos;
    return this.windowNanos >= BUSY_NANOS;
  }

  /**
   * Runs export `fn` once per argument list, across the threads, and returns when all are done.
   * Argument `scratchArg` (if ≥ 0) is replaced by each thread's own scratch (a byte address), the
   * calling thread's being `scratch`.
   */
  run(fn: PoolFunction, chunks: readonly (readonly number[])[], scratchArg = -1, scratch = 0): void {
    this.sequence++;
    publishCall(this.block, { fn: this.indexOf.get(fn)!, chunks, scratchArg }, this.sequence);
    runChunks(this.block, this.runExport, scratch, false);
    awaitChunks(this.block, chunks.length);
  }

  private readonly runExport = (index: number, args: number[]): void => this.table[index](...args);

  /** Chunks the worker threads have computed, for diagnostics. */
  get workerChunks(): number {
    return workerChunks(this.block);
  }

  /** Lets the workers exit; later calls run on the main thread alone. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    quitWorkers(this.block);
    // No call is in flight (run returns only once every chunk is done), so no worker still
    // touches its scratch.
    for (const scratch of this.workerScratch) this.heap.free(scratch);
  }
}

/** A pool with `threads − 1` workers, or null where threads or shared memory are unavailable. */
export function createKernelPool(
  heap: Heap,
  module: WebAssembly.Module,
  exports: KernelExports,
  threads: number,
  scratchFloats: number,
): KernelPool | null {
  const canThread =
    threads > 1 &&
    typeof SharedArrayBuffer !== 'undefined' &&
    heap.memory.buffer instanceof SharedArrayBuffer &&
    typeof process !== 'undefined' &&
    typeof process.getBuiltinModule === 'function';
  return canThread ? new KernelPool(heap, module, exports, threads - 1, scratchFloats) : null;
}
