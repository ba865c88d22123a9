/**
 * The fused CTF mask kernels against the composition of generic engine ops they replace (forward ψ
 * and dŴ, every variant, awkward tilings, both backends), the row ranges of the element-wise
 * passes, and finite differences.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKernelsSync, type Kernels } from '@skelprune/runtime/internal';
import {
  kernels,
  mean,
  mul,
  noGrad,
  Parameter,
  Rng,
  sum,
  type Tensor,
  tanh,
  tensor,
  tidy,
  useKernels,
} from '../../src/engine/index.js';
import type { Tiling } from '../../src/model/layers.js';
import { type CtfMaskOptions, type CtfVariant, ctfMask } from '../../src/prune/ctf.js';

/** The mask as it was composed from engine ops before the fused kernels: the reference. */
function composedMask(weight: Tensor, t: Tiling, { sigma, scale, variant }: CtfMaskOptions): Tensor {
  const [rows, cols] = weight.shape;
  const x = weight.square().reshape([t.blockRows, t.rowsPerBlock, t.blockCols, t.colsPerBlock]);
  const phi = (v: Tensor) => tanh(v.mul(1 / (2 * sigma * scale)));
  const factors: Tensor[] = [];
  if (variant !== 'coarse') factors.push(phi(x));
  if (variant !== 'fine') {
    factors.push(phi(mean(x, [1, 3], true)), phi(mean(x, [2, 3], true)), phi(mean(x, [0, 1], true)));
  }
  const psi = factors.reduce((product, f) => product.mul(f));
  return psi.reshape([rows, cols]);
}

const tile = (blockRows: number, rowsPerBlock: number, blockCols: number, colsPerBlock: number): Tiling => ({
  blockRows,
  rowsPerBlock,
  blockCols,
  colsPerBlock,
});

const tilings: [string, Tiling][] = [
  ['8×12 in 4×4 blocks', tile(2, 4, 3, 4)],
  ['6×7 in 1×1 blocks', tile(6, 1, 7, 1)],
  ['7×5 as a single block', tile(1, 7, 1, 5)],
  ['7×5 in 1×5 row blocks', tile(7, 1, 1, 5)],
  ['9×10 in 3×5 blocks', tile(3, 3, 2, 5)],
  ['6×6 in 2×3 blocks', tile(3, 2, 2, 3)],
  ['5×9 in 5×1 column blocks', tile(1, 5, 9, 1)],
  ['36×70 in 4×7 blocks', tile(9, 4, 10, 7)],
];
const variants: CtfVariant[] = ['full', 'fine', 'coarse'];

function gaussian(n: number, rng: Rng, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}

/** The mean square, the per-layer scale the pruner uses, so that φ's argument is of order 1. */
function meanSquare(data: Float32Array): number {
  return data.reduce((s, v) => s + v * v, 0) / data.length;
}

/** ψ and dŴ of Σ ψ ⊙ R for one mask function. */
function run(
  mask: typeof ctfMask,
  data: Float32Array,
  t: Tiling,
  options: CtfMaskOptions,
  upstream: Float32Array,
): { psi: Float32Array; grad: Float32Array } {
  return tidy(() => {
    const rows = t.blockRows * t.rowsPerBlock;
    const cols = t.blockCols * t.colsPerBlock;
    const w = new Parameter([rows, cols], data.slice());
    const psi = mask(w, t, options);
    sum(mul(psi, tensor(upstream, [rows, cols]))).backward();
    const result = { psi: psi.data.slice(), grad: w.grad!.data.slice() };
    w.grad!.dispose();
    w.dispose();
    return result;
  });
}

/** |a − e| ≤ rtol·(|e| + floor·max|e|): relative, with a floor for values that cancel to near 0. */
function assertNear(
  actual: Float32Array,
  expected: Float32Array,
  label: string,
  rtol = 1e-5,
  floor = 0.05,
): void {
  assert.equal(actual.length, expected.length);
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (let i = 0; i < expected.length; i++) {
    const tolerance = rtol * (Math.abs(expected[i]) + floor * scale) + 1e-30;
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) {
      assert.fail(`${label}[${i}]: got ${actual[i]}, expected ${expected[i]} (tolerance ${tolerance})`);
    }
  }
}

const defaultKernels = kernels();
const memory = defaultKernels.heap.memory;
const backends: Kernels[] = [
  defaultKernels.name === 'wasm-simd'
    ? defaultKernels
    : createKernelsSync({ backend: 'wasm', memory, threads: 1 }),
  createKernelsSync({ backend: 'ts', memory }),
];

for (const backend of backends) {
  describe(`fused CTF mask on the ${backend.name} backend`, () => {
    for (const [name, t] of tilings) {
      for (const variant of variants) {
        it(`${variant}, ${name}: ψ and dŴ match the composed ops`, () => {
          useKernels(backend);
          try {
            const rng = new Rng(name.length * 31 + variant.length);
            const n = t.blockRows * t.rowsPerBlock * t.blockCols * t.colsPerBlock;
            const data = gaussian(n, rng, 0.5);
            const upstream = gaussian(n, rng, 1);
            for (const sigma of [0.3, 0.05]) {
              const options = { sigma, scale: meanSquare(data), variant };
              const fused = run(ctfMask, data, t, options, upstream);
              const reference = run(composedMask, data, t, options, upstream);
              assertNear(fused.psi, reference.psi, `ψ (σ ${sigma})`);
              assertNear(fused.grad, reference.grad, `dŴ (σ ${sigma})`);
            }
          } finally {
            useKernels(defaultKernels);
          }
        });
      }
    }

    it('element-wise passes split into row ranges give the whole-matrix result', () => {
      const k = backend;
      const heap = k.heap;
      const t = tile(3, 3, 2, 5);
      const [rows, cols] = [9, 10];
      const rng = new Rng(5);
      for (const variant of variants) {
        const layout = { ...t, gain: 1.7, variant };
        const alloc = (n: number, values?: Float32Array) => {
          const ptr = heap.alloc(n);
          if (values) heap.f32.set(values, ptr);
          return ptr;
        };
        const vectors = () => ({ rows: alloc(rows), cols: alloc(cols), blocks: alloc(6) });
        const w = alloc(rows * cols, gaussian(rows * cols, rng, 0.8));
        const g = alloc(rows * cols, gaussian(rows * cols, rng, 1));
        const [factors, coefficients] = [vectors(), vectors()];
        const [scratch, scratch2] = [alloc(2 * cols), alloc(2 * cols)];
        const [psiWhole, psiSplit, entry, entrySplit] = [0, 0, 0, 0].map(() => alloc(rows * cols));
        const [dwWhole, dwSplit] = [alloc(rows * cols), alloc(rows * cols)];
        k.ctfMaskStats(layout, w, factors, scratch);
        k.ctfMask(layout, w, factors, scratch, psiWhole, entry, 0, rows);
        for (const [start, end] of [
          [0, 4],
          [4, 5],
          [5, 9],
        ]) {
          k.ctfMask(layout, w, factors, start === 4 ? scratch2 : scratch, psiSplit, entrySplit, start, end);
        }
        const e = variant === 'full' ? entry : psiWhole;
        k.ctfMaskBackwardStats(layout, g, e, factors, coefficients, scratch);
        k.ctfMaskBackward(layout, g, e, w, factors, coefficients, scratch, dwWhole, 0, rows);
        for (const [start, end] of [
          [0, 2],
          [2, 7],
          [7, 9],
        ]) {
          k.ctfMaskBackward(layout, g, e, w, factors, coefficients, scratch2, dwSplit, start, end);
        }
        const f = heap.f32;
        const read = (ptr: number) => f.slice(ptr, ptr + rows * cols);
        assert.deepEqual(read(psiSplit), read(psiWhole), `${variant} ψ`);
        if (variant === 'full') assert.deepEqual(read(entrySplit), read(entry), 'entry');
        assert.deepEqual(read(dwSplit), read(dwWhole), `${variant} dŴ`);
        for (const ptr of [
          w,
          g,
          scratch,
          scratch2,
          psiWhole,
          psiSplit,
          entry,
          entrySplit,
          dwWhole,
          dwSplit,
        ]) {
          heap.free(ptr);
        }
        for (const v of [factors, coefficients]) for (const ptr of Object.values(v)) heap.free(ptr);
      }
    });

    it('dŴ matches central differences', () => {
      useKernels(backend);
      try {
        const t = tile(2, 3, 2, 5);
        const [rows, cols] = [6, 10];
        for (const variant of variants) {
          const rng = new Rng(17 + variant.length);
          const data = gaussian(rows * cols, rng, 0.6);
          const upstream = gaussian(rows * cols, rng, 1);
          const options = { sigma: 0.25, scale: 1, variant };
          const { grad } = run(ctfMask, data, t, options, upstream);
          const objective = (values: Float32Array) =>
            noGrad(() =>
              tidy(() => {
                const psi = ctfMask(tensor(values, [rows, cols]), t, options).data;
                return psi.reduce((s, v, i) => s + v * upstream[i], 0);
              }),
            );
          for (let i = 0; i < rows * cols; i++) {
            const h = 1e-2 * Math.max(0.1, Math.abs(data[i]));
            const probe = data.slice();
            probe[i] = data[i] + h;
            const hUp = probe[i] - data[i];
            const up = objective(probe);
            probe[i] = data[i] - h;
            const hDown = data[i] - probe[i];
            const down = objective(probe);
            const numeric = (up - down) / (hUp + hDown);
            const tolerance = 5e-3 * Math.max(1, Math.abs(numeric), Math.abs(grad[i]));
            assert.ok(
              Math.abs(numeric - grad[i]) <= tolerance,
              `${variant} element ${i}: analytic ${grad[i]}, numeric ${numeric}`,
            );
          }
        }
      } finally {
        useKernels(defaultKernels);
      }
    });
  });
}
