/**
 * A gemm worker thread: runs its share of large gemms on the same compiled module and shared memory
 * as the main thread, driven through its control block (see gemm-protocol.ts).
 */
import { workerData } from 'node:worker_threads';
import {
  COMMAND,
  COMMAND_QUIT,
  controlBlock,
  DONE,
  FAILED,
  READY,
  readGemmArguments,
  SEQ,
  type WorkerData,
  waitForChange,
} from './gemm-protocol.js';
import { instantiateKernels } from './wasm.js';

const { module, memory, control } = workerData as WorkerData;
const kernels = instantiateKernels(module, memory);
const block = controlBlock(memory, control);

Atomics.store(block.ints, READY, 1);
Atomics.notify(block.ints, READY);

let seen = 0;
for (;;) {
  seen = waitForChange(block.ints, SEQ, seen);
  if (block.ints[COMMAND] === COMMAND_QUIT) break;
  try {
    kernels.gemm(...(readGemmArguments(block) as Parameters<typeof kernels.gemm>));
  } catch {
    block.ints[FAILED] = 1;
  }
  Atomics.store(block.ints, DONE, seen);
  Atomics.notify(block.ints, DONE);
}
