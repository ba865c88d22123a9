/**
 * Pruning methods behind one interface. A method may train a pruning phase (soft masks, penalties or
 * a gradual schedule, through trainer hooks) and then `harden()`s: binary masks that meet the budget
 * exactly. The run then fine-tunes with those masks (see ./run.ts).
 *
 *  ctf, ctf-fine, ctf-coarse   coarse-to-fine masks ψ(Ŵ), budget loss, annealed σ (docs/paper.md §2, §6)
 *  mp-unstructured             smallest |w| (global or per layer), one-shot or gradual (cubic schedule)
 *  mp-structured               whole rows, columns and blocks with the smallest relative L2 norm
 *  l1                          ℓ1-regularised training, then the smallest |w|
 *  l0                          hard-concrete gates with an expected-ℓ0 penalty, then the lowest gates
 */

import { kernels, noGrad, Parameter, type Rng, relu, type Tensor, tensor, tidy } from '../engine/index.js';
import { ConfigError } from '../errors.js';
import { type PrunableWeight, setHardMask, tiling } from '../model/layers.js';
import type { TrainerHooks } from '../train/trainer.js';
import type { Budget, BudgetKind, CostLimit } from './budget.js';
import { budgetLoss, type CtfVariant, ctfMask, ctfMaskedWeight, weightedMass } from './ctf.js';
import { type HardMask, keepLearnedShares, keepTopEntries, liveGroups } from './masks.js';

/**
 * The pruning methods: coarse-to-fine (`ctf`, the paper's) and its fine-only and coarse-only
 * ablations, magnitude pruning (unstructured, structured), ℓ1 and ℓ0 regularisation.
 */
export const METHODS = [
  'ctf',
  'ctf-fine',
  'ctf-coarse',
  'mp-unstructured',
  'mp-structured',
  'l1',
  'l0',
] as const;
/** A pruning method's name. */
export type MethodName = (typeof METHODS)[number];

export interface PrunerState {
  json: Record<string, unknown>;
  tensors: Record<string, Float32Array>;
}

export interface Pruner {
  /** False: the method prunes at once from the starting weights (no pruning phase). */
  readonly trainsPhase: boolean;
  /** Trainer hooks of the pruning phase. */
  readonly hooks: TrainerHooks;
  /** Called when the pruning phase begins (not again when resuming). */
  start(): void;
  /** Binary masks meeting the budget, one per prunable weight. */
  harden(): HardMask[];
  save(): PrunerState;
  load(state: PrunerState): void;
}

export interface PrunerContext {
  weights: readonly PrunableWeight[];
  budget: Budget;
  /** Epochs of the pruning phase. */
  epochs: number;
  rng: Rng;
  /** Whether the model is in training mode (stochastic gates sample only then). */
  training: () => boolean;
}

/** Position of epoch e (1-based) in a phase of n epochs, from 0 (first) to 1 (last). */
function phaseProgress(epoch: number, epochs: number): number {
  return epochs <= 1 ? 1 : (epoch - 1) / (epochs - 1);
}

/** Installs fixed binary masks: the effective weight is W ⊙ M, pruned latent weights are zeroed. */
export function applyHardMasks(weights: readonly PrunableWeight[], masks: readonly HardMask[]): void {
  weights.forEach((w, i) => {
    setHardMask(w.layer, masks[i]);
  });
}

/**
 * The control of a pruning run: the same phases, epochs and learning rates with nothing pruned, so
 * "the pruned model beats the dense one" can be told apart from "it trained longer".
 */
export function keepEverything(weights: readonly PrunableWeight[]): Pruner {
  return {
    trainsPhase: true,
    hooks: {},
    start() {},
    harden: () => weights.map((w) => new Uint8Array(w.rows * w.cols).fill(1)),
    save: () => ({ json: {}, tensors: {} }),
    load() {},
  };
}

export function removeTransforms(weights: readonly PrunableWeight[]): void {
  for (const w of weights) w.layer.transform = null;
}

// ---- CTF --------------------------------------------------------------------------------------

export interface CtfOptions {
  variant: CtfVariant;
  /** σ of the soft phase, and the final σ reached by geometric annealing. */
  sigmaStart: number;
  sigmaEnd: number;
  /** Fraction of the phase after which σ anneals (and λ rises). */
  annealStart: number;
  /** Fraction of the phase over which the budget target falls cubically from N to c. */
  budgetRamp: number;
  lambdaSoft: number;
  lambdaAnneal: number;
  /** 'dynamic': s = mean(Ŵ²) of each layer at every step; 'frozen': taken once when pruning starts. */
  scale: 'dynamic' | 'frozen';
  /** σ of the tie-breaking mask used when hardening (ψ saturates to exactly 1 at small σ). */
  tieSigma: number;
}

export const CTF_DEFAULTS: CtfOptions = {
  variant: 'full',
  sigmaStart: 0.3,
  sigmaEnd: 0.01,
  annealStart: 0.5,
  budgetRamp: 0.4,
  lambdaSoft: 1e-4,
  lambdaAnneal: 1e-2,
  scale: 'dynamic',
  tieSigma: 1,
};

function meanSquare(w: Tensor): number {
  return kernels().sumSquares(w.ptr, w.size) / w.size;
}

class CtfPruner implements Pruner {
  readonly trainsPhase = true;
  readonly hooks: TrainerHooks;
  private sigma: number;
  private lambda: number;
  private target: number;
  /** The ramped FLOP cap of a 'weights+flops' budget. */
  private capTarget = 0;
  private frozenScales: number[] = [];
  private softKept = 1;
  /** Σψ of each layer's mask from the last forward pass, which the budget term differentiates. */
  private readonly masses: (Tensor | null)[];

  constructor(
    private readonly ctx: PrunerContext,
    private readonly options: CtfOptions,
  ) {
    this.sigma = options.sigmaStart;
    this.lambda = options.lambdaSoft;
    this.target = ctx.budget.total;
    this.masses = ctx.weights.map(() => null);
    this.hooks = {
      beforeEpoch: (epoch) => this.schedule(epoch),
      extraLoss: () => this.budgetTerm(),
      epochFigures: () => ({
        softKept: this.softKept,
        targetKept: this.target / this.ctx.budget.total,
        roundedKept: this.roundedKept(),
        sigma: this.sigma,
        lambda: this.lambda,
      }),
      selectable: (epoch) => epoch === ctx.epochs,
    };
  }

  private scaleOf(i: number, weight: Tensor): number {
    return this.options.scale === 'dynamic' ? meanSquare(weight) : this.frozenScales[i];
  }

  private maskOptions(i: number, weight: Tensor, sigma: number) {
    const w = this.ctx.weights[i];
    const options = { sigma, scale: this.scaleOf(i, weight), variant: this.options.variant };
    return [tiling(w.blocks, w.rows, w.cols), options] as const;
  }

  private mask(i: number, weight: Tensor, sigma: number): Tensor {
    return ctfMask(weight, ...this.maskOptions(i, weight, sigma));
  }

  /**
   * The budget share the soft masks keep when rounded at ψ = ½, at the epoch's σ (what a plain
   * threshold would keep; hardening itself always meets the budget exactly). One mask evaluation per
   * prunable weight, without gradients: about one training step's mask cost per epoch.
   */
  private roundedKept(): number {
    const { costs, total } = this.ctx.budget;
    const kept = noGrad(() =>
      tidy(() =>
        this.ctx.weights.reduce((sum, w, i) => {
          const psi = this.mask(i, w.layer.weight, this.sigma).toArray();
          let count = 0;
          for (const v of psi) if (v >= 0.5) count++;
          return sum + count * costs[i];
        }, 0),
      ),
    );
    return kept / total;
  }

  start(): void {
    this.frozenScales = this.ctx.weights.map((w) => meanSquare(w.layer.weight));
    this.install();
  }

  private install(): void {
    this.ctx.weights.forEach((w, i) => {
      // Ŵ ⊙ ψ and Σψ from one fused op: the budget term's gradient joins the mask's backward pass.
      w.layer.transform = (weight) => {
        const { weight: effective, mass } = ctfMaskedWeight(
          weight,
          ...this.maskOptions(i, weight, this.sigma),
        );
        this.masses[i] = mass;
        return effective;
      };
    });
  }

  /** σ, λ and the budget target c_t of an epoch: ramp the budget at soft σ, then anneal. */
  private schedule(epoch: number): void {
    const o = this.options;
    const t = phaseProgress(epoch, this.ctx.epochs);
    const ramp = Math.min(1, t / o.budgetRamp);
    const ramped = (limit: CostLimit) => limit.target + (limit.total - limit.target) * (1 - ramp) ** 3;
    this.target = ramped(this.ctx.budget);
    this.capTarget = this.ctx.budget.flopCap ? ramped(this.ctx.budget.flopCap) : 0;
    const annealing = t > o.annealStart;
    const a = annealing ? (t - o.annealStart) / (1 - o.annealStart) : 0;
    this.sigma = o.sigmaStart * (o.sigmaEnd / o.sigmaStart) ** a;
    this.lambda = annealing ? o.lambdaAnneal : o.lambdaSoft;
  }

  /**
   * λ (mass − c_t)² / total, plus, under a FLOP cap, the same penalty on the FLOP mass while it
   * exceeds its ramped cap (one-sided: the cap is a limit, not a target).
   */
  private budgetTerm(): Tensor | null {
    if (this.masses.some((mass) => mass === null || mass.isDisposed)) return null;
    const mass = (costs: readonly number[]) =>
      weightedMass(this.masses.map((m, i) => ({ mass: m!, weight: costs[i] })));
    const { budget } = this.ctx;
    const kept = mass(budget.costs);
    this.softKept = kept.item() / budget.total;
    const term = budgetLoss(kept, this.target, this.lambda, budget.total);
    if (!budget.flopCap) return term;
    const flops = mass(budget.flopCap.costs);
    if (flops.item() <= this.capTarget) return term;
    return term.add(budgetLoss(flops, this.capTarget, this.lambda, budget.flopCap.total));
  }

  harden(): HardMask[] {
    const { finals, ties } = noGrad(() =>
      tidy(() => {
        const finals: Float32Array[] = [];
        const ties: Float32Array[] = [];
        this.ctx.weights.forEach((w, i) => {
          const psi = this.mask(i, w.layer.weight, this.sigma);
          finals.push(psi.toArray());
          ties.push(this.mask(i, w.layer.weight, this.options.tieSigma).toArray());
        });
        return { finals, ties };
      }),
    );
    // The effective weights Ŵ ⊙ ψ become the latent weights the hard mask then applies to.
    this.ctx.weights.forEach((w, i) => {
      const data = w.layer.weight.data;
      for (let j = 0; j < data.length; j++) data[j] *= finals[i][j];
    });
    const soft = finals.map((f) => f.reduce((sum, v) => sum + v, 0));
    return keepLearnedShares(finals, soft, this.ctx.budget, ties);
  }

  save(): PrunerState {
    return { json: { frozenScales: this.frozenScales }, tensors: {} };
  }

  load(state: PrunerState): void {
    this.frozenScales = state.json.frozenScales as number[];
    this.install();
  }
}

// ---- magnitude --------------------------------------------------------------------------------

export interface MagnitudeOptions {
  scope: 'global' | 'layer';
  schedule: 'one-shot' | 'gradual';
}

function absValues(w: PrunableWeight): Float32Array {
  return Float32Array.from(w.layer.weight.data, Math.abs);
}

/** Masks keeping the largest |w| at a rate, globally or layer by layer. */
function magnitudeMasks(ctx: PrunerContext, rate: number, scope: MagnitudeOptions['scope']): HardMask[] {
  const scores = ctx.weights.map(absValues);
  if (scope === 'global') {
    const target =
      ctx.budget.kind === 'weights'
        ? Math.round((1 - rate) * ctx.budget.total)
        : (1 - rate) * ctx.budget.total;
    return keepTopEntries(scores, target, ctx.budget.costs);
  }
  return scores.map((s) => keepTopEntries([s], Math.round((1 - rate) * s.length))[0]);
}

class MagnitudePruner implements Pruner {
  readonly trainsPhase: boolean;
  readonly hooks: TrainerHooks;

  constructor(
    private readonly ctx: PrunerContext,
    private readonly options: MagnitudeOptions,
  ) {
    this.trainsPhase = options.schedule === 'gradual';
    this.hooks = {
      // Zhu & Gupta's cubic schedule: the rate rises fast first, slowly near the end.
      beforeEpoch: (epoch) => {
        const t = epoch / ctx.epochs;
        const rate = ctx.budget.rate * (1 - (1 - t) ** 3);
        applyHardMasks(ctx.weights, magnitudeMasks(ctx, rate, options.scope));
      },
      selectable: (epoch) => epoch === ctx.epochs,
    };
  }

  start(): void {}

  harden(): HardMask[] {
    removeTransforms(this.ctx.weights);
    return magnitudeMasks(this.ctx, this.ctx.budget.rate, this.options.scope);
  }

  save(): PrunerState {
    return { json: {}, tensors: {} };
  }

  load(): void {}
}

/**
 * Structured magnitude pruning: every row, column and block of a layer is a group scored by its RMS;
 * each layer loses its lowest-scoring groups until it keeps (1 − rate) of its entries, skipping any
 * group that would overshoot by more than `tolerance` (a fraction of the layer's entries). Per layer,
 * because one global ranking empties whole layers at high rates (FPHA at 95%: the graph convolution,
 * a network at chance level), which measures nothing about structured pruning.
 */
class StructuredPruner implements Pruner {
  readonly trainsPhase = false;
  readonly hooks: TrainerHooks = {};

  constructor(
    private readonly ctx: PrunerContext,
    private readonly tolerance = 5e-4,
  ) {}

  start(): void {}

  harden(): HardMask[] {
    return this.ctx.weights.map((w) => this.pruneLayer(w));
  }

  private pruneLayer(w: PrunableWeight): HardMask {
    const mask = new Uint8Array(w.rows * w.cols).fill(1);
    const target = Math.round((1 - this.ctx.budget.rate) * mask.length);
    const floor = target - this.tolerance * mask.length;
    let kept = mask.length;
    for (const group of this.groupsOf(w).sort((a, b) => a.score - b.score)) {
      if (kept <= target) break;
      let alive = 0;
      for (const e of group.entries) alive += mask[e];
      if (alive === 0 || kept - alive < floor) continue;
      for (const e of group.entries) mask[e] = 0;
      kept -= alive;
    }
    return mask;
  }

  /** Rows, columns and (where the layer has several) blocks, each with the RMS of its entries. */
  private groupsOf(w: PrunableWeight): { score: number; entries: Int32Array }[] {
    const data = w.layer.weight.data;
    const t = tiling(w.blocks, w.rows, w.cols);
    const group = (entries: Int32Array) => {
      let s = 0;
      for (const e of entries) s += data[e] * data[e];
      return { score: Math.sqrt(s / entries.length), entries };
    };
    const rows = Array.from({ length: w.rows }, (_, i) =>
      group(Int32Array.from({ length: w.cols }, (_, j) => i * w.cols + j)),
    );
    const cols = Array.from({ length: w.cols }, (_, j) =>
      group(Int32Array.from({ length: w.rows }, (_, i) => i * w.cols + j)),
    );
    const blocks = Array.from({ length: t.blockRows * t.blockCols }, (_, b) => {
      const r0 = Math.floor(b / t.blockCols) * t.rowsPerBlock;
      const c0 = (b % t.blockCols) * t.colsPerBlock;
      return group(
        Int32Array.from(
          { length: t.rowsPerBlock * t.colsPerBlock },
          (_, k) => (r0 + Math.floor(k / t.colsPerBlock)) * w.cols + c0 + (k % t.colsPerBlock),
        ),
      );
    });
    return [...rows, ...cols, ...(t.blockRows * t.blockCols > 1 ? blocks : [])];
  }

  save(): PrunerState {
    return { json: {}, tensors: {} };
  }

  load(): void {}
}

// ---- regularisation ---------------------------------------------------------------------------

/** ℓ1-regularised training (λ Σ|w| / N over the prunable weights), then global magnitude pruning. */
class L1Pruner implements Pruner {
  readonly trainsPhase = true;
  readonly hooks: TrainerHooks;

  constructor(
    private readonly ctx: PrunerContext,
    lambda: number,
  ) {
    this.hooks = {
      extraLoss: () =>
        ctx.weights
          .map((w) =>
            w.layer.weight
              .abs()
              .sum()
              .mul(lambda / ctx.budget.entries),
          )
          .reduce((a, b) => a.add(b))
          .reshape([1]),
      selectable: (epoch) => epoch === ctx.epochs,
    };
  }

  start(): void {}

  harden(): HardMask[] {
    return magnitudeMasks(this.ctx, this.ctx.budget.rate, 'global');
  }

  save(): PrunerState {
    return { json: {}, tensors: {} };
  }

  load(): void {}
}

/** Hard-concrete stretch and temperature (Louizos, Welling & Kingma, 2018). */
const HC = { beta: 2 / 3, gamma: -0.1, zeta: 1.1 };
const INITIAL_LOG_ALPHA = 3;

/**
 * ℓ0 regularisation with hard-concrete gates z per weight (effective weight W ⊙ z), trained with the
 * expected number of open gates as penalty (λ Σ P(z ≠ 0) / N); hardening keeps the most open gates.
 */
class L0Pruner implements Pruner {
  readonly trainsPhase = true;
  readonly hooks: TrainerHooks;
  private readonly logAlphas: Parameter[];

  constructor(
    private readonly ctx: PrunerContext,
    lambda: number,
  ) {
    this.logAlphas = ctx.weights.map(
      (w) => new Parameter([w.rows, w.cols], new Float32Array(w.rows * w.cols).fill(INITIAL_LOG_ALPHA)),
    );
    const shift = HC.beta * Math.log(-HC.gamma / HC.zeta);
    this.hooks = {
      parameters: () => this.logAlphas,
      extraLoss: () =>
        this.logAlphas
          .map((a, i) =>
            a
              .sub(shift)
              .sigmoid()
              .sum()
              .mul((lambda * ctx.budget.costs[i]) / ctx.budget.total),
          )
          .reduce((x, y) => x.add(y))
          .reshape([1]),
      selectable: (epoch) => epoch === ctx.epochs,
    };
  }

  private gate(i: number): Tensor {
    const logAlpha = this.logAlphas[i];
    let s: Tensor;
    if (this.ctx.training()) {
      const noise = new Float32Array(logAlpha.size);
      for (let j = 0; j < noise.length; j++) {
        const u = Math.min(Math.max(this.ctx.rng.uniform(), 1e-6), 1 - 1e-6);
        noise[j] = Math.log(u) - Math.log(1 - u);
      }
      s = logAlpha
        .add(tensor(noise, logAlpha.shape))
        .mul(1 / HC.beta)
        .sigmoid();
    } else {
      s = logAlpha.sigmoid();
    }
    const stretched = s.mul(HC.zeta - HC.gamma).add(HC.gamma);
    return relu(stretched).sub(relu(stretched.sub(1)));
  }

  start(): void {
    this.install();
  }

  private install(): void {
    this.ctx.weights.forEach((w, i) => {
      w.layer.transform = (weight) => weight.mul(this.gate(i));
    });
  }

  harden(): HardMask[] {
    removeTransforms(this.ctx.weights);
    const ties = this.ctx.weights.map(absValues);
    return keepTopEntries(
      this.logAlphas.map((a) => a.toArray()),
      this.ctx.budget.target,
      this.ctx.budget.costs,
      ties,
    );
  }

  save(): PrunerState {
    return {
      json: {},
      tensors: Object.fromEntries(this.logAlphas.map((a, i) => [`logAlpha.${i}`, a.toArray()])),
    };
  }

  load(state: PrunerState): void {
    this.logAlphas.forEach((a, i) => {
      a.data.set(state.tensors[`logAlpha.${i}`]);
    });
    this.install();
  }
}

export interface MethodOptions {
  ctf: Partial<CtfOptions>;
  magnitude: MagnitudeOptions;
  l1Lambda: number;
  l0Lambda: number;
}

const CTF_METHODS: readonly MethodName[] = ['ctf', 'ctf-fine', 'ctf-coarse'];

/** Why a method cannot prune under a kind of budget, or undefined when it can. */
export function budgetKindProblem(method: MethodName, kind: BudgetKind): string | undefined {
  if (kind !== 'weights+flops' || CTF_METHODS.includes(method)) return undefined;
  return `budget 'weights+flops' needs a method that learns per-layer shares (${CTF_METHODS.join(', ')}); ${method} ranks by one cost: use budget 'weights' or 'flops'`;
}

export function createPruner(method: MethodName, ctx: PrunerContext, options: MethodOptions): Pruner {
  const problem = budgetKindProblem(method, ctx.budget.kind);
  if (problem) throw new ConfigError(problem);
  switch (method) {
    case 'ctf':
    case 'ctf-fine':
    case 'ctf-coarse': {
      const variant = method === 'ctf' ? 'full' : method === 'ctf-fine' ? 'fine' : 'coarse';
      return new CtfPruner(ctx, { ...CTF_DEFAULTS, ...options.ctf, variant });
    }
    case 'mp-unstructured':
      return new MagnitudePruner(ctx, options.magnitude);
    case 'mp-structured':
      return new StructuredPruner(ctx);
    case 'l1':
      return new L1Pruner(ctx, options.l1Lambda);
    case 'l0':
      return new L0Pruner(ctx, options.l0Lambda);
  }
}

/** Which rows, columns and blocks of each mask are live (for reports and pictures). */
export function maskGroups(weights: readonly PrunableWeight[], masks: readonly HardMask[]) {
  return weights.map((w, i) => liveGroups(masks[i], w.rows, w.cols, tiling(w.blocks, w.rows, w.cols)));
}
