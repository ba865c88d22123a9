/**
 * How the main thread and the worker threads share one kernel call. The main thread cuts the call
 * into chunks, each a full argument list for the same wasm export (row ranges of a product, slices
 * of an element-wise op, blocks of a gemm; never two chunks writing one output element), publishes
 * them, and every thread claims chunks until none are left: the main thread from the front, the
 * workers from the back. The main thread starts on chunks at once, so a worker that wakes late, or
 * never gets a core because another process holds it, just takes fewer chunks instead of stalling
 * the call. Claiming from both ends gives each thread the same part of every call of a shape (the
 * first rows, or samples, for the main thread): the data a thread wrote, and the weights it read,
 * are still in its core's cache the next time (a counter dealt chunks to whichever thread came).
 *
 * Everything lives in one control block in the shared heap: a few Int32 counters, then the chunks'
 * arguments as Float64 (exact for every i32 and f32 argument). Waking a thread that sleeps in
 * Atomics.wait costs ~20 µs of the waker's time and ~100 µs until the sleeper runs on this VM, and a
 * freshly woken worker computes slowly at first. So workers spin for a while after each call (a
 * training step issues its kernels microseconds apart, and stays served by a hot worker), the main
 * thread calls Atomics.notify only when a worker actually sleeps, and a call too small to repay a
 * wake-up runs on the main thread alone when every worker sleeps.
 */
import type { WasmMemory } from './heap.js';

/**
 * The claim word, claimed by compare-exchange: (sequence number << 14) | (back << 7) | front, the
 * unclaimed chunks being front..back − 1.
 */
const WORK = 0;
const COMPLETED = 1;
const CHUNKS = 2;
const COMMAND = 3;
const FAILED = 4;
/** Workers that have started, for readiness checks. */
const STARTED = 5;
/** Workers currently asleep in (or about to enter) Atomics.wait. */
const SLEEPING = 6;
/** Chunks the workers have run so far: shows whether they take part at all. */
const WORKER_CHUNKS = 7;
/** Index of the export to call, in the pool's list of shareable exports. */
const FUNCTION = 8;
const ARG_COUNT = 9;
/** Which argument each thread replaces with its own scratch block (−1: none). */
const SCRATCH_ARG = 10;
/**
 * Bumped by the main thread to wake the workers for a new call (or to quit). On a cache line of its
 * own (the block is 64-byte aligned): hot workers spin reading it, and on the line of the fields and
 * arguments the main thread writes to publish a call, each of those writes fetched the line back
 * from a spinning worker's core.
 */
const WAKE = 16;
/** Int32 slots before the Float64 argument table: WAKE's line, then the arguments on lines of their own. */
const HEADER_INTS = 32;

/** Most chunks one call may have (the claim counter keeps the index in 8 bits). */
export const MAX_CHUNKS = 64;
/** Most arguments of a shareable export. */
export const MAX_ARGS = 20;
/** Size of the control block in float32 slots. */
export const CONTROL_FLOATS = HEADER_INTS + 2 * MAX_CHUNKS * MAX_ARGS;

/** Bits of each end in the claim word (MAX_CHUNKS fits), and the mask of one. */
const END_BITS = 7;
const END_MASK = (1 << END_BITS) - 1;
/** Sequence numbers in the claim word wrap at 2^17, keeping it a positive int32. */
const SEQUENCE_MASK = (1 << 17) - 1;

/**
 * The claim word while a call is being published: its front is past its back, and it differs from
 * every open word (front ≤ back), so no thread can claim with a word it read before the new call.
 */
const CLOSED = END_MASK;

const COMMAND_CALL = 0;
const COMMAND_QUIT = 1;

/** How long a worker stays hot after its last chunk. */
const WORKER_SPIN_MS = 1;
/** The main thread waits at most one chunk, so it never needs to sleep for long. */
const MAIN_SPIN_MS = 2;
/** Spin-loop iterations between clock reads. */
const SPIN_BATCH = 64;

export interface ControlBlock {
  ints: Int32Array;
  args: Float64Array;
}

/** The control block at float index `control` (64-byte aligned, as the heap allocates). */
export function controlBlock(memory: WasmMemory, control: number): ControlBlock {
  return {
    ints: new Int32Array(memory.buffer, control * 4, HEADER_INTS),
    args: new Float64Array(memory.buffer, control * 4 + HEADER_INTS * 4, MAX_CHUNKS * MAX_ARGS),
  };
}

/**
 * Waits until control[index] differs from `seen`, spinning for spinMs first; returns the new value.
 * While asleep the thread is counted in control[SLEEPING], so wakers know a notify is needed.
 */
function waitForChange(control: Int32Array, index: number, seen: number, spinMs: number): number {
  const spinEnd = performance.now() + spinMs;
  do {
    for (let spin = 0; spin < SPIN_BATCH; spin++) {
      const value = Atomics.load(control, index);
      if (value !== seen) return value;
    }
  } while (performance.now() < spinEnd);
  Atomics.add(control, SLEEPING, 1);
  // A change made before the wait starts makes Atomics.wait return at once, so none is missed.
  while (Atomics.load(control, index) === seen) Atomics.wait(control, index, seen);
  Atomics.sub(control, SLEEPING, 1);
  return Atomics.load(control, index);
}

/** Increments control[index] and wakes its sleepers, skipping the costly notify when none sleep. */
function bumpAndWake(control: Int32Array, index: number): void {
  Atomics.add(control, index, 1);
  if (Atomics.load(control, SLEEPING) > 0) Atomics.notify(control, index);
}

/** True when every started worker is asleep: waking one costs more than a small call. */
export function workersAsleep(block: ControlBlock): boolean {
  return Atomics.load(block.ints, SLEEPING) >= Atomics.load(block.ints, STARTED);
}

/** A call cut into chunks: export `fn` (an index into the pool's export list) on each argument list. */
export interface ParallelCall {
  fn: number;
  chunks: readonly (readonly number[])[];
  /** Argument each thread replaces with its own scratch block, or −1. */
  scratchArg: number;
}

/** Main thread: publishes a call and wakes the workers. */
export function publishCall(block: ControlBlock, call: ParallelCall, sequence: number): void {
  const { ints, args } = block;
  const argCount = call.chunks[0].length;
  if (call.chunks.length > MAX_CHUNKS || argCount > MAX_ARGS) {
    throw new RangeError(`a parallel call takes at most ${MAX_CHUNKS} chunks of ${MAX_ARGS} arguments`);
  }
  // Close claiming first: a worker that read the last call's claim word and then reads this call's
  // header (a larger chunk count) must fail its compare-exchange, or it would run a stale chunk and
  // miscount the completions.
  Atomics.store(ints, WORK, CLOSED);
  call.chunks.forEach((chunk, c) => {
    args.set(chunk, c * MAX_ARGS);
  });
  ints[FUNCTION] = call.fn;
  ints[ARG_COUNT] = argCount;
  ints[SCRATCH_ARG] = call.scratchArg;
  ints[CHUNKS] = call.chunks.length;
  ints[COMMAND] = COMMAND_CALL;
  ints[FAILED] = 0;
  Atomics.store(ints, COMPLETED, 0);
  const open = ((sequence & SEQUENCE_MASK) << (2 * END_BITS)) | (call.chunks.length << END_BITS);
  Atomics.store(ints, WORK, open);
  bumpAndWake(ints, WAKE);
}

/**
 * The argument list runChunks hands to each chunk, reused: a fresh array (and typed-array view) per
 * chunk cost a good part of a small shared call. Each thread has its own module, so its own list.
 */
const chunkArguments: number[] = [];

/** Runs one chunk: calls export `fn` with `args` (valid only during the call). */
export type ChunkRunner = (fn: number, args: number[]) => void;

/**
 * Claims and runs chunks of the published call until none are left (a worker from the back),
 * `scratch` replacing the scratch argument. A worker reads the call's header before each claim and uses it only if the claim
 * succeeds, which proves it belonged to the live call (the arguments are read after the claim).
 */
export function runChunks(block: ControlBlock, run: ChunkRunner, scratch: number, isWorker: boolean): void {
  const { ints, args } = block;
  for (;;) {
    const work = Atomics.load(ints, WORK);
    const chunks = ints[CHUNKS];
    const fn = ints[FUNCTION];
    const argCount = ints[ARG_COUNT];
    const scratchArg = ints[SCRATCH_ARG];
    const front = work & END_MASK;
    const back = (work >> END_BITS) & END_MASK;
    if (front >= back) return;
    const index = isWorker ? back - 1 : front;
    const claimed = isWorker ? work - (1 << END_BITS) : work + 1;
    if (Atomics.compareExchange(ints, WORK, work, claimed) !== work) continue;
    try {
      const list = chunkArguments;
      list.length = argCount;
      for (let a = 0; a < argCount; a++) list[a] = args[index * MAX_ARGS + a];
      if (scratchArg >= 0) list[scratchArg] = scratch;
      run(fn, list);
      if (isWorker) Atomics.add(ints, WORKER_CHUNKS, 1);
    } catch {
      ints[FAILED] = 1;
    }
    if (Atomics.add(ints, COMPLETED, 1) + 1 === chunks) Atomics.notify(ints, COMPLETED);
  }
}

/** Main thread: waits until every chunk is done; throws if one failed in a worker. */
export function awaitChunks(block: ControlBlock, chunks: number): void {
  let completed = Atomics.load(block.ints, COMPLETED);
  while (completed !== chunks) completed = waitForChange(block.ints, COMPLETED, completed, MAIN_SPIN_MS);
  if (block.ints[FAILED] !== 0) throw new Error('a kernel failed in a worker thread');
}

/** Worker: serves calls until told to quit; `onStarted` runs once it can take chunks. */
export function serveCalls(
  block: ControlBlock,
  run: ChunkRunner,
  scratch: number,
  onStarted: () => void,
): void {
  Atomics.add(block.ints, STARTED, 1);
  onStarted();
  let seen = Atomics.load(block.ints, WAKE);
  // Checked after reading WAKE: a quit issued before start-up is seen here, a later one wakes us.
  if (block.ints[COMMAND] === COMMAND_QUIT) return;
  for (;;) {
    seen = waitForChange(block.ints, WAKE, seen, WORKER_SPIN_MS);
    if (block.ints[COMMAND] === COMMAND_QUIT) return;
    runChunks(block, run, scratch, true);
  }
}

export function startedWorkers(block: ControlBlock): number {
  return Atomics.load(block.ints, STARTED);
}

export function workerChunks(block: ControlBlock): number {
  return Atomics.load(block.ints, WORKER_CHUNKS);
}

/** Main thread: makes every worker return from serveCalls. */
export function quitWorkers(block: ControlBlock): void {
  block.ints[COMMAND] = COMMAND_QUIT;
  bumpAndWake(block.ints, WAKE);
}

export interface WorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Float index of the control block in the heap. */
  control: number;
  /** Float index of this worker's scratch (gemm packing, attention rows). */
  scratch: number;
  /** The exports a call may name, by index. */
  functions: readonly string[];
}
