/**
 * The process-wide kernels: created on first use with the best backend available (wasm SIMD with
 * worker threads in Node, else the TypeScript fallback). `useKernels` installs another one, e.g. a
 * browser's asynchronously compiled backend, or the fallback for comparison in tests. Node reads
 * SKELPRUNE_BACKEND (wasm, ts or auto), SKELPRUNE_THREADS and SKELPRUNE_RELAXED_SIMD (0 turns the
 * fused multiply-add kernels off).
 */
import { createKernelsSync } from './index.js';
import type { Kernels } from './types.js';

let active: Kernels | null = null;

export function defaultKernels(): Kernels {
  if (active === null) {
    const env: Record<string, string | undefined> = typeof process === 'undefined' ? {} : process.env;
    const backend = env.SKELPRUNE_BACKEND;
    if (backend !== undefined && backend !== 'wasm' && backend !== 'ts' && backend !== 'auto') {
      throw new Error(`SKELPRUNE_BACKEND must be wasm, ts or auto, got '${backend}'`);
    }
    const threads = env.SKELPRUNE_THREADS ? Number(env.SKELPRUNE_THREADS) : undefined;
    const relaxedSimd = env.SKELPRUNE_RELAXED_SIMD !== '0';
    active = createKernelsSync({ backend: backend ?? 'auto', threads, relaxedSimd });
  }
  return active;
}

/**
 * Installs a kernel backend. Tensors already created stay valid only if the new backend shares the
 * current heap (e.g. the TS fallback created over the same memory).
 */
export function useKernels(next: Kernels): void {
  if (active !== null && next.heap !== active.heap && active.heap.stats().liveBlocks > 0) {
    throw new Error('useKernels: live tensors exist on the current heap; the new backend must share it');
  }
  active = next;
}

/** Whether a backend is installed or was created already (a browser must install one first). */
export function hasKernels(): boolean {
  return active !== null;
}
