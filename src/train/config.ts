/** Training hyper-parameters: one schema, its defaults documented where the CLI shows them. */
import { z } from 'zod';
import { VALIDATION_GROUPINGS } from '../data/splits.js';

export const trainConfigSchema = z.strictObject({
  /** Passes over the training sequences. */
  epochs: z.int().positive().default(120),
  /** Sequences per optimizer step. */
  batchSize: z.int().positive().default(32),
  /** Adam (weight decay as an L2 penalty) or AdamW (decoupled weight decay). */
  optimizer: z.enum(['adam', 'adamw']).default('adamw'),
  /** Peak learning rate (after warmup). */
  lr: z.number().positive().default(1e-3),
  /** Adam: L2 penalty added to gradients; AdamW: decoupled decay. */
  weightDecay: z.number().min(0).default(0.01),
  /** Epochs of linear warmup before the cosine decay. */
  warmupEpochs: z.int().min(0).default(5),
  /** The cosine schedule ends at lr × minLrFactor. */
  minLrFactor: z.number().min(0).max(1).default(0.01),
  /** ε of label smoothing in the cross-entropy (0 = off). */
  labelSmoothing: z.number().min(0).lt(1).default(0.1),
  /** Global gradient-norm clipping threshold (0 = off). */
  clipNorm: z.number().min(0).default(5),
  /** Fraction of the training part held out for model selection; 0 = none. */
  validationFraction: z.number().min(0).lt(1).default(0.1),
  /** How it is drawn: a share of every class, or whole subjects (as a cross-subject test would). */
  validationBy: z.enum(VALIDATION_GROUPINGS).default('class'),
  /** Stop after this many epochs without a better validation accuracy (0 = never). */
  patience: z.int().min(0).default(0),
});

export type TrainConfig = z.output<typeof trainConfigSchema>;
