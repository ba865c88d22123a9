/**
 * How the main thread and the gemm workers share one large gemm. The product is cut into chunks
 * (batch items, row blocks or column blocks, never two chunks writing one element of C), and every
 * thread claims chunks from a shared counter until none are left. The main thread starts on chunks
 * at once, so a worker that wakes late, or never gets a core because another process holds it,
 * just takes fewer chunks instead of stalling the product.
 *
 * Everything lives in one Int32Array control block in the shared heap. Waking a thread that sleeps
 * in Atomics.wait costs ~20 µs of the waker's time and ~100 µs until the sleeper runs on this VM,
 * and a freshly woken worker computes slowly at first. So workers spin for a while after each gemm
 * (a training step issues its gemms a few hundred µs apart, and stays served by a hot worker), the
 * main thread calls Atomics.notify only when a worker actually sleeps, and a gemm too small to
 * repay a wake-up runs on the main thread alone when every worker sleeps.
 */
import type { WasmMemory } from './heap.js';
import type { GemmParams } from './types.js';

/** Bumped by the main thread to wake the workers for a new gemm (or to quit). */
const WAKE = 0;
/** (sequence number << 8) | index of the next unclaimed chunk; claimed by compare-exchange. */
const WORK = 1;
const COMPLETED = 2;
const CHUNKS = 3;
const COMMAND = 4;
const FAILED = 5;
/** Workers that have started, for readiness checks. */
const STARTED = 6;
/** Workers currently asleep in (or about to enter) Atomics.wait. */
const SLEEPING = 7;
/** Chunks the workers have run so far: shows whether they take part at all. */
const WORKER_CHUNKS = 8;
const PARAMS = 9;
const PARAM_FIELDS = [
  'transA',
  'transB',
  'm',
  'n',
  'k',
  'alpha',
  'a',
  'lda',
  'strideA',
  'b',
  'ldb',
  'strideB',
  'beta',
  'c',
  'ldc',
  'strideC',
  'batch',
] as const satisfies readonly (keyof GemmParams)[];
const FLOAT_FIELDS = new Set<string>(['alpha', 'beta']);
const BOOLEAN_FIELDS = new Set<string>(['transA', 'transB']);
/** Chunking: axis (0 batch, 1 rows, 2 columns) and the alignment of chunk boundaries. */
const AXIS = PARAMS + PARAM_FIELDS.length;
const ALIGN = AXIS + 1;
export const CONTROL_INTS = ALIGN + 1;

const COMMAND_GEMM = 0;
const COMMAND_QUIT = 1;

/** How long a worker stays hot after its last chunk. */
const WORKER_SPIN_MS = 1;
/** The main thread waits at most one chunk, so it never needs to sleep for long. */
const MAIN_SPIN_MS = 2;
/** Spin-loop iterations between clock reads. */
const SPIN_BATCH = 64;

export interface ControlBlock {
  ints: Int32Array;
  floats: Float32Array;
}

export function controlBlock(memory: WasmMemory, control: number): ControlBlock {
  return {
    ints: new Int32Array(memory.buffer, control * 4, CONTROL_INTS),
    floats: new Float32Array(memory.buffer, control * 4, CONTROL_INTS),
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

/** True when every started worker is asleep: waking one costs more than a small gemm. */
export function workersAsleep(block: ControlBlock): boolean {
  return Atomics.load(block.ints, SLEEPING) >= Atomics.load(block.ints, STARTED);
}

export interface ChunkPlan {
  axis: 0 | 1 | 2;
  chunks: number;
  align: number;
}

/**
 * Rows (or columns) a row (column) chunk should get: every chunk repacks the whole other operand,
 * which costs about 3 / extent of its compute time here. Smaller products still get two chunks.
 */
const MIN_CHUNK_EXTENT = 64;

/**
 * Chunks over the batch when every item has its own C and there are enough items, else over the
 * rows or columns of C (aligned to the register tile), whichever dimension is larger.
 */
export function planChunks(p: GemmParams, maxChunks: number, tileRows: number, tileCols: number): ChunkPlan {
  if (p.strideC !== 0 && p.batch >= maxChunks) return { axis: 0, chunks: maxChunks, align: 1 };
  const [axis, extent, align] = p.m >= p.n ? [1 as const, p.m, tileRows] : [2 as const, p.n, tileCols];
  const chunks =
    extent < 2 * align ? 1 : Math.max(2, Math.min(maxChunks, Math.floor(extent / MIN_CHUNK_EXTENT)));
  return { axis, chunks, align };
}

/** The part of the gemm chunk `index` of `plan` computes. */
export function gemmChunk(p: GemmParams, plan: ChunkPlan, index: number): GemmParams {
  const total = plan.axis === 0 ? p.batch : plan.axis === 1 ? p.m : p.n;
  const units = Math.ceil(total / plan.align);
  const boundary = (i: number) => Math.min(total, Math.round((units * i) / plan.chunks) * plan.align);
  const start = boundary(index);
  const count = boundary(index + 1) - start;
  if (plan.axis === 0) {
    return {
      ...p,
      batch: count,
      a: p.a + start * p.strideA,
      b: p.b + start * p.strideB,
      c: p.c + start * p.strideC,
    };
  }
  if (plan.axis === 1) {
    return { ...p, m: count, a: p.a + start * (p.transA ? 1 : p.lda), c: p.c + start * p.ldc };
  }
  return { ...p, n: count, b: p.b + start * (p.transB ? p.ldb : 1), c: p.c + start };
}

/** Main thread: publishes a gemm (at most 255 chunks) and wakes the workers. */
export function publishGemm(block: ControlBlock, p: GemmParams, plan: ChunkPlan, sequence: number): void {
  const { ints, floats } = block;
  for (let i = 0; i < PARAM_FIELDS.length; i++) {
    const value = p[PARAM_FIELDS[i]];
    if (typeof value === 'boolean') ints[PARAMS + i] = value ? 1 : 0;
    else if (FLOAT_FIELDS.has(PARAM_FIELDS[i])) floats[PARAMS + i] = value;
    else ints[PARAMS + i] = value;
  }
  ints[AXIS] = plan.axis;
  ints[ALIGN] = plan.align;
  ints[CHUNKS] = plan.chunks;
  ints[COMMAND] = COMMAND_GEMM;
  ints[FAILED] = 0;
  Atomics.store(ints, COMPLETED, 0);
  Atomics.store(ints, WORK, (sequence & 0xffffff) << 8);
  bumpAndWake(ints, WAKE);
}

interface Published {
  params: GemmParams;
  plan: ChunkPlan;
}

function readPublished({ ints, floats }: ControlBlock): Published {
  const params: Record<string, number | boolean> = {};
  PARAM_FIELDS.forEach((field, i) => {
    const bits = ints[PARAMS + i];
    params[field] = FLOAT_FIELDS.has(field)
      ? floats[PARAMS + i]
      : BOOLEAN_FIELDS.has(field)
        ? bits !== 0
        : bits;
  });
  return {
    params: params as unknown as GemmParams,
    plan: { axis: ints[AXIS] as ChunkPlan['axis'], chunks: ints[CHUNKS], align: ints[ALIGN] },
  };
}

/**
 * Claims and runs chunks of the published gemm until none are left. A worker reads the arguments
 * before each claim and uses them only if the claim succeeds, which proves they belonged to the
 * live gemm; the main thread passes the ones it published.
 */
export function runChunks(block: ControlBlock, run: (part: GemmParams) => void, published?: Published): void {
  const { ints } = block;
  for (;;) {
    const work = Atomics.load(ints, WORK);
    const { params, plan } = published ?? readPublished(block);
    const index = work & 0xff;
    if (index >= plan.chunks) return;
    if (Atomics.compareExchange(ints, WORK, work, work + 1) !== work) continue;
    try {
      run(gemmChunk(params, plan, index));
    } catch {
      ints[FAILED] = 1;
    }
    if (Atomics.add(ints, COMPLETED, 1) + 1 === plan.chunks) Atomics.notify(ints, COMPLETED);
  }
}

/** Main thread: waits until every chunk is done; throws if one failed in a worker. */
export function awaitChunks(block: ControlBlock, chunks: number): void {
  let completed = Atomics.load(block.ints, COMPLETED);
  while (completed !== chunks) completed = waitForChange(block.ints, COMPLETED, completed, MAIN_SPIN_MS);
  if (block.ints[FAILED] !== 0) throw new Error('gemm failed in a worker thread');
}

/** Worker: serves gemms until told to quit; `onStarted` runs once it can take chunks. */
export function serveGemms(
  block: ControlBlock,
  run: (part: GemmParams) => void,
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
    runChunks(block, (part) => {
      run(part);
      Atomics.add(block.ints, WORKER_CHUNKS, 1);
    });
  }
}

export function startedWorkers(block: ControlBlock): number {
  return Atomics.load(block.ints, STARTED);
}

export function workerChunks(block: ControlBlock): number {
  return Atomics.load(block.ints, WORKER_CHUNKS);
}

/** Main thread: makes every worker return from serveGemms. */
export function quitWorkers(block: ControlBlock): void {
  block.ints[COMMAND] = COMMAND_QUIT;
  bumpAndWake(block.ints, WAKE);
}

export interface WorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Float index of the control block in the heap. */
  control: number;
  /** Float index of this worker's gemm packing scratch. */
  scratch: number;
}
