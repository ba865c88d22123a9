/**
 * Every op and optimizer against PyTorch reference values (test/fixtures/pytorch), on each kernel
 * backend: outputs and gradients within 1e-5 relative, optimizer trajectories within 1e-6.
 */
import { describe, it } from 'node:test';
import { createKernelsSync } from '@skelprune/runtime/internal';
import {
  Adam,
  AdamW,
  add,
  crossEntropy,
  div,
  exp,
  IntTensor,
  kernels,
  layerNorm,
  log,
  logSoftmax,
  matmul,
  mean,
  mul,
  Parameter,
  permute,
  relu,
  reshape,
  SGD,
  sigmoid,
  softmax,
  square,
  sub,
  sum,
  type Tensor,
  tanh,
  tidy,
  useKernels,
} from '../../src/engine/index.js';
import { abs } from '../../src/engine/ops/elementwise.js';
import type { Optimizer } from '../../src/engine/optim.js';
import { assertClose, type Fixture, loadFixture } from '../helpers.js';

type OpRunner = (inputs: Record<string, Tensor>, fixture: Fixture) => Tensor;

const ops: Record<string, OpRunner> = {
  abs: ({ a }) => abs(a),
  exp: ({ a }) => exp(a),
  log: ({ a }) => log(a),
  relu: ({ a }) => relu(a),
  sigmoid: ({ a }) => sigmoid(a),
  square: ({ a }) => square(a),
  tanh: ({ a }) => tanh(a),
  add_broadcast: ({ a, b }) => add(a, b),
  mul_broadcast: ({ a, b }) => mul(a, b),
  sub_div: ({ a, b, c }) => div(sub(a, b), c),
  matmul: ({ a, b }) => matmul(a, b),
  matmul_batched: ({ a, b }) => matmul(a, b),
  matmul_broadcast_left: ({ a, b }) => matmul(a, b),
  sum_axis1: ({ a }, f) => sum(a, f.attrs.axis as number),
  mean_axis2_keepdims: ({ a }, f) => mean(a, f.attrs.axis as number, f.attrs.keepdims as boolean),
  reshape: ({ a }, f) => reshape(a, f.attrs.shape as number[]),
  transpose_102: ({ a }, f) => permute(a, f.attrs.perm as number[]),
  softmax_last: ({ a }) => softmax(a, -1),
  log_softmax_last: ({ a }) => logSoftmax(a, -1),
  layer_norm_last: ({ a }, f) => layerNorm(a, undefined, undefined, f.attrs.eps as number),
  cross_entropy_mean: ({ logits }, f) => crossEntropy(logits, new IntTensor(f.int_inputs.labels)),
};

interface OptimizerFixture {
  attrs: {
    lr: number;
    beta1?: number;
    beta2?: number;
    eps?: number;
    weight_decay?: number;
    momentum?: number;
  };
  param0: { shape: number[]; data: number[] };
  grads: { shape: number[]; data: number[] }[];
  params_after_each_step: { shape: number[]; data: number[] }[];
}

const optimizers: Record<string, (p: Parameter, a: OptimizerFixture['attrs']) => Optimizer> = {
  adam: (p, a) =>
    new Adam([p], { lr: a.lr, beta1: a.beta1, beta2: a.beta2, eps: a.eps, weightDecay: a.weight_decay }),
  adamw: (p, a) =>
    new AdamW([p], { lr: a.lr, beta1: a.beta1, beta2: a.beta2, eps: a.eps, weightDecay: a.weight_decay }),
  sgd_momentum: (p, a) => new SGD([p], { lr: a.lr, momentum: a.momentum }),
};

const defaultKernels = kernels();
const backends = [defaultKernels, createKernelsSync({ backend: 'ts', memory: defaultKernels.heap.memory })];

for (const backend of backends) {
  describe(`PyTorch fixtures on the ${backend.name} backend`, () => {
    for (const [name, run] of Object.entries(ops)) {
      it(`${name}: output and gradients`, () => {
        useKernels(backend);
        const fixture = loadFixture(name);
        tidy(() => {
          const inputs = Object.fromEntries(
            Object.entries(fixture.inputs).map(([key, v]) => [
              key,
              new Parameter(v.shape, Float32Array.from(v.data)),
            ]),
          );
          const output = run(inputs, fixture);
          assertClose(output.data, fixture.output.data, { label: `${name} output` });
          output.backward(new Parameter(output.shape, Float32Array.from(fixture.grad_output.data)));
          for (const [key, expected] of Object.entries(fixture.grads)) {
            assertClose(inputs[key].grad!.data, expected.data, { label: `${name} d${key}` });
          }
          for (const p of Object.values(inputs)) {
            p.grad?.dispose();
            p.dispose();
          }
        });
      });
    }

    for (const [name, make] of Object.entries(optimizers)) {
      it(`${name}: parameter trajectory`, () => {
        useKernels(backend);
        const fixture = loadFixture<OptimizerFixture>(name);
        const param = new Parameter(fixture.param0.shape, Float32Array.from(fixture.param0.data));
        const optimizer = make(param, fixture.attrs);
        fixture.grads.forEach((grad, step) => {
          param.grad = new Parameter(grad.shape, Float32Array.from(grad.data));
          optimizer.step();
          assertClose(param.data, fixture.params_after_each_step[step].data, {
            rtol: 1e-6,
            atol: 1e-7,
            label: `${name} step ${step + 1}`,
          });
        });
      });
    }
  });
}
