/**
 * The hand-off between the main thread and a gemm worker: one Int32Array control block per worker,
 * in the shared heap. The main thread writes the arguments and bumps SEQ; the worker runs the gemm
 * and stores the sequence number into DONE. Both sides spin briefly before sleeping in
 * Atomics.wait, because a wake-up from Atomics.wait alone costs ~94 µs here, as much as a whole
 * mid-sized gemm.
 */

/** Field indices of the control block. */
export const SEQ = 0;
export const DONE = 1;
export const READY = 2;
export const COMMAND = 3;
/** Set by the worker when its gemm threw; the main thread rethrows. */
export const FAILED = 4;
/** The wasm gemm arguments start here; alpha and beta are stored as float32 bits. */
const ARGS = 5;
const GEMM_ARG_COUNT = 18;
const FLOAT_ARGS = new Set([5, 12]);
export const CONTROL_INTS = ARGS + GEMM_ARG_COUNT;

export const COMMAND_GEMM = 0;
export const COMMAND_QUIT = 1;

/** Atomics.load iterations before sleeping: ≈ 30 µs on this machine. */
const SPIN_ITERATIONS = 20000;

/** Returns once control[index] differs from `seen`, spinning first, then sleeping. */
export function waitForChange(control: Int32Array, index: number, seen: number): number {
  for (let spin = 0; spin < SPIN_ITERATIONS; spin++) {
    const value = Atomics.load(control, index);
    if (value !== seen) return value;
  }
  for (;;) {
    Atomics.wait(control, index, seen);
    const value = Atomics.load(control, index);
    if (value !== seen) return value;
  }
}

/** Views of one control block. */
export interface ControlBlock {
  ints: Int32Array;
  floats: Float32Array;
}

export function controlBlock(memory: WebAssembly.Memory, control: number): ControlBlock {
  return {
    ints: new Int32Array(memory.buffer, control * 4, CONTROL_INTS),
    floats: new Float32Array(memory.buffer, control * 4, CONTROL_INTS),
  };
}

export function writeGemmArguments(block: ControlBlock, args: readonly number[]): void {
  args.forEach((value, index) => {
    if (FLOAT_ARGS.has(index)) block.floats[ARGS + index] = value;
    else block.ints[ARGS + index] = value;
  });
}

export function readGemmArguments(block: ControlBlock): number[] {
  return Array.from({ length: GEMM_ARG_COUNT }, (_, index) =>
    FLOAT_ARGS.has(index) ? block.floats[ARGS + index] : block.ints[ARGS + index],
  );
}

export interface WorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Float index of the control block in the heap. */
  control: number;
}
