/**
 * The coarse-to-fine (CTF) mask of Sahbi (CBMI 2024), as read in docs/paper.md §2: for a latent
 * weight Ŵ [m, n] with a block tiling, x = Ŵ² / s (s a per-layer scale, 1 in the paper's formula) and
 *
 *   φ(v) = 2·sigmoid(v/σ) − 1              (computed as tanh(v / 2σ): equal, and exact near 0)
 *   ψ_ij = φ(mean_B x) · φ(mean_j x) · φ(mean_i x) · φ(x_ij)     block · row · column · entry
 *
 * The effective weight is Ŵ ⊙ ψ(Ŵ). The ablations keep only the entry factor (fine) or only the
 * block, row and column factors (coarse). Everything is composed from engine ops on the exact 4-D
 * view [blockRows, rowsPerBlock, blockCols, colsPerBlock], so gradients come for free.
 */
import { mean, sum, type Tensor, tanh } from '../engine/index.js';
import type { Tiling } from '../model/layers.js';

export type CtfVariant = 'full' | 'fine' | 'coarse';

export interface CtfMaskOptions {
  /** Temperature: small σ makes the mask crisp. */
  sigma: number;
  /** Divides the squared weights before φ (per-layer scale; 1 reproduces the paper's formula). */
  scale: number;
  variant: CtfVariant;
}

/** ψ(Ŵ) for one weight matrix, same shape as the weight. */
export function ctfMask(weight: Tensor, t: Tiling, { sigma, scale, variant }: CtfMaskOptions): Tensor {
  const [rows, cols] = weight.shape;
  const x = weight.square().reshape([t.blockRows, t.rowsPerBlock, t.blockCols, t.colsPerBlock]);
  const phi = (v: Tensor) => tanh(v.mul(1 / (2 * sigma * scale)));
  const factors: Tensor[] = [];
  if (variant !== 'coarse') factors.push(phi(x));
  if (variant !== 'fine') {
    factors.push(phi(mean(x, [1, 3], true)), phi(mean(x, [2, 3], true)), phi(mean(x, [0, 1], true)));
  }
  // Multiply the full-size factor first so broadcasting allocates the output only once per product.
  const psi = factors.reduce((product, f) => product.mul(f));
  return psi.reshape([rows, cols]);
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
