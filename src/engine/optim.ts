/**
 * Optimizers with PyTorch's semantics (SGD with momentum/Nesterov, Adam, AdamW), gradient clipping by
 * global norm, and state dicts for exact resumption. The update itself runs in one fused kernel per
 * parameter.
 */
import type { AdamParams } from '@skelprune/runtime/internal';
import { kernels } from './backend.js';
import type { Parameter } from './module.js';
import type { Tensor } from './tensor.js';
import { zeros } from './tensor.js';

/** Parameters optimized with the same options (PyTorch's parameter groups). */
export interface ParamGroup<O> {
  /** The group's parameters. */
  params: Parameter[];
  /** Options of this group (defaults filled in from the optimizer's). */
  options: O;
}

/** The options every optimizer has. */
export interface OptimizerOptions {
  /** Learning rate; schedulers (`LrScheduler`) rescale it from its initial value. */
  lr: number;
  /** Weight decay: an L2 penalty added to the gradients (AdamW: decoupled decay of the weights). */
  weightDecay: number;
}

/** Serialisable optimizer state: per-parameter buffers and counters, plus each group's current lr. */
export interface OptimizerState {
  /** State buffers by `<parameter index>.<buffer name>` (e.g. `0.m`), parameters in group order. */
  buffers: Record<string, Float32Array>;
  /** Steps taken per parameter, in group order. */
  steps: number[];
  /** Current learning rate per group. */
  lrs: number[];
}

/**
 * The base of the optimizers (PyTorch's `torch.optim.Optimizer`): parameter groups with their
 * options, `zeroGrad()`, `step()`, and state dicts. A subclass implements `update()` for one parameter.
 */
export abstract class Optimizer<O extends OptimizerOptions = OptimizerOptions> {
  /** The parameter groups, each with its options, defaults filled in (schedulers change `lr` here). */
  readonly groups: ParamGroup<O>[];
  /** Per-parameter state tensors by buffer name (e.g. 'm', 'v'), created on first step. */
  protected readonly state = new Map<Parameter, Record<string, Tensor>>();
  /** Per-parameter step counts (a parameter without a gradient is skipped, as in PyTorch). */
  protected readonly steps = new Map<Parameter, number>();

  /**
   * Optimizes `params`, one list or groups with their own options over `defaults`. Throws a RangeError
   * when an option is negative or not finite.
   */
  constructor(params: Parameter[] | { params: Parameter[]; options?: Partial<O> }[], defaults: O) {
    const groups =
      params.length > 0 && 'params' in params[0]
        ? (params as { params: Parameter[]; options?: Partial<O> }[])
        : [{ params: params as Parameter[] }];
    this.groups = groups.map((g) => ({ params: g.params, options: { ...defaults, ...g.options } }));
    for (const group of this.groups) validate(group.options);
  }

  /** The first group's learning rate (schedulers set every group's). */
  get lr(): number {
    return this.groups[0].options.lr;
  }

  /** Zeroes the gradient of every parameter (PyTorch's `zero_grad(set_to_none=False)`). */
  zeroGrad(): void {
    for (const group of this.groups) for (const p of group.params) p.zeroGrad();
  }

  /** Updates every parameter that has a gradient, one `update()` each (PyTorch's `step()`). */
  step(): void {
    for (const group of this.groups) {
      for (const p of group.params) {
        if (p.grad === null) continue;
        const step = (this.steps.get(p) ?? 0) + 1;
        this.steps.set(p, step);
        this.update(p, p.grad, group.options, step);
      }
    }
  }

  /** Updates one parameter in place from its gradient; `step` counts from 1 for that parameter. */
  protected abstract update(p: Parameter, grad: Tensor, options: O, step: number): void;

  /** The state tensor `name` of a parameter (e.g. `'m'`), created as persistent zeros on first use. */
  protected buffer(p: Parameter, name: string): Tensor {
    let buffers = this.state.get(p);
    if (!buffers) {
      buffers = {};
      this.state.set(p, buffers);
    }
    buffers[name] ??= zeros(p.shape, true);
    return buffers[name];
  }

  private allParams(): Parameter[] {
    return this.groups.flatMap((g) => g.params);
  }

  /** A copy of the state (buffers, step counts, learning rates), to resume exactly. */
  stateDict(): OptimizerState {
    const buffers: Record<string, Float32Array> = {};
    const params = this.allParams();
    params.forEach((p, i) => {
      for (const [name, t] of Object.entries(this.state.get(p) ?? {})) buffers[`${i}.${name}`] = t.toArray();
    });
    return {
      buffers,
      steps: params.map((p) => this.steps.get(p) ?? 0),
      lrs: this.groups.map((g) => g.options.lr),
    };
  }

  /** Restores a `stateDict()` of an optimizer over the same parameters and groups (else throws). */
  loadStateDict(state: OptimizerState): void {
    const params = this.allParams();
    if (state.steps.length !== params.length || state.lrs.length !== this.groups.length) {
      throw new Error(
        `optimizer state has ${state.steps.length} parameters in ${state.lrs.length} groups, this optimizer ${params.length} in ${this.groups.length}`,
      );
    }
    params.forEach((p, i) => {
      this.steps.set(p, state.steps[i]);
      for (const [key, values] of Object.entries(state.buffers)) {
        const [index, name] = key.split('.');
        if (Number(index) === i) this.buffer(p, name).data.set(values);
      }
    });
    this.groups.forEach((g, i) => {
      g.options.lr = state.lrs[i];
    });
  }
}

function validate(options: OptimizerOptions): void {
  for (const [key, value] of Object.entries(options)) {
    if (typeof value === 'number' && !(Number.isFinite(value) && value >= 0)) {
      throw new RangeError(`optimizer option ${key} must be a finite non-negative number, got ${value}`);
    }
  }
}

/** Options of `SGD`, as PyTorch's (defaults: lr 0.01, everything else 0 / false). */
export interface SgdOptions extends OptimizerOptions {
  /** Momentum factor μ; 0: plain SGD. */
  momentum: number;
  /** Dampening of the gradient in the momentum buffer: b ← μ·b + (1 − dampening)·g. */
  dampening: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov: boolean;
}

/** Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (`torch.optim.SGD`). */
export class SGD extends Optimizer<SgdOptions> {
  /** SGD over `params` (a list or groups) with `options` over the defaults (lr 0.01). */
  constructor(
    params: ConstructorParameters<typeof Optimizer<SgdOptions>>[0],
    options: Partial<SgdOptions> = {},
  ) {
    super(params, { lr: 0.01, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options });
    if (
      this.groups.some((g) => g.options.nesterov && (g.options.momentum <= 0 || g.options.dampening !== 0))
    ) {
      throw new RangeError('SGD: Nesterov momentum requires momentum > 0 and dampening = 0');
    }
  }

  /** One SGD update of `p`, in one fused kernel. */
  protected update(p: Parameter, grad: Tensor, o: SgdOptions, step: number): void {
    const buf = o.momentum > 0 ? this.buffer(p, 'momentum').ptr : 0;
    kernels().sgd(p.ptr, grad.ptr, buf, p.size, { ...o, firstStep: step === 1 });
  }
}

/** Options of `Adam` and `AdamW`, as PyTorch's (defaults: lr 1e-3, betas 0.9 / 0.999, eps 1e-8). */
export interface AdamOptions extends OptimizerOptions {
  /** Decay rate of the first-moment (mean) estimate, in [0, 1). */
  beta1: number;
  /** Decay rate of the second-moment (uncentred variance) estimate, in [0, 1). */
  beta2: number;
  /** Term added to the denominator for numerical stability. */
  eps: number;
}

/**
 * Adam (Kingma & Ba), `torch.optim.Adam`: weight decay is an L2 penalty added to the gradient (default
 * 0). With `decoupled`, it is AdamW instead (prefer the `AdamW` class).
 */
export class Adam extends Optimizer<AdamOptions> {
  private readonly decoupled: boolean;

  /** Adam over `params` (a list or groups) with `options` over the defaults; `decoupled`: AdamW. */
  constructor(
    params: ConstructorParameters<typeof Optimizer<AdamOptions>>[0],
    options: Partial<AdamOptions> = {},
    decoupled = false,
  ) {
    super(params, {
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: decoupled ? 0.01 : 0,
      ...options,
    });
    this.decoupled = decoupled;
    if (this.groups.some((g) => g.options.beta1 >= 1 || g.options.beta2 >= 1)) {
      throw new RangeError('Adam: beta1 and beta2 must be in [0, 1)');
    }
  }

  /** One Adam update of `p` with bias correction, in one fused kernel. */
  protected update(p: Parameter, grad: Tensor, o: AdamOptions, step: number): void {
    const params: AdamParams = { ...o, decoupled: this.decoupled, step };
    kernels().adam(p.ptr, grad.ptr, this.buffer(p, 'm').ptr, this.buffer(p, 'v').ptr, p.size, params);
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter); default weight decay 0.01 as in PyTorch. */
export class AdamW extends Adam {
  /** AdamW over `params` (a list or groups) with `options` over the defaults (weight decay 0.01). */
  constructor(
    params: ConstructorParameters<typeof Optimizer<AdamOptions>>[0],
    options: Partial<AdamOptions> = {},
  ) {
    super(params, options, true);
  }
}

/**
 * Scales all gradients so their global L2 norm is at most maxNorm (PyTorch's clip_grad_norm_);
 * returns the norm before clipping.
 */
export function clipGradNorm(params: Parameter[], maxNorm: number): number {
  const k = kernels();
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
  const total = Math.sqrt(grads.reduce((s, g) => s + k.sumSquares(g.ptr, g.size), 0));
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) for (const g of grads) k.affine(g.ptr, g.ptr, g.size, coef, 0);
  return total;
}
