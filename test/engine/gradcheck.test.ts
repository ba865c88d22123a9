/**
 * Finite-difference gradient checks: for every op, the analytic gradient of Σ out ⊙ R (R random)
 * matches central differences computed in float64 from float32 forward passes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  abs,
  add,
  concat,
  crossEntropy,
  div,
  dropout,
  exp,
  gather,
  IntTensor,
  layerNorm,
  log,
  logSoftmax,
  matmul,
  max,
  mean,
  mul,
  neg,
  noGrad,
  Parameter,
  permute,
  Rng,
  relu,
  reshape,
  rsub,
  sigmoid,
  slice,
  softmax,
  sqrt,
  square,
  stack,
  sub,
  sum,
  type Tensor,
  tanh,
  tensor,
  tidy,
  transpose,
  where,
} from '../../src/engine/index.js';

type Domain = 'any' | 'positive' | 'awayFromZero' | 'distinct';

interface Case {
  name: string;
  shapes: number[][];
  fn: (xs: Tensor[]) => Tensor;
  domain?: Domain;
}

function sample(shape: number[], rng: Rng, domain: Domain): Float32Array {
  const n = shape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.range(-1.5, 1.5);
    if (domain === 'positive') out[i] = 0.3 + Math.abs(u);
    else if (domain === 'awayFromZero') out[i] = Math.sign(u || 1) * (0.2 + Math.abs(u));
    else if (domain === 'distinct') out[i] = ((i * 0.37) % 1.3) + u * 1e-3 + i * 1e-2;
    else out[i] = u;
  }
  return out;
}

/** Σ out ⊙ R in float64, without recording a graph. */
function objective(fn: Case['fn'], params: Tensor[], weights: Float32Array): number {
  return noGrad(() =>
    tidy(() => {
      const out = fn(params).data;
      let total = 0;
      for (let i = 0; i < out.length; i++) total += out[i] * weights[i];
      return total;
    }),
  );
}

function gradcheck({ fn, shapes, domain = 'any', name }: Case): void {
  const rng = new Rng(name.length * 7919);
  const params = shapes.map((s) => new Parameter(s, sample(s, rng, domain)));
  tidy(() => {
    const out = fn(params);
    const weights = sample([out.size], rng, 'any');
    const loss = sum(mul(out, tensor(weights, out.shape)));
    loss.backward();
    params.forEach((p, index) => {
      const analytic = p.grad!.toArray();
      const data = p.data;
      const probes = Math.min(p.size, 40);
      for (let probe = 0; probe < probes; probe++) {
        const i = p.size <= 40 ? probe : rng.int(p.size);
        const original = data[i];
        const h = 1e-2 * Math.max(1, Math.abs(original));
        data[i] = original + h;
        const up = objective(fn, params, weights);
        const hUp = data[i] - original;
        data[i] = original - h;
        const down = objective(fn, params, weights);
        const hDown = original - data[i];
        data[i] = original;
        const numeric = (up - down) / (hUp + hDown);
        const tolerance = 5e-3 * Math.max(1, Math.abs(numeric), Math.abs(analytic[i]));
        assert.ok(
          Math.abs(numeric - analytic[i]) <= tolerance,
          `${name}: input ${index} element ${i}: analytic ${analytic[i]}, numeric ${numeric}`,
        );
      }
    });
  });
}

const cases: Case[] = [
  {
    name: 'add broadcast',
    shapes: [
      [2, 3, 4],
      [3, 1],
    ],
    fn: ([a, b]) => add(a, b),
  },
  { name: 'add scalar', shapes: [[3, 4]], fn: ([a]) => add(a, 2.5) },
  { name: 'sub broadcast', shapes: [[4], [2, 3, 4]], fn: ([a, b]) => sub(a, b) },
  { name: 'rsub', shapes: [[5]], fn: ([a]) => rsub(1, a) },
  {
    name: 'mul broadcast',
    shapes: [
      [2, 1, 4],
      [3, 1],
    ],
    fn: ([a, b]) => mul(a, b),
  },
  { name: 'div broadcast', shapes: [[2, 3], [3]], fn: ([a, b]) => div(a, b), domain: 'positive' },
  { name: 'div scalar', shapes: [[6]], fn: ([a]) => div(a, 3) },
  { name: 'neg', shapes: [[7]], fn: ([a]) => neg(a) },
  { name: 'exp', shapes: [[3, 5]], fn: ([a]) => exp(a) },
  { name: 'log', shapes: [[3, 5]], fn: ([a]) => log(a), domain: 'positive' },
  { name: 'abs', shapes: [[3, 5]], fn: ([a]) => abs(a), domain: 'awayFromZero' },
  { name: 'sqrt', shapes: [[3, 5]], fn: ([a]) => sqrt(a), domain: 'positive' },
  { name: 'square', shapes: [[3, 5]], fn: ([a]) => square(a) },
  { name: 'relu', shapes: [[4, 5]], fn: ([a]) => relu(a), domain: 'awayFromZero' },
  { name: 'sigmoid', shapes: [[4, 5]], fn: ([a]) => sigmoid(a) },
  { name: 'tanh', shapes: [[4, 5]], fn: ([a]) => tanh(a) },
  { name: 'sum axes 0,2', shapes: [[2, 3, 4]], fn: ([a]) => sum(a, [0, 2]) },
  { name: 'sum keepdims', shapes: [[2, 3, 4]], fn: ([a]) => sum(a, 1, true) },
  { name: 'sum all', shapes: [[2, 3]], fn: ([a]) => sum(a) },
  { name: 'mean axis -1', shapes: [[3, 4]], fn: ([a]) => mean(a, -1) },
  { name: 'max axis 1', shapes: [[2, 5, 3]], fn: ([a]) => max(a, 1), domain: 'distinct' },
  { name: 'max all', shapes: [[4, 3]], fn: ([a]) => max(a), domain: 'distinct' },
  {
    name: 'matmul 2-D',
    shapes: [
      [3, 5],
      [5, 4],
    ],
    fn: ([a, b]) => matmul(a, b),
  },
  {
    name: 'matmul batched',
    shapes: [
      [2, 3, 5],
      [2, 5, 4],
    ],
    fn: ([a, b]) => matmul(a, b),
  },
  {
    name: 'matmul shared left',
    shapes: [
      [4, 4],
      [3, 4, 2],
    ],
    fn: ([a, b]) => matmul(a, b),
  },
  {
    name: 'matmul shared right',
    shapes: [
      [2, 3, 5],
      [5, 4],
    ],
    fn: ([a, b]) => matmul(a, b),
  },
  { name: 'reshape', shapes: [[2, 6]], fn: ([a]) => mul(reshape(a, [3, -1]), tensor([1, 2, 3, 4], [1, 4])) },
  { name: 'permute', shapes: [[2, 3, 4]], fn: ([a]) => permute(a, [2, 0, 1]) },
  { name: 'transpose', shapes: [[3, 4]], fn: ([a]) => transpose(a) },
  { name: 'slice axis 0', shapes: [[5, 3]], fn: ([a]) => slice(a, 0, 1, 4) },
  { name: 'slice axis 1', shapes: [[2, 5, 3]], fn: ([a]) => slice(a, 1, -3, 5) },
  {
    name: 'concat',
    shapes: [
      [2, 3],
      [2, 2],
    ],
    fn: ([a, b]) => concat([a, b], 1),
  },
  {
    name: 'stack',
    shapes: [
      [2, 3],
      [2, 3],
    ],
    fn: ([a, b]) => stack([a, b], 1),
  },
  { name: 'gather with repeats', shapes: [[4, 3]], fn: ([a]) => gather(a, 0, [3, 0, 3, 1]) },
  { name: 'softmax middle axis', shapes: [[2, 4, 3]], fn: ([a]) => softmax(a, 1) },
  { name: 'logSoftmax', shapes: [[3, 5]], fn: ([a]) => logSoftmax(a) },
  {
    name: 'crossEntropy smoothed',
    shapes: [[4, 5]],
    fn: ([a]) => crossEntropy(a, new IntTensor([1, 4, 0, 2]), { labelSmoothing: 0.1 }),
  },
  { name: 'layerNorm affine', shapes: [[3, 6], [6], [6]], fn: ([x, w, b]) => layerNorm(x, w, b) },
  { name: 'dropout fixed mask', shapes: [[4, 6]], fn: ([a]) => dropout(a, 0.3, new Rng(11)) },
  {
    name: 'where',
    shapes: [
      [2, 3],
      [2, 3],
    ],
    fn: ([a, b]) => where(tensor([1, 0, 1, 0, 0, 1], [2, 3]), a, b),
  },
];

describe('finite-difference gradient checks', () => {
  for (const c of cases) it(c.name, () => gradcheck(c));
});
