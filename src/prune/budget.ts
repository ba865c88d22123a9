/**
 * The pruning budget: what "prune at rate r" means. By weight count (the default) the kept entries
 * are (1 − r)·N; by FLOPs each entry counts as often as it is used per sequence, so the kept
 * multiply-adds of the prunable layers are (1 − r) of their dense total; 'weights+flops' keeps exactly
 * (1 − r)·N entries whose multiply-adds are also at most (1 − r) of the dense total, so the pruned
 * model is both that much smaller and at least that much cheaper.
 */
import type { PrunableWeight } from '../model/layers.js';

/** What a pruning rate counts: weights, FLOPs, or both at once (CTF methods: exactly the rate of the weights, at least that of the FLOPs). */
export const BUDGET_KINDS = ['weights', 'flops', 'weights+flops'] as const;
/** What a pruning rate counts. */
export type BudgetKind = (typeof BUDGET_KINDS)[number];

/** Σ cost of the kept entries against a limit. */
export interface CostLimit {
  /** Cost of one kept entry, per prunable weight. */
  costs: number[];
  /** Σ cost over all entries (dense). */
  total: number;
  /** The kept cost allowed: (1 − rate) · total, rounded to whole entries for a weight count. */
  target: number;
}

export interface Budget extends CostLimit {
  rate: number;
  kind: BudgetKind;
  /** Number of prunable entries. */
  entries: number;
  /** 'weights+flops': the FLOP limit the kept weights must respect as well (kept ≤ target). */
  flopCap?: CostLimit;
}

/** Each weight's cost per kept entry (1, or its uses per sequence) and the dense total. */
function costsOf(weights: readonly PrunableWeight[], byFlops: boolean): Omit<CostLimit, 'target'> {
  const costs = weights.map((w) => (byFlops ? w.usesPerSequence : 1));
  return { costs, total: weights.reduce((s, w, i) => s + w.rows * w.cols * costs[i], 0) };
}

function costLimit(weights: readonly PrunableWeight[], rate: number, byFlops: boolean): CostLimit {
  const { costs, total } = costsOf(weights, byFlops);
  const target = byFlops ? (1 - rate) * total : Math.round((1 - rate) * total);
  return { costs, total, target };
}

export function makeBudget(weights: readonly PrunableWeight[], rate: number, kind: BudgetKind): Budget {
  if (!(rate > 0 && rate < 1)) throw new RangeError(`pruning rate must be in (0, 1), got ${rate}`);
  const entries = weights.reduce((s, w) => s + w.rows * w.cols, 0);
  const primary = costLimit(weights, rate, kind === 'flops');
  const flopCap = kind === 'weights+flops' ? { flopCap: costLimit(weights, rate, true) } : {};
  return { rate, kind, entries, ...primary, ...flopCap };
}

/** Kept cost of a set of masks under a limit's costs. */
export function keptCost(limit: Pick<CostLimit, 'costs'>, masks: readonly Uint8Array[]): number {
  return masks.reduce((s, m, i) => s + m.reduce((n, v) => n + v, 0) * limit.costs[i], 0);
}

/** Fraction of the prunable FLOPs the masks remove. */
export function flopRate(weights: readonly PrunableWeight[], masks: readonly Uint8Array[]): number {
  const flops = costsOf(weights, true);
  return 1 - keptCost(flops, masks) / flops.total;
}
