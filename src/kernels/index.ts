/**
 * Creates the kernel backend. Every backend created over one memory shares one {@link Heap}, so
 * backends can be swapped or compared on the same tensors.
 */
import { TsKernels } from './fallback.js';
import { createMemory, Heap, sharedMemorySupported } from './heap.js';
import { createGemmPool } from './pool.js';
import type { Kernels } from './types.js';
import { instantiateKernels, WasmKernels } from './wasm.js';
import { kernelsWasmBase64 } from './wasm-binary.generated.js';

export type { Kernels } from './types.js';

export interface KernelOptions {
  /** 'auto' picks wasm SIMD where supported, else the TypeScript fallback. */
  backend?: 'auto' | 'wasm' | 'ts';
  /** Threads a large gemm may use (wasm only); default min(2, cores) where Node threads exist. */
  threads?: number;
  /** The memory to allocate tensors in; a fresh one (shared where possible) by default. */
  memory?: WebAssembly.Memory;
}

/** A backend that may own worker threads. */
export interface KernelBackend extends Kernels {
  /** Resolves once the worker threads have started; until then large gemms use fewer threads. */
  whenReady(): Promise<void>;
  /** Stops the worker threads; the kernels stay usable on the calling thread. */
  dispose(): void;
}

/** A tiny module using v128 instructions: it validates only where wasm SIMD exists. */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98,
  11,
]);

/** Decides 'auto': old browsers and some embedded runtimes lack wasm SIMD. */
export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
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

/** Synchronous creation, for Node (browsers refuse to compile large modules synchronously). */
export function createKernelsSync(options: KernelOptions = {}): KernelBackend {
  const heap = heapFor(options.memory ?? createMemory(sharedMemorySupported()));
  return build(heap, options, useWasm(heap, options) ? new WebAssembly.Module(kernelsBinary()) : null);
}

/** Asynchronous creation, which browsers require for compiling the wasm module. */
export async function createKernels(options: KernelOptions = {}): Promise<KernelBackend> {
  const heap = heapFor(options.memory ?? createMemory(sharedMemorySupported()));
  return build(heap, options, useWasm(heap, options) ? await WebAssembly.compile(kernelsBinary()) : null);
}

/**
 * The kernels module imports a shared memory (so gemm workers can use it), which needs wasm SIMD
 * and, in browsers, cross-origin isolation; 'auto' falls back to the TS kernels without them.
 */
function useWasm(heap: Heap, options: KernelOptions): boolean {
  const backend = options.backend ?? 'auto';
  const shared = typeof SharedArrayBuffer !== 'undefined' && heap.memory.buffer instanceof SharedArrayBuffer;
  if (backend === 'wasm' && !wasmSimdSupported()) {
    throw new Error('the wasm backend needs WebAssembly SIMD, which this runtime lacks');
  }
  if (backend === 'wasm' && !shared) {
    throw new Error(
      'the wasm backend needs a shared WebAssembly.Memory (in browsers: cross-origin isolation)',
    );
  }
  return backend === 'wasm' || (backend === 'auto' && shared && wasmSimdSupported());
}

function build(heap: Heap, options: KernelOptions, module: WebAssembly.Module | null): KernelBackend {
  if (module === null) return new TsKernels(heap);
  const exports = instantiateKernels(module, heap.memory);
  const pool = createGemmPool(heap, module, exports, options.threads ?? defaultThreads());
  return new WasmKernels(heap, exports, pool);
}

function defaultThreads(): number {
  if (typeof process === 'undefined' || typeof process.getBuiltinModule !== 'function') return 1;
  return Math.min(2, process.getBuiltinModule('node:os').availableParallelism());
}

function kernelsBinary(): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(kernelsWasmBase64), (char) => char.charCodeAt(0));
}
