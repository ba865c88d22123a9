/**
 * Settings of a pruning run: the run settings of training (dataset, fold, seed, optimizer, ...) minus
 * the dense epoch count, plus the method, the rate and the phases. As for `train`, the flat keys are
 * the flag names and nested groups go in a config file or `--set`.
 */
import { z } from 'zod';
import { describeSchemaError } from '../data/schema-errors.js';
import { ConfigError } from '../errors.js';
import { DATASET_DEFAULTS, mergeConfig, runConfigSchema } from '../train/run-config.js';
import { BUDGET_KINDS } from './budget.js';
import { budgetKindProblem, CTF_DEFAULTS, METHODS } from './methods.js';

const { epochs: _epochs, patience: _patience, ...runShape } = runConfigSchema.shape;

export const pruneConfigSchema = z.strictObject({
  ...runShape,
  method: z.enum(METHODS),
  /** Target pruning rate: the fraction of prunable weights (or FLOPs) removed. */
  rate: z.number().gt(0, 'the rate must be above 0').lt(1, 'the rate must be below 1'),
  /** What the rate counts: weights (default), multiply-adds per sequence, or both at once (CTF only). */
  budget: z.enum(BUDGET_KINDS).default('weights'),
  /** A trained checkpoint, or a `train` output directory (every fold's model.ckpt); none: from scratch. */
  from: z.string().optional(),
  /** Epochs of the pruning phase (soft masks, penalties or gradual schedules). */
  pruneEpochs: z.int().min(0).default(60),
  /** Epochs of fine-tuning with the hard masks. Methods without a pruning phase get both. */
  finetuneEpochs: z.int().min(0).default(20),
  finetuneLr: z.number().positive().default(3e-4),
  /** Weight of distillation from the starting (dense) model in every epoch after it; 0 = off. */
  distill: z.number().min(0).default(0),
  /** Softmax temperature of that distillation. */
  distillTemperature: z.number().positive().default(4),
  ctf: z
    .strictObject({
      sigmaStart: z.number().positive().default(CTF_DEFAULTS.sigmaStart),
      sigmaEnd: z.number().positive().default(CTF_DEFAULTS.sigmaEnd),
      annealStart: z.number().min(0).lt(1).default(CTF_DEFAULTS.annealStart),
      budgetRamp: z.number().gt(0).max(1).default(CTF_DEFAULTS.budgetRamp),
      lambdaSoft: z.number().min(0).default(CTF_DEFAULTS.lambdaSoft),
      lambdaAnneal: z.number().min(0).default(CTF_DEFAULTS.lambdaAnneal),
      scale: z.enum(['dynamic', 'frozen']).default(CTF_DEFAULTS.scale),
      tieSigma: z.number().positive().default(CTF_DEFAULTS.tieSigma),
    })
    .prefault({}),
  magnitude: z
    .strictObject({
      scope: z.enum(['global', 'layer']).default('global'),
      schedule: z.enum(['one-shot', 'gradual']).default('one-shot'),
    })
    .prefault({}),
  /** Strength of the ℓ1 penalty (per prunable weight, summed). */
  l1Lambda: z.number().min(0).default(1),
  /** Strength of the expected-ℓ0 penalty (per prunable weight, summed). */
  l0Lambda: z.number().min(0).default(1),
});

/** The complete settings of a pruning run, every default filled in (its `config.json`). */
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
  const parsed = pruneConfigSchema.safeParse(withDefaults);
  if (!parsed.success) throw new ConfigError(`${source}: ${describeSchemaError(parsed.error, withDefaults)}`);
  const problem = budgetKindProblem(parsed.data.method, parsed.data.budget);
  if (problem) throw new ConfigError(`${source}: ${problem}`);
  if (parsed.data.distill > 0 && parsed.data.from === undefined) {
    throw new ConfigError(
      `${source}: distill ${parsed.data.distill} needs a teacher: give --from a trained checkpoint (from scratch there is none)`,
    );
  }
  return parsed.data;
}
