/**
 * Knowledge distillation (Hinton et al. 2015): a frozen teacher's softened class probabilities as an
 * extra training target. Pruning uses it with the dense starting model as teacher, so the pruned
 * network is pulled towards the function it replaces, not only towards the labels.
 */
import { noGrad, type Tensor } from '../engine/index.js';
import type { Classifier, StepContext, TrainerHooks } from './trainer.js';

export interface DistillOptions {
  /** Weight of the distillation term next to the task loss (0 = off). */
  weight: number;
  /** Softmax temperature of both teacher and student in that term. */
  temperature: number;
}

/**
 * The term `weight · T² · mean_i CE(softmax(t_i / T), softmax(s_i / T))`: cross-entropy of the
 * student's softened prediction against the teacher's, scaled by T² so its gradient keeps the task
 * loss's magnitude whatever T (the teacher's entropy, a constant, is left in the logged loss).
 */
export function distillationLoss(student: Tensor, teacher: Tensor, options: DistillOptions): Tensor {
  const t = options.temperature;
  const target = noGrad(() => teacher.div(t).softmax(-1));
  const rows = student.shape[0];
  return student
    .div(t)
    .logSoftmax(-1)
    .mul(target)
    .sum()
    .mul((-options.weight * t * t) / rows);
}

/** The distillation term of a frozen teacher, as a function of a training step. */
export function distillationTerm(
  teacher: Classifier,
  options: DistillOptions,
): (step: StepContext) => Tensor {
  teacher.eval();
  return ({ x, logits }) =>
    distillationLoss(
      logits,
      noGrad(() => teacher.forward(x)),
      options,
    );
}

/** The hooks with one more term added to their extra loss (if any). */
export function withLossTerm(hooks: TrainerHooks, term: (step: StepContext) => Tensor): TrainerHooks {
  const own = hooks.extraLoss;
  return {
    ...hooks,
    extraLoss: (step) => {
      const base = own?.(step);
      return base ? base.add(term(step)) : term(step);
    },
  };
}
