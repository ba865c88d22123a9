/**
 * The coarse-to-fine (CTF) mask of Sahbi (CBMI 2024), as read in docs/paper.md §2: for a latent
 * weight Ŵ [m, n] with a block tiling, x = Ŵ² / s (s a per-layer scale, 1 in the paper's formula) and
 *
 *   φ(v) = 2·sigmoid(v/σ) − 1              (computed as tanh(v / 2σ): equal, and exact near 0)
 *   ψ_ij = φ(mean_B x) · φ(mean_j x) · φ(mean_i x) · φ(x_ij)     block · row · column · entry
 *
 * The effective weight is Ŵ ⊙ ψ(Ŵ) (ctfMaskedWeight, which also gives Σψ for the budget term). The
 * ablations keep only the entry factor (fine) or only the block, row and column factors (coarse).
 * The means are over the exact 4-D view [blockRows, rowsPerBlock, blockCols, colsPerBlock]: the
 * block's entries, the whole row, the whole column.
 */
import { isGradEnabled } from '../engine/autograd.js';
import { customGrad, customGradOutputs, kernels, ShapeError, scalar, Tensor } from '../engine/index.js';
import type { Tiling } from '../model/layers.js';

export type CtfVariant = 'full' | 'fine' | 'coarse';

export interface CtfMaskOptions {
  /** Temperature: small σ makes the mask crisp. */
  sigma: number;
  /** Divides the squared weights before φ (per-layer scale; 1 reproduces the paper's formula). */
  scale: number;
  variant: CtfVariant;
}

/**
 * ψ(Ŵ) for one weight matrix, same shape as the weight.
 *
 * Fused: one statistics pass (row, column and block means) and one element-wise pass forward, and the
 * same two backward, on dedicated kernels (Kernels.ctfMask*). Composed from generic ops, the mask
 * took ~15 full-size ops each way (squares, broadcast products, reductions, tanh and their
 * gradients), more than half of a pruning training step; fused, it reads and writes each weight a
 * few times. The backward keeps the entry factor φ(x) from the forward ('full'; for 'fine' it is ψ).
 */
export function ctfMask(weight: Tensor, t: Tiling, options: CtfMaskOptions): Tensor {
  const { variant } = options;
  const { rows, cols, layout, hasFactors, vectors, pointers } = maskSetup('ctfMask', weight, t, options);
  const factors = hasFactors ? vectors() : null;
  // The entry factor φ(x) for the backward pass, when there is one ('fine': ψ itself).
  const entry =
    variant === 'full' && weight.requiresGrad && isGradEnabled() ? Tensor.empty([rows, cols]) : null;
  return customGrad(
    'ctfMask',
    [weight],
    () => {
      const k = kernels();
      const psi = Tensor.empty([rows, cols]);
      const scratch = Tensor.empty([2 * cols]);
      if (factors) k.ctfMaskStats(layout, weight.ptr, pointers(factors), scratch.ptr);
      k.ctfMask(layout, weight.ptr, pointers(factors), scratch.ptr, psi.ptr, entry?.ptr ?? null, 0, rows);
      scratch.dispose();
      return psi;
    },
    (grad, psi) => {
      const k = kernels();
      const dw = Tensor.empty([rows, cols]);
      const scratch = Tensor.empty([2 * cols]);
      const e = entry?.ptr ?? psi.ptr;
      const coefficients = hasFactors ? vectors() : null;
      if (coefficients) {
        k.ctfMaskBackwardStats(layout, grad.ptr, e, pointers(factors), pointers(coefficients), scratch.ptr);
      }
      k.ctfMaskBackward(
        layout,
        grad.ptr,
        e,
        weight.ptr,
        pointers(factors),
        pointers(coefficients),
        scratch.ptr,
        dw.ptr,
        0,
        rows,
      );
      scratch.dispose();
      if (coefficients) for (const v of Object.values(coefficients)) v.dispose();
      return [dw];
    },
  );
}

/** The shape check, kernel layout and per-row/column/block vectors shared by the mask ops. */
function maskSetup(op: string, weight: Tensor, t: Tiling, { sigma, scale, variant }: CtfMaskOptions) {
  const [rows, cols] = weight.shape;
  if (weight.rank !== 2 || rows !== t.blockRows * t.rowsPerBlock || cols !== t.blockCols * t.colsPerBlock) {
    throw new ShapeError(
      `${op}: a ${t.blockRows}×${t.blockCols} tiling of ${t.rowsPerBlock}×${t.colsPerBlock} blocks does not fit a weight of shape [${weight.shape.join(', ')}]`,
    );
  }
  const vectors = () => ({
    rows: Tensor.empty([rows]),
    cols: Tensor.empty([cols]),
    blocks: Tensor.empty([t.blockRows * t.blockCols]),
  });
  const pointers = (v: ReturnType<typeof vectors> | null) =>
    v ? { rows: v.rows.ptr, cols: v.cols.ptr, blocks: v.blocks.ptr } : { rows: 0, cols: 0, blocks: 0 };
  const layout = { ...t, gain: 1 / (2 * sigma * scale), variant };
  return { rows, cols, layout, hasFactors: variant !== 'fine', vectors, pointers };
}

/** The effective weight of a CTF-masked layer and the mass of its mask, from {@link ctfMaskedWeight}. */
export interface CtfMaskedWeight {
  /** Ŵ ⊙ ψ(Ŵ), what the layer computes with. */
  weight: Tensor;
  /** Σ_ij ψ_ij, a scalar: the soft count of kept weights. */
  mass: Tensor;
}

/**
 * Ŵ ⊙ ψ(Ŵ) and Σψ in one op: `weight.mul(ctfMask(…))` and `sum(ctfMask(…))`, fused. The forward is
 * the mask's statistics pass and one element-wise pass writing Ŵ ⊙ ψ and each row's Σψ (ψ itself is
 * never stored); the backward takes the gradients of both outputs at once (a multi-output op), so
 * the gradient of ψ, G ⊙ Ŵ + dΣψ, never exists as a tensor either: it is formed inside the mask's two
 * backward passes, whose element-wise pass also adds G ⊙ ψ. Either output may get no gradient (only
 * the budget term differentiated, or a loss without it); the result is the exact gradient of what was
 * differentiated.
 */
export function ctfMaskedWeight(weight: Tensor, t: Tiling, options: CtfMaskOptions): CtfMaskedWeight {
  const { rows, cols, layout, hasFactors, vectors, pointers } = maskSetup(
    'ctfMaskedWeight',
    weight,
    t,
    options,
  );
  const factors = hasFactors ? vectors() : null;
  // The entry factor φ(x) for the backward pass ('full' and 'fine'; 'coarse' has none).
  const entry =
    options.variant !== 'coarse' && weight.requiresGrad && isGradEnabled()
      ? Tensor.empty([rows, cols])
      : null;
  const [masked, mass] = customGradOutputs(
    'ctfMaskedWeight',
    [weight],
    () => {
      const k = kernels();
      const out = Tensor.empty([rows, cols]);
      const rowSums = Tensor.empty([rows]);
      const scratch = Tensor.empty([cols]);
      if (factors) k.ctfMaskStats(layout, weight.ptr, pointers(factors), scratch.ptr);
      k.ctfMaskedWeight(
        layout,
        weight.ptr,
        pointers(factors),
        scratch.ptr,
        out.ptr,
        entry?.ptr ?? null,
        rowSums.ptr,
        0,
        rows,
      );
      let total = 0;
      for (const v of rowSums.data) total += v;
      rowSums.dispose();
      scratch.dispose();
      return [out, scalar(total)];
    },
    ([grad, massGrad]) => {
      const k = kernels();
      const dw = Tensor.empty([rows, cols]);
      const scratch = Tensor.empty([2 * cols]);
      const g = grad?.ptr ?? null;
      const a = massGrad?.item() ?? 0;
      const e = entry?.ptr ?? 0;
      const coefficients = hasFactors ? vectors() : null;
      if (coefficients) {
        k.ctfMaskedWeightBackwardStats(
          layout,
          g,
          a,
          weight.ptr,
          e,
          pointers(factors),
          pointers(coefficients),
          scratch.ptr,
        );
      }
      k.ctfMaskedWeightBackward(
        layout,
        g,
        a,
        weight.ptr,
        e,
        pointers(factors),
        pointers(coefficients),
        scratch.ptr,
        dw.ptr,
        0,
        rows,
      );
      scratch.dispose();
      if (coefficients) for (const v of Object.values(coefficients)) v.dispose();
      return [dw];
    },
  );
  return { weight: masked, mass };
}

/** Σ_ℓ w_ℓ m_ℓ of scalar masses (the `mass` of {@link ctfMaskedWeight}), as one op. */
export function weightedMass(masses: readonly { mass: Tensor; weight: number }[]): Tensor {
  return customGrad(
    'weightedMass',
    masses.map(({ mass }) => mass),
    () => scalar(masses.reduce((total, { mass, weight }) => total + mass.item() * weight, 0)),
    (grad) => {
      const g = grad.item();
      return masses.map(({ weight }) => scalar(g * weight));
    },
  );
}

/**
 * The budget term λ (mass − c)² / normalizer: drives the mask mass to the target c. The paper's form
 * has normalizer 1; dividing by the number of prunable weights keeps λ meaningful across model sizes
 * (docs/paper.md §6).
 */
export function budgetLoss(mass: Tensor, target: number, lambda: number, normalizer = 1): Tensor {
  return mass
    .sub(target)
    .square()
    .mul(lambda / normalizer)
    .reshape([1]);
}
