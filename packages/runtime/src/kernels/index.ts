/**
 * Creates the kernel backend. Every backend created over one memory shares one {@link Heap}, so
 * backends can be swapped or compared on the same tensors.
 */
import { TsKernels } from './fallback.js';
import { createMemory, Heap, sharedMemorySupported, type WasmMemory } from './heap.js';
import { createKernelPool } from './pool.js';
import type { Kernels } from './types.js';
import { instantiateKernels, WasmKernels } from './wasm.js';
import {
  kernelsWasmBase64,
  relaxedKernelsWasmBase64,
  relaxedSharedMemoryPatch,
  sharedMemoryPatch,
} from './wasm-binary.generated.js';

export type { Kernels } from './types.js';

/** How to create a kernel backend (`createKernels`), or which one a model loads on (`LoadOptions`). */
export interface KernelOptions {
  /**
   * `'auto'` (the default) picks wasm SIMD where supported (any memory), else the TypeScript
   * fallback; `'wasm'` fails where wasm SIMD is missing; `'ts'` always takes the fallback.
   */
  backend?: 'auto' | 'wasm' | 'ts';
  /**
   * Threads a large gemm may use (wasm on a shared memory only); default min(2, cores) where Node
   * threads exist, else 1.
   */
  threads?: number;
  /** The WebAssembly.Memory to allocate tensors in; a fresh one (shared where possible) by default. */
  memory?: WasmMemory;
  /**
   * Use the kernels built with relaxed SIMD (fused multiply-add: gemm ~1.2× faster) where the engine
   * has it; default true. Whether a multiply-add fuses is the hardware's choice, so results may
   * differ in the last bits between machines (never between runs on one machine).
   */
  relaxedSimd?: boolean;
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

/**
 * Whether this engine has WebAssembly SIMD, which decides `backend: 'auto'`: old browsers and some
 * embedded runtimes lack it.
 */
export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}

/** A module with one f32x4.relaxed_madd: it validates only where relaxed SIMD exists. */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32,
  1, 32, 2, 253, 133, 2, 11,
]);

/**
 * Whether this engine runs relaxed SIMD. Browsers ship it (Chrome 114+); Node 20's V8 has it behind
 * `--experimental-wasm-relaxed-simd` (on by default from Node 22), which only gates the validation
 * of modules compiled afterwards, so it is switched on here rather than asking every user for a flag.
 */
export function relaxedSimdSupported(): boolean {
  if (typeof WebAssembly !== 'object') return false;
  if (WebAssembly.validate(RELAXED_SIMD_PROBE)) return true;
  const v8 = typeof process === 'object' ? process.getBuiltinModule?.('node:v8') : undefined;
  if (!v8) return false;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(RELAXED_SIMD_PROBE);
}

const heaps = new WeakMap<WasmMemory, Heap>();

/** The one Heap over a memory: two allocators over the same memory would hand out the same blocks. */
export function heapFor(memory: WasmMemory): Heap {
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
  const source = useWasm(options) ? kernelsBinary(heap, options) : null;
  return build(heap, options, source, source && new WebAssembly.Module(source.binary));
}

/** Asynchronous creation, which browsers require for compiling the wasm module. */
export async function createKernels(options: KernelOptions = {}): Promise<KernelBackend> {
  const heap = heapFor(options.memory ?? createMemory(sharedMemorySupported()));
  const source = useWasm(options) ? kernelsBinary(heap, options) : null;
  return build(heap, options, source, source && (await WebAssembly.compile(source.binary)));
}

/** 'auto' takes wasm wherever wasm SIMD exists; only old browsers and some embedded runtimes lack it. */
function useWasm(options: KernelOptions): boolean {
  const backend = options.backend ?? 'auto';
  if (backend === 'wasm' && !wasmSimdSupported()) {
    throw new Error('the wasm backend needs WebAssembly SIMD, which this runtime lacks');
  }
  return backend === 'wasm' || (backend === 'auto' && wasmSimdSupported());
}

/** The kernels on a compiled module of `source`, or the TypeScript fallback without one. */
function build(
  heap: Heap,
  options: KernelOptions,
  source: KernelsBinary | null,
  module: WebAssembly.Module | null,
): KernelBackend {
  if (source === null || module === null) return new TsKernels(heap);
  const exports = instantiateKernels(module, heap.memory as WebAssembly.Memory);
  const threads = options.threads ?? defaultThreads();
  const pool = createKernelPool(heap, module, exports, threads, exports.gemmScratchBytes() / 4);
  return new WasmKernels(heap, exports, pool, source.relaxed);
}

function defaultThreads(): number {
  if (typeof process === 'undefined' || typeof process.getBuiltinModule !== 'function') return 1;
  return Math.min(2, process.getBuiltinModule('node:os').availableParallelism());
}

/**
 * The module variant whose memory import matches the heap: shared (the kernel workers can join it) or
 * unshared (a browser page without cross-origin isolation: single-threaded wasm SIMD), with relaxed
 * SIMD where allowed and supported. The shared variant is the embedded unshared one with its memory
 * import's flags patched.
 */
/** A kernels module's bytes, and whether they are the relaxed SIMD build. */
interface KernelsBinary {
  binary: Uint8Array<ArrayBuffer>;
  relaxed: boolean;
}

function kernelsBinary(heap: Heap, options: KernelOptions): KernelsBinary {
  const relaxed = (options.relaxedSimd ?? true) && relaxedSimdSupported();
  const patch = relaxed ? relaxedSharedMemoryPatch : sharedMemoryPatch;
  const text = atob(relaxed ? relaxedKernelsWasmBase64 : kernelsWasmBase64);
  const binary = new Uint8Array(text.length);
  for (let k = 0; k < text.length; k++) binary[k] = text.charCodeAt(k);
  const shared = typeof SharedArrayBuffer !== 'undefined' && heap.memory.buffer instanceof SharedArrayBuffer;
  if (shared) binary[patch.offset] = patch.byte;
  return { binary, relaxed };
}
