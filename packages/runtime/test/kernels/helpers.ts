import assert from 'node:assert/strict';
import type { Heap } from '../../src/kernels/heap.js';
import { createKernelsSync } from '../../src/kernels/index.js';
import type { Ptr } from '../../src/kernels/types.js';
import { Rng } from '../../src/random.js';

/** One wasm backend, the TS fallback and a 2-thread wasm backend, all on one heap. */
export const wasm = createKernelsSync({ backend: 'wasm', threads: 1 });
export const ts = createKernelsSync({ backend: 'ts', memory: wasm.heap.memory });
export const threaded = createKernelsSync({ backend: 'wasm', threads: 2, memory: wasm.heap.memory });
export const heap: Heap = wasm.heap;
await threaded.whenReady();

export function randomBuffer(rng: Rng, n: number, low = -1, high = 1): Ptr {
  const ptr = heap.alloc(n);
  const f = heap.f32;
  for (let i = 0; i < n; i++) f[ptr + i] = rng.range(low, high);
  return ptr;
}

export function buffer(values: readonly number[]): Ptr {
  const ptr = heap.alloc(values.length);
  heap.f32.set(values, ptr);
  return ptr;
}

export function filled(n: number, value: number): Ptr {
  const ptr = heap.alloc(n);
  heap.f32.fill(value, ptr, ptr + n);
  return ptr;
}

export function copyOf(ptr: Ptr, n: number): Ptr {
  const copy = heap.alloc(n);
  heap.f32.copyWithin(copy, ptr, ptr + n);
  return copy;
}

export function read(ptr: Ptr, n: number): Float32Array {
  return heap.f32.slice(ptr, ptr + n);
}

/**
 * Asserts |actual − expected| ≤ tolerance · max(scale, |expected|) element-wise, with NaN only
 * where NaN is expected and infinities matching exactly.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  label: string,
  scale = 1,
): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      assert.ok(Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)), `${label}[${i}]: ${a} ≠ ${e}`);
      continue;
    }
    const bound = tolerance * Math.max(scale, Math.abs(e));
    assert.ok(Math.abs(a - e) <= bound, `${label}[${i}]: ${a} vs ${e} (bound ${bound})`);
  }
}

/** The largest finite magnitude (NaN padding and infinities are ignored). */
export function maxAbs(values: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) max = Math.max(max, Math.abs(values[i]));
  }
  return max;
}

export { Rng };
