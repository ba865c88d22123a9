/**
 * What a set of hard masks lets us remove from the GCN, following its data flow:
 *
 *  - an encoder column is a node channel (for every temporal chunk); a channel no query, key or
 *    convolution row reads is dead, and so is its encoder column;
 *  - a head whose convolution block is empty is dead: its attention (query/key columns, scores,
 *    softmax, mixing A^k·U) disappears; a live head whose query or key columns are all pruned keeps
 *    only its static learned adjacency;
 *  - a convolution filter no FC row reads is dead, and the FC rows of dead filters are removed;
 *  - an FC unit (column) with no live weight is constant (relu of its bias): it folds into the
 *    classifier's bias, like every other constant a removed column leaves behind.
 *
 * The plan lists the live rows and columns of every matrix and the multiply-adds per sequence of
 * every computation, dense (before), structured (dense on the compacted matrices) and sparse (only
 * kept entries). The runtime builds its compacted model from the same plan.
 */
import { graphConvolutionOrder } from '@skelprune/runtime/internal';
import type { HardMask } from '../prune/masks.js';
import type { LayerCost, SkeletonGcn } from './gcn.js';

export interface LiveMatrix {
  /** Live row and column indices of the original matrix, ascending. */
  rows: number[];
  cols: number[];
  /** Kept entries inside the live rows × columns. */
  nonzeros: number;
}

export interface CompactionPlan {
  encoder: LiveMatrix;
  query: LiveMatrix;
  key: LiveMatrix;
  conv: LiveMatrix;
  fc: LiveMatrix;
  /** Per head: alive (its convolution block is used), and whether it still computes Q·Kᵀ. */
  heads: { alive: boolean; dynamic: boolean; dims: number[]; channels: number[] }[];
  /** Live node channels (indices into the encoder output of all chunks, m·C + c). */
  channels: number[];
  costs: PrunedCost[];
}

/** A layer's cost before and after pruning: dense, on the compacted matrices, and counting kept weights only. */
export interface PrunedCost extends LayerCost {
  /** Multiply-adds per sequence on the compacted dense matrices. */
  structuredMacs: number;
  /** Multiply-adds per sequence counting only kept weights. */
  sparseMacs: number;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function rowHasEntry(mask: HardMask, cols: number, row: number, colSet: ArrayLike<number>): boolean {
  for (let j = 0; j < colSet.length; j++) if (mask[row * cols + colSet[j]]) return true;
  return false;
}

function colHasEntry(mask: HardMask, cols: number, col: number, rowSet: ArrayLike<number>): boolean {
  for (let i = 0; i < rowSet.length; i++) if (mask[rowSet[i] * cols + col]) return true;
  return false;
}

function countKept(mask: HardMask, cols: number, rows: readonly number[], colSet: readonly number[]): number {
  let n = 0;
  for (const i of rows) for (const j of colSet) n += mask[i * cols + j];
  return n;
}

/** The compaction plan of a GCN under hard masks (by prunable weight name; a missing mask keeps all). */
export function compactionPlan(
  model: SkeletonGcn,
  masks: Readonly<Record<string, HardMask>>,
): CompactionPlan {
  const { nodes } = model.shape;
  const { heads, headDim, encoderChunks, encodingChannels, convChannels: filters } = model.config;
  const width = encoderChunks * encodingChannels;
  const maskOf = (name: string, rows: number, cols: number) =>
    masks[name] ?? new Uint8Array(rows * cols).fill(1);
  const enc = maskOf('encoder', model.encoder.inFeatures, encodingChannels);
  const q = maskOf('query', width, heads * headDim);
  const k = maskOf('key', width, heads * headDim);
  const conv = maskOf('conv', heads * width, filters);
  const fc = maskOf('fc', nodes * filters, model.config.fcUnits);
  const units = model.config.fcUnits;

  // Constants fold into biases downstream: a channel exists only if its encoder column keeps a weight,
  // a filter only if its convolution column does, an FC unit only if it reads a computed filter.
  const encCols = range(encodingChannels).filter((c) =>
    colHasEntry(enc, encodingChannels, c, range(model.encoder.inFeatures)),
  );
  const channelExists = (ch: number) => encCols.includes(ch % encodingChannels);
  const allFcRows = range(nodes * filters);
  const readByFc = range(filters).filter((f) =>
    range(nodes).some((v) => rowHasEntry(fc, units, v * filters + f, range(units))),
  );
  const convRows = range(heads * width).filter(
    (r) => channelExists(r % width) && rowHasEntry(conv, filters, r, readByFc),
  );
  const convCols = readByFc.filter((f) => colHasEntry(conv, filters, f, convRows));
  const computedFilter = new Uint8Array(filters);
  for (const f of convCols) computedFilter[f] = 1;
  const candidateRows = allFcRows.filter((r) => computedFilter[r % filters]);
  const fcUnits = range(units).filter((u) => colHasEntry(fc, units, u, candidateRows));
  const fcRows = candidateRows.filter((r) => rowHasEntry(fc, units, r, fcUnits));

  const headInfo = range(heads).map((h) => {
    const channels = convRows.filter((r) => Math.floor(r / width) === h).map((r) => r % width);
    const alive = channels.length > 0;
    const candidateDims = range(headDim).map((d) => h * headDim + d);
    // A dimension counts when both its query and key columns keep a weight, even on a constant
    // channel: a constant q or k component still varies the scores (it becomes a bias).
    const allRows = range(width);
    const dims = alive
      ? candidateDims.filter(
          (d) => colHasEntry(q, heads * headDim, d, allRows) && colHasEntry(k, heads * headDim, d, allRows),
        )
      : [];
    return { alive, dynamic: dims.length > 0, dims, channels };
  });
  const qkCols = headInfo.flatMap((h) => h.dims);
  const qkRows = (mask: HardMask) =>
    range(width).filter((ch) => channelExists(ch) && rowHasEntry(mask, heads * headDim, ch, qkCols));
  const qRows = qkRows(q);
  const kRows = qkRows(k);

  // Channels read by anyone; their encoder columns stay.
  const used = new Set<number>([...qRows, ...kRows, ...convRows.map((r) => r % width)]);
  const channels = range(width).filter((ch) => used.has(ch));
  const encLiveCols = encCols.filter((c) => channels.some((ch) => ch % encodingChannels === c));
  const encRows = range(model.encoder.inFeatures).filter((i) =>
    rowHasEntry(enc, encodingChannels, i, encLiveCols),
  );

  const live = (mask: HardMask, cols: number, rows: number[], colSet: number[]): LiveMatrix => ({
    rows,
    cols: colSet,
    nonzeros: countKept(mask, cols, rows, colSet),
  });
  const plan: Omit<CompactionPlan, 'costs'> = {
    encoder: live(enc, encodingChannels, encRows, encLiveCols),
    query: live(q, heads * headDim, qRows, qkCols),
    key: live(k, heads * headDim, kRows, qkCols),
    conv: live(conv, filters, convRows, convCols),
    fc: live(fc, units, fcRows, fcUnits),
    heads: headInfo,
    channels,
  };
  return { ...plan, costs: prunedCosts(model, plan) };
}

function prunedCosts(model: SkeletonGcn, plan: Omit<CompactionPlan, 'costs'>): PrunedCost[] {
  const { nodes } = model.shape;
  const chunks = model.config.encoderChunks;
  const dense = new Map(model.costs().map((c) => [c.name, c]));
  const matrix = (name: string, m: LiveMatrix, uses: number): PrunedCost => ({
    ...dense.get(name)!,
    structuredMacs: m.rows.length * m.cols.length * uses,
    sparseMacs: m.nonzeros * uses,
  });
  const aliveHeads = plan.heads.filter((h) => h.alive);
  const scoreMacs = aliveHeads.reduce((s, h) => s + nodes * nodes * h.dims.length, 0);
  const shape = {
    nodes,
    channelCounts: aliveHeads.map((h) => h.channels.length),
    filters: plan.conv.cols.length,
    width: chunks * plan.encoder.cols.length,
  };
  // Each count follows the order its products run in: dense on the compacted matrices, or sparse.
  const structured = graphConvolutionOrder(shape);
  const sparse = graphConvolutionOrder({ ...shape, convNonzeros: plan.conv.nonzeros });
  const classifier = dense.get('classifier')!;
  const classifierMacs = plan.fc.cols.length * model.shape.classes;
  return [
    matrix('encoder', plan.encoder, nodes * chunks),
    matrix('query', plan.query, nodes),
    matrix('key', plan.key, nodes),
    { ...dense.get('attention scores')!, structuredMacs: scoreMacs, sparseMacs: scoreMacs },
    { ...dense.get('graph mixing A·U')!, structuredMacs: structured.mixMacs, sparseMacs: sparse.mixMacs },
    { ...dense.get('conv')!, structuredMacs: structured.convMacs, sparseMacs: sparse.convMacs },
    matrix('fc', plan.fc, 1),
    { ...classifier, structuredMacs: classifierMacs, sparseMacs: classifierMacs },
  ];
}
