/**
 * The kernels the engine runs on. Created on first use with the best backend available (wasm SIMD
 * with worker threads in Node, else the TypeScript fallback); `useKernels` installs another one,
 * e.g. a browser's asynchronously compiled backend or the fallback for comparison in tests.
 */
import { createKernelsSync } from '../kernels/index.js';
import type { Kernels } from '../kernels/types.js';

let active: Kernels | null = null;

export function kernels(): Kernels {
  if (active === null) {
    const env: Record<string, string | undefined> = typeof process === 'undefined' ? {} : process.env;
    const backend = env.SKELPRUNE_BACKEND;
    if (backend !== undefined && backend !== 'wasm' && backend !== 'ts' && backend !== 'auto') {
      throw new Error(`SKELPRUNE_BACKEND must be wasm, ts or auto, got '${backend}'`);
    }
    const threads = env.SKELPRUNE_THREADS ? Number(env.SKELPRUNE_THREADS) : undefined;
    active = createKernelsSync({ backend: backend ?? 'auto', threads });
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
