/**
 * Learning-rate schedules as multipliers of each group's base learning rate, with the closed forms of
 * PyTorch's StepLR, CosineAnnealingLR and LinearLR (warmup). The unit of `t` (epoch or iteration) is
 * whatever the caller steps the scheduler by.
 */
import type { Optimizer } from './optim.js';

/** A learning-rate schedule: the factor applied to each group's base learning rate at step `t` (from 0). */
export type LrSchedule = (t: number) => number;

/** The schedule that keeps the base learning rate (factor 1 at every step). */
export const constantLr: LrSchedule = () => 1;

/** Multiplies by gamma every stepSize steps. */
export function stepLr(stepSize: number, gamma = 0.1): LrSchedule {
  if (!(stepSize > 0)) throw new RangeError(`stepLr: stepSize must be positive, got ${stepSize}`);
  return (t) => gamma ** Math.floor(t / stepSize);
}

/** Cosine from 1 down to minFactor over total steps, then flat. */
export function cosineLr(total: number, minFactor = 0): LrSchedule {
  if (!(total > 0)) throw new RangeError(`cosineLr: total must be positive, got ${total}`);
  return (t) => minFactor + ((1 - minFactor) * (1 + Math.cos((Math.PI * Math.min(t, total)) / total))) / 2;
}

/** Linear warmup from startFactor to 1 over `steps`, then `after` (shifted to start at 0). */
export function warmupLr(steps: number, after: LrSchedule = constantLr, startFactor = 0): LrSchedule {
  return (t) => (t < steps ? startFactor + ((1 - startFactor) * t) / steps : after(t - steps));
}

/** Applies a schedule to an optimizer: call step() once per schedule unit. */
export class LrScheduler {
  private readonly baseLrs: number[];
  private t = 0;

  constructor(
    private readonly optimizer: Optimizer,
    private readonly schedule: LrSchedule,
  ) {
    this.baseLrs = optimizer.groups.map((g) => g.options.lr);
    this.apply();
  }

  /** Steps taken so far, `t` of the factor now applied (PyTorch's `last_epoch`). */
  get lastEpoch(): number {
    return this.t;
  }

  /** Advances one unit and sets every group's learning rate to base × schedule(t). */
  step(): void {
    this.t++;
    this.apply();
  }

  /** Restores the position (e.g. when resuming from a checkpoint). */
  seek(t: number): void {
    this.t = t;
    this.apply();
  }

  private apply(): void {
    const factor = this.schedule(this.t);
    this.optimizer.groups.forEach((g, i) => {
      g.options.lr = this.baseLrs[i] * factor;
    });
  }
}
