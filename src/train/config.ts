/** Training hyper-parameters: one schema, its defaults documented where the CLI shows them. */
import { z } from 'zod';
import { VALIDATION_GROUPINGS } from '../data/splits.js';

export const trainConfigSchema = z.strictObject({
  /**
   * Passes over the training sequences. Default 120; the datasets' defaults: sbu 150, fpha 200, synthetic 30.
   */
  epochs: z.int().positive().default(120),
  /** Sequences per optimizer step. Default 32. */
  batchSize: z.int().positive().default(32),
  /** Adam (weight decay as an L2 penalty) or AdamW (decoupled weight decay). Default `adamw`. */
  optimizer: z.enum(['adam', 'adamw']).default('adamw'),
  /** Peak learning rate (after warmup). Default 1e-3. */
  lr: z.number().positive().default(1e-3),
  /** Adam: L2 penalty added to gradients; AdamW: decoupled decay. Default 0.01. */
  weightDecay: z.number().min(0).default(0.01),
  /** Epochs of linear warmup before the cosine decay. Default 5. */
  warmupEpochs: z.int().min(0).default(5),
  /** The cosine schedule ends at lr × minLrFactor. Default 0.01. */
  minLrFactor: z.number().min(0).max(1).default(0.01),
  /** ε of label smoothing in the cross-entropy (0 = off). Default 0.1. */
  labelSmoothing: z.number().min(0).lt(1).default(0.1),
  /** Global gradient-norm clipping threshold (0 = off). Default 5. */
  clipNorm: z.number().min(0).default(5),
  /**
   * Fraction of the training part held out to choose the epoch by (best validation accuracy); 0 =
   * none: the whole training part trains and the last epoch of the cosine schedule is kept, which is
   * steadier unless the held-out part is large (docs/datasets.md, "Choosing a validation scheme").
   * Default 0.
   */
  validationFraction: z.number().min(0).lt(1).default(0),
  /**
   * How it is drawn: a share of every class, or whole subjects (as a cross-subject test would). Default
   * `class`.
   */
  validationBy: z.enum(VALIDATION_GROUPINGS).default('class'),
  /** Stop after this many epochs without a better validation accuracy (0 = never). Default 0. */
  patience: z.int().min(0).default(0),
});

export type TrainConfig = z.output<typeof trainConfigSchema>;
