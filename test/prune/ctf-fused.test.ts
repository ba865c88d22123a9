/**
 * The fused CTF mask kernels against the composition of generic engine ops they replace (forward ψ
 * and dŴ, every variant, awkward tilings, both backends), the row ranges of the element-wise
 * passes, and finite differences. The fused effective weight Ŵ ⊙ ψ with its mass Σψ
 * (ctfMaskedWeight, weightedMass) against the composition the pruner used before
 * (weight.mul(ctfMask), maskMass, budgetLoss): values, and the gradient of a network loss plus the
 * budget term (FLOP cap active or not), of either alone.
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
import {
  budgetLoss,
  type CtfMaskOptions,
  type CtfVariant,
  ctfMask,
  ctfMaskedWeight,
  weightedMass,
} from '../../src/prune/ctf.js';
import { maskMass } from './composed.js';

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

/** What a pruning step differentiates: a network loss on the effective weights, the budget term. */
interface StepCase {
  network: boolean;
  budget: boolean;
  /** The FLOP cap's one-sided term: exceeded (active), met (inactive), or no cap. */
  cap: 'active' | 'inactive' | 'none';
}

interface Layer {
  data: Float32Array;
  t: Tiling;
  /** The network loss is Σ tanh(Ŵ ⊙ ψ) ⊙ upstream. */
  upstream: Float32Array;
}

const shapeOf = (t: Tiling) => [t.blockRows * t.rowsPerBlock, t.blockCols * t.colsPerBlock];

/**
 * The budget term of CtfPruner.budgetTerm from its two masses: λ (kept − c)² / N, plus under a cap
 * the same on the FLOP mass while it exceeds its target.
 */
function budgetTerm(kept: Tensor, flops: Tensor, layers: readonly Layer[], cap: StepCase['cap']): Tensor {
  const sizes = layers.map(({ data }) => data.length);
  const total = sizes.reduce((a, b) => a + b);
  const capTotal = sizes.reduce((sum, n, i) => sum + n * CAP_COSTS[i], 0);
  const term = budgetLoss(kept, 0.3 * total, 1, total);
  if (cap === 'none') return term;
  const capTarget = (cap === 'active' ? 0.05 : 2) * capTotal;
  assert.equal(flops.item() > capTarget, cap === 'active', 'the FLOP cap is in the intended state');
  if (flops.item() <= capTarget) return term;
  return term.add(budgetLoss(flops, capTarget, 1, capTotal));
}

const COSTS = [1, 1];
const CAP_COSTS = [3, 0.5];

/**
 * Effective weights, masses and loss of one pruning step on two layers: fused (ctfMaskedWeight,
 * weightedMass) or composed as the pruner did before (weight.mul(ctfMask), maskMass). The scale of
 * each layer is its mean square (the pruner's 'dynamic' scale, a constant to the gradient) unless
 * `scale` fixes it.
 */
function stepLoss(
  fused: boolean,
  layers: readonly Layer[],
  weights: readonly Tensor[],
  sigma: number,
  variant: CtfVariant,
  { network, budget, cap }: StepCase,
  scale?: number,
) {
  const options = layers.map(({ data }) => ({ sigma, scale: scale ?? meanSquare(data), variant }));
  let effective: Tensor[];
  let mass: (costs: readonly number[]) => Tensor;
  if (fused) {
    const masked = weights.map((w, i) => ctfMaskedWeight(w, layers[i].t, options[i]));
    effective = masked.map((m) => m.weight);
    mass = (costs) => weightedMass(masked.map((m, i) => ({ mass: m.mass, weight: costs[i] })));
  } else {
    const psis = weights.map((w, i) => ctfMask(w, layers[i].t, options[i]));
    effective = weights.map((w, i) => w.mul(psis[i]));
    mass = (costs) => maskMass(psis.map((psi, i) => ({ psi, weight: costs[i] })));
  }
  const kept = mass(COSTS);
  const flops = mass(CAP_COSTS);
  const terms: Tensor[] = [];
  if (network) {
    layers.forEach(({ upstream, t }, i) => {
      terms.push(sum(mul(tanh(effective[i]), tensor(upstream, shapeOf(t)))).reshape([1]));
    });
  }
  if (budget) terms.push(budgetTerm(kept, flops, layers, cap));
  return { effective, kept, flops, loss: terms.reduce((a, b) => a.add(b)) };
}

/** stepLoss, and dŴ of its loss. */
function pruningStep(
  fused: boolean,
  layers: readonly Layer[],
  sigma: number,
  variant: CtfVariant,
  stepCase: StepCase,
  scale?: number,
) {
  return tidy(() => {
    const weights = layers.map(({ data, t }) => new Parameter(shapeOf(t), data.slice()));
    const { effective, kept, flops, loss } = stepLoss(
      fused,
      layers,
      weights,
      sigma,
      variant,
      stepCase,
      scale,
    );
    loss.backward();
    const result = {
      effective: effective.map((e) => e.data.slice()),
      kept: kept.item(),
      flops: flops.item(),
      loss: loss.item(),
      grads: weights.map((w) => w.grad!.data.slice()),
    };
    for (const w of weights) {
      w.grad!.dispose();
      w.dispose();
    }
    return result;
  });
}

const stepCases: [string, StepCase][] = [
  ['network loss + budget, FLOP cap active', { network: true, budget: true, cap: 'active' }],
  ['network loss + budget, FLOP cap inactive', { network: true, budget: true, cap: 'inactive' }],
  [
    'budget alone (the effective weights get no gradient), FLOP cap active',
    {
      network: false,
      budget: true,
      cap: 'active',
    },
  ],
  ['budget alone, no FLOP cap', { network: false, budget: true, cap: 'none' }],
  ['network loss alone (the masses get no gradient)', { network: true, budget: false, cap: 'none' }],
];

function assertRelative(actual: number, expected: number, label: string, rtol = 1e-5): void {
  assert.ok(
    Math.abs(actual - expected) <= rtol * Math.abs(expected) + 1e-12,
    `${label}: got ${actual}, expected ${expected}`,
  );
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

    for (const [index, [name, t]] of tilings.entries()) {
      const [, other] = tilings[(index + 1) % tilings.length];
      for (const variant of variants) {
        it(`${variant}, ${name} with ${tilings[(index + 1) % tilings.length][0]}: the effective weight, masses and dŴ match the composed ops`, () => {
          useKernels(backend);
          try {
            const rng = new Rng(index * 7 + variant.length);
            const layers = [t, other].map((tiling) => {
              const n = tiling.blockRows * tiling.rowsPerBlock * tiling.blockCols * tiling.colsPerBlock;
              return { t: tiling, data: gaussian(n, rng, 0.5), upstream: gaussian(n, rng, 1) };
            });
            for (const sigma of [0.3, 0.05]) {
              for (const [caseName, stepCase] of stepCases) {
                const label = `σ ${sigma}, ${caseName}`;
                const fused = pruningStep(true, layers, sigma, variant, stepCase);
                const reference = pruningStep(false, layers, sigma, variant, stepCase);
                fused.effective.forEach((e, i) => {
                  assertNear(e, reference.effective[i], `Ŵ⊙ψ ${i} (${label})`);
                });
                assertRelative(fused.kept, reference.kept, `kept mass (${label})`);
                assertRelative(fused.flops, reference.flops, `FLOP mass (${label})`);
                assertRelative(fused.loss, reference.loss, `loss (${label})`);
                fused.grads.forEach((g, i) => {
                  assertNear(g, reference.grads[i], `dŴ ${i} (${label})`, 1e-4);
                });
              }
            }
          } finally {
            useKernels(defaultKernels);
          }
        });
      }
    }

    it('the masked-weight passes split into row ranges give the whole-matrix result', () => {
      const k = backend;
      const heap = k.heap;
      const t = tile(3, 3, 2, 5);
      const [rows, cols] = [9, 10];
      const n = rows * cols;
      const rng = new Rng(9);
      for (const variant of variants) {
        const layout = { ...t, gain: 1.7, variant };
        const allocated: number[] = [];
        const alloc = (size: number, values?: Float32Array) => {
          const ptr = heap.alloc(size);
          heap.f32.fill(Number.NaN, ptr, ptr + size);
          if (values) heap.f32.set(values, ptr);
          allocated.push(ptr);
          return ptr;
        };
        const vectors = () => ({ rows: alloc(rows), cols: alloc(cols), blocks: alloc(6) });
        const w = alloc(n, gaussian(n, rng, 0.8));
        const g = alloc(n, gaussian(n, rng, 1));
        const [factors, coefficients] = [vectors(), vectors()];
        const [scratch, scratch2] = [alloc(2 * cols), alloc(2 * cols)];
        const [out, outSplit, entry, entrySplit, psi] = [0, 0, 0, 0, 0].map(() => alloc(n));
        const [sums, sumsSplit] = [alloc(rows), alloc(rows)];
        const f = heap.f32;
        const read = (ptr: number, size = n) => f.slice(ptr, ptr + size);
        k.ctfMaskStats(layout, w, factors, scratch);
        k.ctfMask(layout, w, factors, scratch, psi, null, 0, rows);
        k.ctfMaskedWeight(layout, w, factors, scratch, out, entry, sums, 0, rows);
        for (const [start, end] of [
          [0, 4],
          [4, 5],
          [5, 9],
        ]) {
          const s = start === 4 ? scratch2 : scratch;
          k.ctfMaskedWeight(layout, w, factors, s, outSplit, entrySplit, sumsSplit, start, end);
        }
        assert.deepEqual(read(outSplit), read(out), `${variant} Ŵ⊙ψ`);
        assert.deepEqual(read(sumsSplit, rows), read(sums, rows), `${variant} Σψ per row`);
        if (variant !== 'coarse') assert.deepEqual(read(entrySplit), read(entry), `${variant} entry`);
        // Ŵ⊙ψ is the float32 product of Ŵ and ctfMask's ψ; the row sums are ψ's.
        const [wv, psiv] = [read(w), read(psi)];
        assert.deepEqual(
          read(out),
          Float32Array.from(wv, (v, i) => v * psiv[i]),
          `${variant} Ŵ⊙ψ = Ŵ·ψ`,
        );
        for (let i = 0; i < rows; i++) {
          const expected = psiv.subarray(i * cols, (i + 1) * cols).reduce((a, b) => a + b, 0);
          assertRelative(f[sums + i], expected, `${variant} Σψ of row ${i}`, 1e-6);
        }
        for (const grad of [g, null]) {
          const [dw, dwSplit] = [alloc(n), alloc(n)];
          k.ctfMaskedWeightBackwardStats(layout, grad, 0.37, w, entry, factors, coefficients, scratch);
          k.ctfMaskedWeightBackward(
            layout,
            grad,
            0.37,
            w,
            entry,
            factors,
            coefficients,
            scratch,
            dw,
            0,
            rows,
          );
          for (const [start, end] of [
            [0, 2],
            [2, 7],
            [7, 9],
          ]) {
            const s = start === 2 ? scratch2 : scratch;
            k.ctfMaskedWeightBackward(
              layout,
              grad,
              0.37,
              w,
              entry,
              factors,
              coefficients,
              s,
              dwSplit,
              start,
              end,
            );
          }
          assert.deepEqual(read(dwSplit), read(dw), `${variant} dŴ (${grad === null ? 'mass' : 'weight'})`);
          assert.ok(read(dw).every(Number.isFinite), `${variant} dŴ finite`);
        }
        for (const ptr of allocated) heap.free(ptr);
      }
    });

    it('the fused pruning step matches central differences', () => {
      useKernels(backend);
      try {
        const layers = [tile(2, 3, 2, 5), tile(1, 4, 3, 1)];
        const stepCase: StepCase = { network: true, budget: true, cap: 'active' };
        for (const variant of variants) {
          const rng = new Rng(23 + variant.length);
          const data = layers.map((t) => {
            const n = t.blockRows * t.rowsPerBlock * t.blockCols * t.colsPerBlock;
            return { t, data: gaussian(n, rng, 0.6), upstream: gaussian(n, rng, 1) };
          });
          const { grads } = pruningStep(true, data, 0.25, variant, stepCase, 1);
          const objective = (probe: Layer[]) =>
            noGrad(() =>
              tidy(() => {
                const weights = probe.map(({ data, t }) => tensor(data, shapeOf(t)));
                return stepLoss(true, probe, weights, 0.25, variant, stepCase, 1).loss.item();
              }),
            );
          data.forEach((layer, l) => {
            for (let i = 0; i < layer.data.length; i++) {
              // Steps large enough that the float32 loss's rounding stays well below the tolerance.
              const h = 1e-2 * Math.max(0.3, Math.abs(layer.data[i]));
              const probe = (delta: number) => {
                const values = layer.data.slice();
                values[i] += delta;
                const copy = data.map((d, j) => (j === l ? { ...d, data: values } : d));
                return { value: objective(copy), step: values[i] - layer.data[i] };
              };
              const up = probe(h);
              const down = probe(-h);
              const numeric = (up.value - down.value) / (up.step - down.step);
              const analytic = grads[l][i];
              const tolerance = 5e-3 * Math.max(1, Math.abs(numeric), Math.abs(analytic));
              assert.ok(
                Math.abs(numeric - analytic) <= tolerance,
                `${variant} layer ${l} element ${i}: analytic ${analytic}, numeric ${numeric}`,
              );
            }
          });
        }
      } finally {
        useKernels(defaultKernels);
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

/** The masked-weight passes of a layer on `k`: Ŵ⊙ψ, entry, row sums, dŴ with and without g. */
function maskedWeightPasses(k: Kernels, t: Tiling, data: Float32Array, upstream: Float32Array) {
  const heap = k.heap;
  const [rows, cols] = shapeOf(t);
  const n = rows * cols;
  const allocated: number[] = [];
  const alloc = (size: number, values?: Float32Array) => {
    const ptr = heap.alloc(size);
    if (values) heap.f32.set(values, ptr);
    allocated.push(ptr);
    return ptr;
  };
  const blocks = t.blockRows * t.blockCols;
  const vectors = () => ({ rows: alloc(rows), cols: alloc(cols), blocks: alloc(blocks) });
  const layout = { ...t, gain: 1.3, variant: 'full' as const };
  const [w, g] = [alloc(n, data), alloc(n, upstream)];
  const [factors, coefficients] = [vectors(), vectors()];
  const [scratch, out, entry, sums] = [alloc(2 * cols), alloc(n), alloc(n), alloc(rows)];
  const [dw, dwMass] = [alloc(n), alloc(n)];
  k.ctfMaskStats(layout, w, factors, scratch);
  k.ctfMaskedWeight(layout, w, factors, scratch, out, entry, sums, 0, rows);
  for (const [grad, target] of [
    [g, dw],
    [null, dwMass],
  ] as const) {
    k.ctfMaskedWeightBackwardStats(layout, grad, 0.01, w, entry, factors, coefficients, scratch);
    k.ctfMaskedWeightBackward(layout, grad, 0.01, w, entry, factors, coefficients, scratch, target, 0, rows);
  }
  const read = (ptr: number, size = n) => heap.f32.slice(ptr, ptr + size);
  const result = {
    out: read(out),
    entry: read(entry),
    sums: read(sums, rows),
    dw: read(dw),
    dwMass: read(dwMass),
  };
  for (const ptr of allocated) heap.free(ptr);
  return result;
}

describe('fused CTF effective weight on worker threads', () => {
  it('a layer the pool splits by rows gives the single-threaded result bit for bit', async (context) => {
    if (defaultKernels.name !== 'wasm-simd' || defaultKernels.threads < 2) {
      context.skip('the default kernels have no worker threads');
      return;
    }
    await (defaultKernels as Kernels & { whenReady?: () => Promise<void> }).whenReady?.();
    const single = createKernelsSync({ backend: 'wasm', memory, threads: 1 });
    const t = tile(64, 4, 128, 4);
    const n = 256 * 512;
    const rng = new Rng(31);
    const [data, upstream] = [gaussian(n, rng, 0.5), gaussian(n, rng, 1)];
    const threaded = maskedWeightPasses(defaultKernels, t, data, upstream);
    const reference = maskedWeightPasses(single, t, data, upstream);
    for (const key of Object.keys(reference) as (keyof typeof reference)[]) {
      assert.deepEqual(threaded[key], reference[key], key);
    }
  });
});
