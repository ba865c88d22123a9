/**
 * Creates the kernel backend. Every backend created over one memory shares one {@link Heap}, so
 * backends can be swapped or compared on the same tensors.
 */
import { TsKernels } from './fallback.js';
import { createMemory, Heap, sharedMemorySupported } from './heap.js';
import type { Kernels } from './types.js';

export type { Kernels } from './types.js';

export interface KernelOptions {
  /** 'auto' picks wasm SIMD where supported, else the TypeScript fallback. */
  backend?: 'auto' | 'wasm' | 'ts';
  /** Threads a large gemm may use. */
  threads?: number;
  /** The memory to allocate tensors in; a fresh one (shared where possible) by default. */
  memory?: WebAssembly.Memory;
}

const heaps = new WeakMap<WebAssembly.Memory, Heap>();

/** The one Heap over a memory: two allocators over the same memory would hand out the same blocks. */
export function heapFor(memory: WebAssembly.Memory): Heap {
  let heap = heaps.get(memory);
  if (!heap) {
    heap = new Heap(memory);
    heaps.set(memory, heap);
  }
  return heap;
}

export function createKernelsSync(options: KernelOptions = {}): Kernels {
  const heap = heapFor(options.memory ?? createMemory(sharedMemorySupported()));
  return new TsKernels(heap);
}
