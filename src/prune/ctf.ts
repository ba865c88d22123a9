/**
 * The coarse-to-fine (CTF) mask of Sahbi (CBMI 2024), as read in docs/paper.md §2: for a latent
 * weight Ŵ [m, n] with a block tiling, x = Ŵ² / s (s a per-layer scale, 1 in the paper's formula) and
 *
 *   φ(v) = 2·sigmoid(v/σ) − 1              (computed as tanh(v / 2σ): equal, and exact near 0)
 *   ψ_ij = φ(mean_B x) · φ(mean_j x) · φ(mean_i x) · φ(x_ij)     block · row · column · entry
 *
 * The effective weight is Ŵ ⊙ ψ(Ŵ). The ablations keep only the entry factor (fine) or only the
 * block, row and column factors (coarse). The means are over the exact 4-D view [blockRows,
 * rowsPerBlock, blockCols, colsPerBlock]: the block's entries, the whole row, the whole column.
 */
import { customGrad, kernels, ShapeError, sum, Tensor } from '../engine/index.js';
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
export function ctfMask(weight: Tensor, t: Tiling, { sigma, scale, variant }: CtfMaskOptions): Tensor {
  const [rows, cols] = weight.shape;
  if (weight.rank !== 2 || rows !== t.blockRows * t.rowsPerBlock || cols !== t.blockCols * t.colsPerBlock) {
    throw new ShapeError(
      `ctfMask: a ${t.blockRows}×${t.blockCols} tiling of ${t.rowsPerBlock}×${t.colsPerBlock} blocks does not fit a weight of shape [${weight.shape.join(', ')}]`,
    );
  }
  const layout = { ...t, gain: 1 / (2 * sigma * scale), variant };
  const hasFactors = variant !== 'fine';
  const vectors = () => ({
    rows: Tensor.empty([rows]),
    cols: Tensor.empty([cols]),
    blocks: Tensor.empty([t.blockRows * t.blockCols]),
  });
  const pointers = (v: ReturnType<typeof vectors> | null) =>
    v ? { rows: v.rows.ptr, cols: v.cols.ptr, blocks: v.blocks.ptr } : { rows: 0, cols: 0, blocks: 0 };
  const factors = hasFactors ? vectors() : null;
  // The entry factor φ(x) for the backward pass, when there is one ('fine': ψ itself).
  const entry = variant === 'full' && weight.requiresGrad ? Tensor.empty([rows, cols]) : null;
  return customGrad(
    'ctfMask',
    [weight],
    () => {
      const k = kernels();
      const psi = Tensor.empty([rows, cols]);
      const scratch = Tensor.empty([2 * cols]);
      if (factors) k.ctfMaskStats(layout, weight.ptr, pointers(factors), scratch.ptr);
      k.ctfMask(layout, weight.ptr, pointers(factors), scratch.ptr, psi.ptr, entry?.ptr ?? null, 0, rows);
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
      return [dw];
    },
  );
}

/** Σ_ℓ w_ℓ Σψ_ℓ: the (optionally cost-weighted) mass of the soft masks. */
export function maskMass(masks: readonly { psi: Tensor; weight: number }[]): Tensor {
  return masks.map(({ psi, weight }) => sum(psi).mul(weight)).reduce((a, b) => a.add(b));
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
