// Optimizer steps (PyTorch semantics, see types.ts), four parameters per iteration. The caller
// computes every derived coefficient (1 − β, bias corrections) in f64: rounding β to f32 first and
// subtracting from 1 would be off by up to 1e-4 relative for β2 = 0.999.
import { loadChunk, storeChunk } from './math';

/**
 * Adam/AdamW: p ← p·keep − stepSize · m / (√v · inverseCorrection2Sqrt + eps) after updating m, v with
 * the gradient g + coupledDecay · p.
 */
export function adam(
  p: usize,
  g: usize,
  m: usize,
  v: usize,
  n: i32,
  beta1: f32,
  oneMinusBeta1: f32,
  beta2: f32,
  oneMinusBeta2: f32,
  eps: f32,
  coupledDecay: f32,
  keep: f32,
  stepSize: f32,
  inverseCorrection2Sqrt: f32,
): void {
  const b1 = f32x4.splat(beta1);
  const b2 = f32x4.splat(beta2);
  const oneMinusB1 = f32x4.splat(oneMinusBeta1);
  const oneMinusB2 = f32x4.splat(oneMinusBeta2);
  const epsV = f32x4.splat(eps);
  const decay = f32x4.splat(coupledDecay);
  const keepV = f32x4.splat(keep);
  const step = f32x4.splat(stepSize);
  const inverseCorrection = f32x4.splat(inverseCorrection2Sqrt);
  for (let i = 0; i < n; i += 4) {
    const count = n - i;
    const offset = <usize>i * 4;
    const param = loadChunk(p + offset, count);
    const grad = f32x4.add(loadChunk(g + offset, count), f32x4.mul(decay, param));
    const first = f32x4.add(f32x4.mul(b1, loadChunk(m + offset, count)), f32x4.mul(oneMinusB1, grad));
    const second = f32x4.add(
      f32x4.mul(b2, loadChunk(v + offset, count)),
      f32x4.mul(f32x4.mul(oneMinusB2, grad), grad),
    );
    // A multiply where PyTorch divides: one division less per vector, within 1 ulp of the same.
    const denom = f32x4.add(f32x4.mul(f32x4.sqrt(second), inverseCorrection), epsV);
    const updated = f32x4.sub(f32x4.mul(param, keepV), f32x4.div(f32x4.mul(step, first), denom));
    storeChunk(m + offset, first, count);
    storeChunk(v + offset, second, count);
    storeChunk(p + offset, updated, count);
  }
}

/**
 * SGD: g' = g + wd·p; with momentum, buf = firstStep ? g' : momentum·buf + oneMinusDampening·g' and
 * g' = nesterov ? g' + momentum·buf : buf; then p −= lr · g'.
 */
export function sgd(
  p: usize,
  g: usize,
  buf: usize,
  n: i32,
  lr: f32,
  momentum: f32,
  oneMinusDampening: f32,
  weightDecay: f32,
  nesterov: bool,
  firstStep: bool,
): void {
  const lrV = f32x4.splat(lr);
  const momentumV = f32x4.splat(momentum);
  const keepGrad = f32x4.splat(oneMinusDampening);
  const decay = f32x4.splat(weightDecay);
  for (let i = 0; i < n; i += 4) {
    const count = n - i;
    const offset = <usize>i * 4;
    const param = loadChunk(p + offset, count);
    let grad = f32x4.add(loadChunk(g + offset, count), f32x4.mul(decay, param));
    if (momentum != 0) {
      const velocity = firstStep
        ? grad
        : f32x4.add(f32x4.mul(momentumV, loadChunk(buf + offset, count)), f32x4.mul(keepGrad, grad));
      storeChunk(buf + offset, velocity, count);
      grad = nesterov ? f32x4.add(grad, f32x4.mul(momentumV, velocity)) : velocity;
    }
    storeChunk(p + offset, f32x4.sub(param, f32x4.mul(lrV, grad)), count);
  }
}
