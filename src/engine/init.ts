/**
 * Weight initialisers with PyTorch's formulas. Weights are stored [fanIn, fanOut] (inputs times
 * weight, x · W), so fanIn is the first axis; for higher-rank weights the leading axes multiply in
 * as PyTorch's receptive field does.
 */
import type { Rng } from './random.js';
import type { Shape } from './shape.js';

/** The activation a layer feeds, for the gain of the Kaiming initialisers (`gain`). */
export type Nonlinearity = 'linear' | 'relu' | 'tanh' | 'sigmoid';

/** PyTorch's calculate_gain. */
export function gain(nonlinearity: Nonlinearity): number {
  return { linear: 1, sigmoid: 1, relu: Math.SQRT2, tanh: 5 / 3 }[nonlinearity];
}

/**
 * Fan-in and fan-out of a weight stored [..., fanIn, fanOut] (leading axes multiply both, as PyTorch's
 * receptive field); a 1-D or 0-D shape has its length (or 1) as both.
 */
export function fans(shape: Shape): {
  /** Inputs per output: the second-to-last axis times the leading axes. */
  fanIn: number;
  /** Outputs per input: the last axis times the leading axes. */
  fanOut: number;
} {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  const receptive = shape.slice(0, -2).reduce((p, d) => p * d, 1);
  return { fanIn: shape[shape.length - 2] * receptive, fanOut: shape[shape.length - 1] * receptive };
}

function fill(shape: Shape, draw: () => number): Float32Array {
  const size = shape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = draw();
  return out;
}

/** Glorot/Xavier uniform: U(−a, a), a = gain·√(6 / (fanIn + fanOut)). */
export function glorotUniform(shape: Shape, rng: Rng, g = 1): Float32Array {
  const { fanIn, fanOut } = fans(shape);
  const a = g * Math.sqrt(6 / (fanIn + fanOut));
  return fill(shape, () => rng.range(-a, a));
}

/** Glorot/Xavier normal: N(0, gain²·2 / (fanIn + fanOut)). */
export function glorotNormal(shape: Shape, rng: Rng, g = 1): Float32Array {
  const { fanIn, fanOut } = fans(shape);
  const std = g * Math.sqrt(2 / (fanIn + fanOut));
  return fill(shape, () => rng.normal(0, std));
}

/** Kaiming/He uniform over fanIn: U(−b, b), b = gain·√(3 / fanIn). */
export function kaimingUniform(shape: Shape, rng: Rng, nonlinearity: Nonlinearity = 'relu'): Float32Array {
  const bound = gain(nonlinearity) * Math.sqrt(3 / fans(shape).fanIn);
  return fill(shape, () => rng.range(-bound, bound));
}

/** Kaiming/He normal over fanIn: N(0, gain² / fanIn). */
export function kaimingNormal(shape: Shape, rng: Rng, nonlinearity: Nonlinearity = 'relu'): Float32Array {
  const std = gain(nonlinearity) / Math.sqrt(fans(shape).fanIn);
  return fill(shape, () => rng.normal(0, std));
}

/** U(−1/√fanIn, 1/√fanIn): PyTorch's default for Linear biases. */
export function fanInUniform(shape: Shape, fanIn: number, rng: Rng): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  return fill(shape, () => rng.range(-bound, bound));
}
