import { after, describe, it } from 'node:test';
import type { AdamParams, SgdParams } from '../../src/kernels/types.js';
import { assertClose, filled, heap, Rng, randomBuffer, read, threaded, ts, wasm } from './helpers.js';

after(() => threaded.dispose());

const N = 37;
const STEPS = 5;

interface AdamState {
  p: number[];
  m: number[];
  v: number[];
}

/** PyTorch's Adam/AdamW step, written out in float64. */
function adamReference(state: AdamState, grad: number[], h: AdamParams): void {
  const correction1 = 1 - h.beta1 ** h.step;
  const correction2 = 1 - h.beta2 ** h.step;
  state.p.forEach((param, i) => {
    let g = grad[i];
    let p = param;
    if (h.decoupled) p *= 1 - h.lr * h.weightDecay;
    else g += h.weightDecay * param;
    state.m[i] = h.beta1 * state.m[i] + (1 - h.beta1) * g;
    state.v[i] = h.beta2 * state.v[i] + (1 - h.beta2) * g * g;
    const denom = Math.sqrt(state.v[i]) / Math.sqrt(correction2) + h.eps;
    state.p[i] = p - (h.lr / correction1) * (state.m[i] / denom);
  });
}

/** PyTorch's SGD step in float64. */
function sgdReference(p: number[], buf: number[], grad: number[], h: SgdParams): void {
  p.forEach((param, i) => {
    let g = grad[i] + h.weightDecay * param;
    if (h.momentum !== 0) {
      buf[i] = h.firstStep ? g : h.momentum * buf[i] + (1 - h.dampening) * g;
      g = h.nesterov ? g + h.momentum * buf[i] : buf[i];
    }
    p[i] = param - h.lr * g;
  });
}

describe('optimizers against a float64 reference', () => {
  const rng = new Rng(31);
  const variants: [string, Omit<AdamParams, 'step'>][] = [
    ['Adam', { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false }],
    ['Adam + L2', { lr: 1e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, decoupled: false }],
    ['AdamW', { lr: 3e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, decoupled: true }],
  ];

  for (const [label, hyper] of variants) {
    it(`${label} follows the PyTorch update for ${STEPS} steps`, () => {
      for (const kernels of [wasm, ts]) {
        const p = randomBuffer(rng, N);
        const [m, v] = [filled(N, 0), filled(N, 0)];
        const state: AdamState = {
          p: Array.from(read(p, N)),
          m: new Array(N).fill(0),
          v: new Array(N).fill(0),
        };
        for (let step = 1; step <= STEPS; step++) {
          const g = randomBuffer(rng, N);
          const params = { ...hyper, step };
          kernels.adam(p, g, m, v, N, params);
          adamReference(state, Array.from(read(g, N)), params);
          heap.free(g);
        }
        assertClose(read(p, N), state.p, 1e-5, `${kernels.name} ${label} p`, 1);
        assertClose(read(m, N), state.m, 1e-5, `${kernels.name} ${label} m`, 1);
        assertClose(read(v, N), state.v, 1e-5, `${kernels.name} ${label} v`, 1e-3);
        for (const ptr of [p, m, v]) heap.free(ptr);
      }
    });
  }

  const sgdVariants: [string, Omit<SgdParams, 'firstStep'>][] = [
    ['plain SGD', { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }],
    [
      'SGD + momentum, dampening, decay',
      { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2, nesterov: false },
    ],
    ['Nesterov SGD', { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: true }],
  ];

  for (const [label, hyper] of sgdVariants) {
    it(`${label} follows the PyTorch update for ${STEPS} steps`, () => {
      for (const kernels of [wasm, ts]) {
        const p = randomBuffer(rng, N);
        // Garbage in the momentum buffer: the first step must overwrite it, not read it.
        const buf = filled(N, Number.NaN);
        const expected = Array.from(read(p, N));
        const expectedBuf = new Array<number>(N).fill(0);
        for (let step = 1; step <= STEPS; step++) {
          const g = randomBuffer(rng, N);
          const params = { ...hyper, firstStep: step === 1 };
          kernels.sgd(p, g, buf, N, params);
          sgdReference(expected, expectedBuf, Array.from(read(g, N)), params);
          heap.free(g);
        }
        assertClose(read(p, N), expected, 1e-5, `${kernels.name} ${label} p`, 1);
        if (hyper.momentum !== 0)
          assertClose(read(buf, N), expectedBuf, 1e-5, `${kernels.name} ${label} buf`, 1);
        heap.free(p);
        heap.free(buf);
      }
    });
  }
});
