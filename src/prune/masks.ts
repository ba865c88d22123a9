/**
 * Hard (binary) masks: selecting exactly the entries a budget allows, and the structure a mask leaves
 * (empty rows, columns and blocks: what compaction can physically remove).
 */
import { SkelpruneError } from '../errors.js';
import type { Tiling } from '../model/layers.js';
import type { CostLimit } from './budget.js';

/** A 0/1 mask over one [rows, cols] weight, row-major. */
export type HardMask = Uint8Array;

/** What a hard mask keeps of a weight matrix and which of its rows, columns and blocks are empty. */
export interface MaskStructure {
  /** Entries of the matrix: rows × cols. */
  total: number;
  /** Entries the mask keeps. */
  kept: number;
  /** Rows of the matrix. */
  rows: number;
  /** Columns of the matrix. */
  cols: number;
  /** Blocks of the matrix's block layout. */
  blocks: number;
  /** Rows whose entries are all pruned. */
  emptyRows: number;
  /** Columns whose entries are all pruned. */
  emptyCols: number;
  /** Blocks whose entries are all pruned. */
  emptyBlocks: number;
  /** Entries inside empty rows, columns or blocks: removed structurally rather than one by one. */
  structuredRemoved: number;
}

/** Which rows, columns and blocks of a mask still hold a kept entry. */
export function liveGroups(mask: HardMask, rows: number, cols: number, t: Tiling) {
  const rowLive = new Uint8Array(rows);
  const colLive = new Uint8Array(cols);
  const blockLive = new Uint8Array(t.blockRows * t.blockCols);
  for (let i = 0; i < rows; i++) {
    const blockRow = Math.floor(i / t.rowsPerBlock) * t.blockCols;
    for (let j = 0; j < cols; j++) {
      if (mask[i * cols + j]) {
        rowLive[i] = 1;
        colLive[j] = 1;
        blockLive[blockRow + Math.floor(j / t.colsPerBlock)] = 1;
      }
    }
  }
  return { rowLive, colLive, blockLive };
}

export function maskStructure(mask: HardMask, rows: number, cols: number, t: Tiling): MaskStructure {
  const { rowLive, colLive, blockLive } = liveGroups(mask, rows, cols, t);
  let kept = 0;
  let structuredRemoved = 0;
  for (let i = 0; i < rows; i++) {
    const blockRow = Math.floor(i / t.rowsPerBlock) * t.blockCols;
    for (let j = 0; j < cols; j++) {
      if (mask[i * cols + j]) kept++;
      else if (!rowLive[i] || !colLive[j] || !blockLive[blockRow + Math.floor(j / t.colsPerBlock)])
        structuredRemoved++;
    }
  }
  const count = (live: Uint8Array) => live.reduce((n, v) => n + (v ? 0 : 1), 0);
  return {
    total: rows * cols,
    kept,
    rows,
    cols,
    blocks: blockLive.length,
    emptyRows: count(rowLive),
    emptyCols: count(colLive),
    emptyBlocks: count(blockLive),
    structuredRemoved,
  };
}

/** Entry order by score (higher first), then by `tieBreak` (higher first), then by position. */
function rankEntries(score: Float32Array, tieBreak?: Float32Array): Uint32Array {
  const order = new Uint32Array(score.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const tie = tieBreak ?? new Float32Array(score.length);
  return order.sort((a, b) => score[b] - score[a] || tie[b] - tie[a] || a - b);
}

/**
 * Keeps the highest-scoring entries across several matrices until the kept cost reaches `budget`
 * (each entry of matrix ℓ costs `costs[ℓ]`; all 1 for a weight-count budget). Ties in `scores` are
 * broken by `tieBreak` (higher first), then by position, so the result is deterministic and the
 * budget is met exactly up to one entry.
 */
export function keepTopEntries(
  scores: readonly Float32Array[],
  budget: number,
  costs: readonly number[] = scores.map(() => 1),
  tieBreak?: readonly Float32Array[],
): HardMask[] {
  const offsets: number[] = [];
  let total = 0;
  for (const s of scores) {
    offsets.push(total);
    total += s.length;
  }
  const flatScore = new Float32Array(total);
  const flatTie = new Float32Array(total);
  const layerOf = new Uint16Array(total);
  scores.forEach((s, l) => {
    flatScore.set(s, offsets[l]);
    if (tieBreak) flatTie.set(tieBreak[l], offsets[l]);
    layerOf.fill(l, offsets[l], offsets[l] + s.length);
  });
  const masks = scores.map((s) => new Uint8Array(s.length));
  let spent = 0;
  for (const index of rankEntries(flatScore, flatTie)) {
    const cost = costs[layerOf[index]];
    if (spent + cost > budget + 1e-9) {
      if (costs.every((c) => c === cost)) break;
      continue;
    }
    spent += cost;
    const l = layerOf[index];
    masks[l][index - offsets[l]] = 1;
  }
  return masks;
}

/**
 * Splits a cost budget among matrices in proportion to their soft kept cost (`soft[ℓ]` · `costs[ℓ]`),
 * as whole entry counts capped at each matrix's size (what a full matrix cannot take goes to the
 * others); the counts' total cost falls short of the budget by less than one entry.
 */
export function allocateBudget(
  soft: readonly number[],
  costs: readonly number[],
  sizes: readonly number[],
  budget: number,
): number[] {
  const counts = sizes.map(() => 0);
  const exact = sizes.map(() => 0);
  const open = new Set(soft.flatMap((s, l) => (s > 0 && sizes[l] > 0 ? [l] : [])));
  let remaining = budget;
  for (let capped = true; capped && open.size > 0; ) {
    capped = false;
    const weight = [...open].reduce((w, l) => w + soft[l] * costs[l], 0);
    for (const l of open) {
      exact[l] = (remaining * soft[l]) / weight;
      if (exact[l] < sizes[l]) continue;
      counts[l] = sizes[l];
      remaining -= sizes[l] * costs[l];
      open.delete(l);
      capped = true;
      break;
    }
  }
  for (const l of open) counts[l] = Math.floor(exact[l]);
  let spent = counts.reduce((s, n, l) => s + n * costs[l], 0);
  const byRemainder = [...open].sort((a, b) => exact[b] - counts[b] - (exact[a] - counts[a]));
  for (const l of byRemainder) {
    if (counts[l] < sizes[l] && spent + costs[l] <= budget + 1e-9) {
      counts[l]++;
      spent += costs[l];
    }
  }
  return counts;
}

/** Largest tilt exponent of allocateUnderCap: cost ratios up to 10⁴ stay within float64 range. */
const MAX_TILT = 64;

/**
 * Entry counts per matrix for a weight count under a cost cap: the learned shares (`soft[ℓ]`) tilted
 * toward cheap matrices by (costs[ℓ]/min cost)^−α with the smallest α (bisected) whose counts cost at
 * most `cap.target`. Throws when even α = MAX_TILT cannot meet the cap.
 */
export function allocateUnderCap(
  soft: readonly number[],
  sizes: readonly number[],
  count: number,
  cap: Pick<CostLimit, 'costs' | 'target'>,
): number[] {
  const cheapest = Math.min(...cap.costs.filter((_, l) => soft[l] > 0 && sizes[l] > 0));
  const at = (alpha: number) =>
    allocateBudget(
      soft.map((s, l) => s * (cap.costs[l] / cheapest) ** -alpha),
      sizes.map(() => 1),
      sizes,
      count,
    );
  const fits = (counts: number[]) => counts.reduce((s, n, l) => s + n * cap.costs[l], 0) <= cap.target + 1e-9;
  const untilted = at(0);
  if (fits(untilted)) return untilted;
  if (!fits(at(MAX_TILT)))
    throw new SkelpruneError(
      `cannot keep ${count} entries within the FLOP cap ${cap.target.toFixed(0)}: the layers the soft masks kept cost too many FLOPs per weight (use budget 'weights' or 'flops')`,
    );
  let [low, high] = [0, MAX_TILT];
  for (let i = 0; i < 40; i++) {
    const mid = (low + high) / 2;
    if (fits(at(mid))) high = mid;
    else low = mid;
  }
  return at(high);
}

/**
 * Hard masks that keep each matrix's share of the budget as learned by soft masks (`soft[ℓ]`: the
 * matrix's Σψ), its highest-scoring entries within it. Unlike one global ranking, hardening then
 * never empties a layer the soft network relied on when the soft masks overshoot the budget. Under a
 * FLOP cap the shares tilt toward cheap layers just enough to respect it (allocateUnderCap).
 */
export function keepLearnedShares(
  scores: readonly Float32Array[],
  soft: readonly number[],
  budget: CostLimit & { flopCap?: CostLimit },
  tieBreak?: readonly Float32Array[],
): HardMask[] {
  const sizes = scores.map((s) => s.length);
  const counts = budget.flopCap
    ? allocateUnderCap(soft, sizes, budget.target, budget.flopCap)
    : allocateBudget(soft, budget.costs, sizes, budget.target);
  return scores.map((s, l) => {
    const mask = new Uint8Array(s.length);
    const order = rankEntries(s, tieBreak?.[l]);
    for (let k = 0; k < counts[l]; k++) mask[order[k]] = 1;
    return mask;
  });
}

/** Fraction of entries pruned across masks (the pruning rate by weight count). */
export function pruningRate(masks: readonly HardMask[]): number {
  let total = 0;
  let kept = 0;
  for (const m of masks) {
    total += m.length;
    for (const v of m) kept += v;
  }
  return total === 0 ? 0 : 1 - kept / total;
}
