/**
 * The pruning budget: what "prune at rate r" means. By weight count (the default) the kept entries
 * are (1 − r)·N; by FLOPs each entry counts as often as it is used per sequence, so the kept
 * multiply-adds of the prunable layers are (1 − r) of their dense total.
 */
import type { PrunableWeight } from '../model/layers.js';

export type BudgetKind = 'weights' | 'flops';

export interface Budget {
  rate: number;
  kind: BudgetKind;
  /** Cost of one kept entry, per prunable weight. */
  costs: number[];
  /** Σ cost over all entries (dense). */
  total: number;
  /** The kept cost the budget allows: (1 − rate) · total, rounded to whole entries for 'weights'. */
  target: number;
  /** Number of prunable entries. */
  entries: number;
}

export function makeBudget(weights: readonly PrunableWeight[], rate: number, kind: BudgetKind): Budget {
  if (!(rate > 0 && rate < 1)) throw new RangeError(`pruning rate must be in (0, 1), got ${rate}`);
  const costs = weights.map((w) => (kind === 'flops' ? w.usesPerSequence : 1));
  const total = weights.reduce((s, w, i) => s + w.rows * w.cols * costs[i], 0);
  const target = kind === 'weights' ? Math.round((1 - rate) * total) : (1 - rate) * total;
  return { rate, kind, costs, total, target, entries: weights.reduce((s, w) => s + w.rows * w.cols, 0) };
}

/** Kept cost of a set of masks under a budget's costs. */
export function keptCost(budget: Budget, masks: readonly Uint8Array[]): number {
  return masks.reduce((s, m, i) => s + m.reduce((n, v) => n + v, 0) * budget.costs[i], 0);
}
