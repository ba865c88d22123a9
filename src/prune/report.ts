/** The per-layer text report of a pruning run: what was kept, what was removed whole, what it costs. */
import { formatTable } from '../report/table.js';
import { formatPercent } from '../train/metrics.js';
import type { BudgetKind } from './budget.js';
import type { PruneResult } from './run.js';

const BUDGET_WORDS: Record<BudgetKind, string> = {
  weights: 'weights',
  flops: 'FLOPs',
  'weights+flops': 'weights and FLOPs',
};
const count = (n: number) => n.toLocaleString('en-US');
const ofTotal = (part: number, total: number) => `${count(part)}/${count(total)}`;

/** Network FLOPs per sequence (2 × multiply-adds): dense, on compacted matrices, and sparse. */
export function flopTotals(result: Pick<PruneResult, 'costs'>): {
  dense: number;
  structured: number;
  sparse: number;
} {
  return {
    dense: 2 * result.costs.reduce((s, c) => s + c.macs, 0),
    structured: 2 * result.costs.reduce((s, c) => s + c.structuredMacs, 0),
    sparse: 2 * result.costs.reduce((s, c) => s + c.sparseMacs, 0),
  };
}

/** Fraction of the pruned prunable weights that sit in removed rows, columns or blocks. */
export function structuredShare(result: Pick<PruneResult, 'layers'>): number {
  const pruned = result.layers.reduce((s, l) => s + l.structure.total - l.structure.kept, 0);
  const structured = result.layers.reduce((s, l) => s + l.structure.structuredRemoved, 0);
  return pruned === 0 ? 0 : structured / pruned;
}

export function formatPruneReport(result: PruneResult): string {
  const layerRows = [
    ['prunable weight', 'kept/total', 'pruned', 'empty rows', 'empty cols', 'empty blocks'],
    ...result.layers.map(({ name, structure: s }) => [
      name,
      ofTotal(s.kept, s.total),
      formatPercent(1 - s.kept / s.total, 2),
      ofTotal(s.emptyRows, s.rows),
      ofTotal(s.emptyCols, s.cols),
      ofTotal(s.emptyBlocks, s.blocks),
    ]),
  ];
  const costRows = [
    ['computation', 'FLOPs before', 'after, compacted', 'after, sparse'],
    ...result.costs.map((c) => [
      c.name,
      count(2 * c.macs),
      count(2 * c.structuredMacs),
      count(2 * c.sparseMacs),
    ]),
  ];
  const flops = flopTotals(result);
  const removed = (after: number) => formatPercent(1 - after / flops.dense);
  const dense = result.denseTop1 === null ? '' : ` (unpruned ${formatPercent(result.denseTop1)})`;
  return [
    `${result.method} at ${formatPercent(result.rate)} of prunable ${BUDGET_WORDS[result.budget]}, fold ${result.foldIndex + 1} (${result.fold})`,
    '',
    ...formatTable(layerRows, 'lrrrrr', true),
    '',
    ...formatTable(costRows, 'lrrr', true),
    '',
    `pruning rate: target ${formatPercent(result.rate, 2)}, achieved ${formatPercent(result.achievedRate, 2)} of prunable weights, ${formatPercent(result.achievedFlopRate, 2)} of their FLOPs`,
    `FLOPs per sequence: ${count(flops.dense)} dense → ${count(flops.structured)} compacted (−${removed(flops.structured)}) → ${count(flops.sparse)} sparse (−${removed(flops.sparse)})`,
    `structured share: ${formatPercent(structuredShare(result))} of the pruned weights lie in whole removed rows, columns or blocks`,
    `test accuracy: top-1 ${formatPercent(result.metrics.top1)}${dense}, mean-class ${formatPercent(result.metrics.meanClass)}`,
  ].join('\n');
}
