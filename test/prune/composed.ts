/** The pruner's budget mass as it was composed from engine ops before the fused kernels: a reference. */
import { sum, type Tensor } from '../../src/engine/index.js';

/** Σ_ℓ w_ℓ Σψ_ℓ of whole masks ψ_ℓ. */
export function maskMass(masks: readonly { psi: Tensor; weight: number }[]): Tensor {
  return masks.map(({ psi, weight }) => sum(psi).mul(weight)).reduce((a, b) => a.add(b));
}
