/**
 * A kernel worker thread: claims chunks of large kernel calls (see parallel-protocol.ts) and runs
 * them on the same compiled module and shared memory as the main thread, with its own scratch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { controlBlock, serveCalls, type WorkerData } from './parallel-protocol.js';
import { instantiateKernels } from './wasm.js';

const { module, memory, control, scratch, functions } = workerData as WorkerData;
const kernels = instantiateKernels(module, memory) as unknown as Record<string, (...args: number[]) => void>;
const table = functions.map((name) => kernels[name]);
serveCalls(
  controlBlock(memory, control),
  (fn, args) => table[fn](...args),
  scratch * 4,
  () => parentPort?.postMessage('started'),
);
