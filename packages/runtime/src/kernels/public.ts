/**
 * Kernel backends as the package's main entry shows them: opaque handles an app creates, shares
 * between models and disposes of. Their full interface (the numeric kernels and the heap) is the
 * internal entry's `Kernels`; every backend `createKernels` makes satisfies both.
 */
import { createKernels as createBackend, type KernelOptions } from './index.js';

/**
 * A kernel backend: the numeric kernels models run on (wasm SIMD, or the plain TypeScript fallback)
 * and the WebAssembly memory their weights and activations live in. Opaque: make one with
 * {@link createKernels} and pass it as `kernels` to `SkeletonClassifier.load` or `fromBytes` to run
 * several models on it.
 */
export interface Kernels {
  /** `'wasm-simd'`, or `'ts'` for the TypeScript fallback. */
  readonly name: string;
  /** Worker threads a large product may use (1: single-threaded; the TypeScript fallback always is). */
  readonly threads: number;
  /** Whether the wasm kernels use relaxed SIMD (fused multiply-add); false for the fallback. */
  readonly relaxedSimd: boolean;
}

/** A backend of one's own, as {@link createKernels} returns it: it may own worker threads. */
export interface KernelBackend extends Kernels {
  /** Resolves once the worker threads have started; until then large products use fewer threads. */
  whenReady(): Promise<void>;
  /** Stops the worker threads; the kernels stay usable on the calling thread. */
  dispose(): void;
}

/**
 * Creates a kernel backend of one's own, compiling the wasm module asynchronously (as browsers
 * require). With `backend: 'wasm'` it rejects where the engine lacks wasm SIMD; `'auto'` (the
 * default) takes the TypeScript fallback there. Each call creates a new memory unless
 * `options.memory` names one.
 */
export function createKernels(options?: KernelOptions): Promise<KernelBackend> {
  return createBackend(options);
}
