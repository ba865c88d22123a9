/**
 * A gemm worker thread: claims chunks of large gemms (see gemm-protocol.ts) and runs them on the
 * same compiled module and shared memory as the main thread, with its own packing scratch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { controlBlock, serveGemms, type WorkerData } from './gemm-protocol.js';
import { gemmArguments, instantiateKernels } from './wasm.js';

const { module, memory, control, scratch } = workerData as WorkerData;
const kernels = instantiateKernels(module, memory);
serveGemms(
  controlBlock(memory, control),
  (part) => kernels.gemm(...gemmArguments(part, scratch)),
  () => parentPort?.postMessage('started'),
);
