/**
 * Settings of a pruning run: the run settings of training (dataset, fold, seed, optimizer, ...) minus
 * the dense epoch count, plus the method, the rate and the phases. As for `train`, the flat keys are
 * the flag names and nested groups go in a config file or `--set`.
 */
import { z } from 'zod';
import { describeSchemaError, safeParseFirst } from '../data/schema-errors.js';
import { ConfigError } from '../errors.js';
import { DATASET_DEFAULTS, mergeConfig, runConfigSchema, withWindowChunks } from '../train/run-config.js';
import { BUDGET_KINDS } from './budget.js';
import { budgetKindProblem, CTF_DEFAULTS, METHODS } from './methods.js';

const { epochs: _epochs, patience: _patience, ...runShape } = runConfigSchema.shape;

export const pruneConfigSchema = z.strictObject({
  ...runShape,
  /** The pruning method (`ctf`, its ablations, the magnitude and regularisation baselines). */
  method: z.enum(METHODS),
  /** Target pruning rate: the fraction of prunable weights (or FLOPs) removed. */
  rate: z.number().gt(0, 'the rate must be above 0').lt(1, 'the rate must be below 1'),
  /** What the rate counts: weights, multiply-adds per sequence, or both at once (CTF only). Default `weights`. */
  budget: z.enum(BUDGET_KINDS).default('weights'),
  /** A trained checkpoint, or a `train` output directory (every fold's model.ckpt); none: from scratch. */
  from: z.string().optional(),
  /** Epochs of the pruning phase (soft masks, penalties or gradual schedules). Default 60. */
  pruneEpochs: z.int().min(0).default(60),
  /** Epochs of fine-tuning with the hard masks. Methods without a pruning phase get both. Default 20. */
  finetuneEpochs: z.int().min(0).default(20),
  /** Learning rate of the fine-tuning phase. Default 3e-4. */
  finetuneLr: z.number().positive().default(3e-4),
  /**
   * Also train the starting (dense) model for the same phases, epochs and learning rates with nothing
   * pruned, and report it beside the pruned model: a control that tells "pruning helped" from "it
   * trained longer". Runs only when starting from a checkpoint. Default true.
   */
  control: z.boolean().default(true),
  /** Weight of distillation from the starting (dense) model in every epoch after it; 0 = off. Default 0. */
  distill: z.number().min(0).default(0),
  /** Softmax temperature of that distillation. Default 4. */
  distillTemperature: z.number().positive().default(4),
  /** The schedule of the CTF methods' pruning phase (docs/pruning.md). */
  ctf: z
    .strictObject({
      /** σ of the soft masks until annealing starts. Default 0.3. */
      sigmaStart: z.number().positive().default(CTF_DEFAULTS.sigmaStart),
      /** σ at the end of the pruning phase, reached by geometric decay from `sigmaStart`. Default 0.01. */
      sigmaEnd: z.number().positive().default(CTF_DEFAULTS.sigmaEnd),
      /** Fraction of the pruning phase at which σ starts annealing. Default 0.5. */
      annealStart: z.number().min(0).lt(1).default(CTF_DEFAULTS.annealStart),
      /**
       * Fraction of the pruning phase over which the kept-mass target falls cubically to (1 − rate)·N.
       * Default 0.4.
       */
      budgetRamp: z.number().gt(0).max(1).default(CTF_DEFAULTS.budgetRamp),
      /** λ, the weight of the budget term, before annealing. Default 1e-4. */
      lambdaSoft: z.number().min(0).default(CTF_DEFAULTS.lambdaSoft),
      /** λ during annealing, larger to keep the soft budget from drifting while σ falls. Default 1e-2. */
      lambdaAnneal: z.number().min(0).default(CTF_DEFAULTS.lambdaAnneal),
      /**
       * The per-layer scale s of x = Ŵ² / s: `dynamic`, the layer's current mean Ŵ² at every step (no
       * gradient through it); `frozen`, taken once at the start. Default `dynamic`.
       */
      scale: z.enum(['dynamic', 'frozen']).default(CTF_DEFAULTS.scale),
      /** The soft σ whose ψ breaks hardening's ties among entries saturated at ψ = 1. Default 1. */
      tieSigma: z.number().positive().default(CTF_DEFAULTS.tieSigma),
    })
    .prefault({}),
  /** Options of unstructured magnitude pruning (`mp-unstructured`). */
  magnitude: z
    .strictObject({
      /**
       * Rank the weights across all prunable layers (`global`) or keep (1 − rate) of each layer (`layer`).
       * Default `global`.
       */
      scope: z.enum(['global', 'layer']).default('global'),
      /**
       * Prune once before fine-tuning (`one-shot`), or along Zhu & Gupta's cubic schedule over the pruning
       * phase (`gradual`). Default `one-shot`.
       */
      schedule: z.enum(['one-shot', 'gradual']).default('one-shot'),
    })
    .prefault({}),
  /** Strength of the ℓ1 penalty (per prunable weight, summed). Default 1. */
  l1Lambda: z.number().min(0).default(1),
  /** Strength of the expected-ℓ0 penalty (per prunable weight, summed). Default 1. */
  l0Lambda: z.number().min(0).default(1),
});

/**
 * The complete settings of a pruning run, every default filled in (its `config.json`).
 *
 * @interface
 */
export type PruneConfig = z.output<typeof pruneConfigSchema>;

/** Validates merged settings (dataset defaults < file < flags) into a prune config. */
export function resolvePruneConfig(
  file: Record<string, unknown>,
  flags: Record<string, unknown>,
  source = 'config',
): PruneConfig {
  const merged = mergeConfig(file, flags);
  const dataset = merged.dataset as keyof typeof DATASET_DEFAULTS;
  const { epochs: _e, patience: _p, ...defaults } = DATASET_DEFAULTS[dataset] ?? {};
  const withDefaults = dataset in DATASET_DEFAULTS ? mergeConfig(defaults, merged) : merged;
  const parsed = safeParseFirst(pruneConfigSchema, withDefaults);
  if (!parsed.success) throw new ConfigError(`${source}: ${describeSchemaError(parsed.error, withDefaults)}`);
  const problem = budgetKindProblem(parsed.data.method, parsed.data.budget);
  if (problem) throw new ConfigError(`${source}: ${problem}`);
  if (parsed.data.distill > 0 && parsed.data.from === undefined) {
    throw new ConfigError(
      `${source}: distill ${parsed.data.distill} needs a teacher: give --from a trained checkpoint (from scratch there is none)`,
    );
  }
  return withWindowChunks(parsed.data, source);
}
