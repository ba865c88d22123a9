/** The per-layer text report of a pruning run: what was kept, what was removed whole, what it costs. */
import { formatTable } from '../report/table.js';
import { formatPercent } from '../train/metrics.js';
import type { BudgetKind } from './budget.js';
import type { MaskStructure } from './masks.js';
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

/** Header of the per-layer mask table. */
export const LAYER_COLUMNS = [
  'prunable weight',
  'kept/total',
  'pruned',
  'empty rows',
  'empty cols',
  'empty blocks',
];

/** Header of the per-computation FLOP table. */
export const COST_COLUMNS = ['computation', 'FLOPs before', 'after, compacted', 'after, sparse'];

/**
 * The per-layer mask table's rows under LAYER_COLUMNS (the `prune` report's, and the HTML report's),
 * with a `total` row over every prunable weight when asked: its pruned share is the achieved rate.
 */
export function layerRows(result: Pick<PruneResult, 'layers'>, total = false): string[][] {
  const row = (name: string, s: MaskStructure) => [
    name,
    ofTotal(s.kept, s.total),
    formatPercent(1 - s.kept / s.total, 2),
    ofTotal(s.emptyRows, s.rows),
    ofTotal(s.emptyCols, s.cols),
    ofTotal(s.emptyBlocks, s.blocks),
  ];
  const rows = result.layers.map(({ name, structure }) => row(name, structure));
  if (!total) return rows;
  const sum = (key: keyof MaskStructure) => result.layers.reduce((s, l) => s + l.structure[key], 0);
  const totals: MaskStructure = {
    total: sum('total'),
    kept: sum('kept'),
    rows: sum('rows'),
    cols: sum('cols'),
    blocks: sum('blocks'),
    emptyRows: sum('emptyRows'),
    emptyCols: sum('emptyCols'),
    emptyBlocks: sum('emptyBlocks'),
    structuredRemoved: sum('structuredRemoved'),
  };
  return [...rows, row('total', totals)];
}

/** The per-computation FLOP rows under COST_COLUMNS, with a `total` row (flopTotals) when asked. */
export function costRows(result: Pick<PruneResult, 'costs'>, total = false): string[][] {
  const rows = result.costs.map((c) => [
    c.name,
    count(2 * c.macs),
    count(2 * c.structuredMacs),
    count(2 * c.sparseMacs),
  ]);
  if (!total) return rows;
  const flops = flopTotals(result);
  return [...rows, ['total', count(flops.dense), count(flops.structured), count(flops.sparse)]];
}

export function formatPruneReport(result: PruneResult): string {
  const layerTable = [LAYER_COLUMNS, ...layerRows(result)];
  const costTable = [COST_COLUMNS, ...costRows(result)];
  const flops = flopTotals(result);
  const removed = (after: number) => formatPercent(1 - after / flops.dense);
  const dense = result.denseTop1 === null ? '' : ` (unpruned ${formatPercent(result.denseTop1)})`;
  const control =
    result.controlTop1 === null
      ? []
      : [
          `control: the unpruned model trained the same extra epochs, nothing pruned: top-1 ${formatPercent(result.controlTop1)} (pruned ${formatSigned(result.metrics.top1 - result.controlTop1)} points)`,
        ];
  return [
    `${result.method} at ${formatPercent(result.rate)} of prunable ${BUDGET_WORDS[result.budget]}, fold ${result.foldIndex + 1} (${result.fold})`,
    '',
    ...formatTable(layerTable, 'lrrrrr', true),
    '',
    ...formatTable(costTable, 'lrrr', true),
    '',
    `pruning rate: target ${formatPercent(result.rate, 2)}, achieved ${formatPercent(result.achievedRate, 2)} of prunable weights, ${formatPercent(result.achievedFlopRate, 2)} of their FLOPs`,
    `FLOPs per sequence: ${count(flops.dense)} dense → ${count(flops.structured)} compacted (−${removed(flops.structured)}) → ${count(flops.sparse)} sparse (−${removed(flops.sparse)})`,
    `structured share: ${formatPercent(structuredShare(result))} of the pruned weights lie in whole removed rows, columns or blocks`,
    `test accuracy: top-1 ${formatPercent(result.metrics.top1)}${dense}, mean-class ${formatPercent(result.metrics.meanClass)}`,
    ...control,
  ].join('\n');
}

/** A difference of two accuracies in percentage points, with its sign. */
function formatSigned(difference: number): string {
  const points = (difference * 100).toFixed(1);
  return difference >= 0 ? `+${points}` : points;
}
