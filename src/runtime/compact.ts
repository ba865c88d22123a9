/**
 * Compaction: the pruned GCN rebuilt with physically smaller matrices, following the compaction plan
 * (src/model/compaction.ts). Removed rows, columns, heads and filters disappear; what a removed
 * column leaves behind is a constant (relu of its bias), which is folded exactly into the next
 * layer's bias — through the attention too, since every row of a softmax adjacency sums to 1. The
 * result computes the same function as the masked model.
 *
 * Node channels: the encoder's live columns c' (C' of them) give M·C' node channels, index m·C' + c'.
 */

import type { Matrix, RuntimeHead } from '@skelprune/runtime/internal';
import { compactionPlan } from '../model/compaction.js';
import type { SkeletonGcn } from '../model/gcn.js';
import type { Linear } from '../model/layers.js';
import type { HardMask } from '../prune/masks.js';

export type CompactHead = RuntimeHead;

export type { Matrix } from '@skelprune/runtime/internal';

export interface CompactModel {
  nodes: number;
  chunks: number;
  classes: number;
  /** Width of one chunk of a node's input signal (before selecting `encoder.inputs`). */
  chunkWidth: number;
  encoder: { inputs: number[]; weight: Matrix; bias: Float32Array };
  /** Query and key projections of all dynamic heads' kept dims, with biases from constant channels. */
  query: { weight: Matrix; bias: Float32Array };
  key: { weight: Matrix; bias: Float32Array };
  /** 1/√d of the original head dimension. */
  scoreScale: number;
  heads: CompactHead[];
  /** Rows: every head's channels, head after head; columns: the kept filters. */
  conv: { weight: Matrix; bias: Float32Array };
  /** Rows: indices v·F' + f' into the [N, F'] convolution output. */
  fc: { inputs: number[]; weight: Matrix; bias: Float32Array };
  classifier: { weight: Matrix; bias: Float32Array };
}

const relu = (x: number) => Math.max(x, 0);

/** 0, 1, …, n − 1. */
const indices = (n: number) => Array.from({ length: n }, (_, i) => i);

function submatrix(
  data: Float32Array,
  cols: number,
  rowSet: readonly number[],
  colSet: readonly number[],
): Matrix {
  const out = new Float32Array(rowSet.length * colSet.length);
  rowSet.forEach((r, i) => {
    colSet.forEach((c, j) => {
      out[i * colSet.length + j] = data[r * cols + c];
    });
  });
  return { rows: rowSet.length, cols: colSet.length, data: out };
}

/** An input row r of a weight whose value is a constant. */
interface ConstantInput {
  row: number;
  value: number;
}

/** bias[j] + Σ over constant inputs r of value(r) · W[r, colSet[j]], in float64. */
function foldedBias(
  bias: Float32Array | null,
  data: Float32Array,
  cols: number,
  colSet: readonly number[],
  constants: readonly ConstantInput[],
): Float64Array {
  return Float64Array.from(colSet, (c) => {
    let sum = bias ? bias[c] : 0;
    for (const { row, value } of constants) sum += value * data[row * cols + c];
    return sum;
  });
}

/** {@link foldedBias} over every output of a layer, from its own bias. */
function layerFoldedBias(layer: Linear, constants: readonly ConstantInput[]): Float64Array {
  return foldedBias(
    layer.bias!.data,
    layer.weight.data,
    layer.outFeatures,
    indices(layer.outFeatures),
    constants,
  );
}

/**
 * Builds the compact model of a GCN whose prunable weights are already masked (pruned entries zero);
 * `masks` says which entries are kept. A dense model compacts with every mask full.
 */
export function compactModel(model: SkeletonGcn, masks: Readonly<Record<string, HardMask>>): CompactModel {
  const plan = compactionPlan(model, masks);
  const { nodes } = model.shape;
  const {
    heads,
    headDim,
    encoderChunks: chunks,
    encodingChannels: c,
    convChannels: filters,
    fcUnits,
  } = model.config;
  const width = chunks * c;
  const weights = (layer: { weight: { data: Float32Array } }) => layer.weight.data;

  // Encoder: live columns are computed; every other channel is the constant relu(bias).
  const encBias = model.encoder.bias!.data;
  const encPosition = new Map(plan.encoder.cols.map((col, i) => [col, i]));
  const compactChannel = (ch: number) =>
    Math.floor(ch / c) * plan.encoder.cols.length + encPosition.get(ch % c)!;
  const isComputed = (ch: number) => encPosition.has(ch % c);
  const constantChannels = indices(width)
    .filter((ch) => !isComputed(ch))
    .map((ch) => ({ row: ch, value: relu(encBias[ch % c]) }));

  // Query/key over the kept dims; rows are the computed channels, constants become biases.
  const qkDims = plan.heads.flatMap((h) => h.dims);
  const computedRows = (rows: readonly number[]) => rows.filter(isComputed);
  const projection = (layer: SkeletonGcn['query'], rows: readonly number[]) => {
    const dense = submatrix(weights(layer), heads * headDim, computedRows(rows), qkDims);
    // Place the rows at their compact channel positions (channels absent from `rows` read as zero).
    const data = new Float32Array(chunks * plan.encoder.cols.length * qkDims.length);
    computedRows(rows).forEach((ch, i) => {
      data.set(
        dense.data.subarray(i * qkDims.length, (i + 1) * qkDims.length),
        compactChannel(ch) * qkDims.length,
      );
    });
    const bias = foldedBias(null, weights(layer), heads * headDim, qkDims, constantChannels);
    return {
      weight: { rows: chunks * plan.encoder.cols.length, cols: qkDims.length, data },
      bias: Float32Array.from(bias),
    };
  };

  // Heads: alive ones keep their adjacency; their computed channels feed the convolution.
  let dimOffset = 0;
  const biasData = model.attentionBias.data;
  const compactHeads: CompactHead[] = plan.heads.flatMap((h, index) => {
    if (!h.alive) return [];
    const dims = h.dims.map((_, i) => dimOffset + i);
    dimOffset += h.dims.length;
    return [
      {
        index,
        bias: biasData.slice(index * nodes * nodes, (index + 1) * nodes * nodes),
        dims,
        channels: h.channels.map(compactChannel),
      },
    ];
  });

  // Convolution: computed rows of alive heads; constant-channel rows of every head fold into the bias.
  const convRows = plan.heads.flatMap((h, index) =>
    h.alive ? h.channels.map((ch) => index * width + ch) : [],
  );
  const convConstants = Array.from({ length: heads }, (_, index) =>
    constantChannels.map(({ row, value }) => ({ row: index * width + row, value })),
  ).flat();
  const convFolded = layerFoldedBias(model.conv, convConstants);
  const filterPosition = new Map(plan.conv.cols.map((f, i) => [f, i]));

  // FC: rows of computed filters; constant filters (relu of their folded bias) fold into its bias.
  const constantFilters = indices(filters).filter((f) => !filterPosition.has(f));
  const fcConstants = constantFilters.flatMap((f) =>
    Array.from({ length: nodes }, (_, v) => ({ row: v * filters + f, value: relu(convFolded[f]) })),
  );
  const fcFolded = layerFoldedBias(model.fc, fcConstants);
  const unitPosition = new Set(plan.fc.cols);

  // Classifier: constant units fold into its bias.
  const classes = model.shape.classes;
  const unitConstants = indices(fcUnits)
    .filter((u) => !unitPosition.has(u))
    .map((u) => ({ row: u, value: relu(fcFolded[u]) }));
  const allClasses = indices(classes);
  return {
    nodes,
    chunks,
    classes,
    chunkWidth: model.encoder.inFeatures,
    encoder: {
      inputs: plan.encoder.rows,
      weight: submatrix(weights(model.encoder), c, plan.encoder.rows, plan.encoder.cols),
      bias: Float32Array.from(plan.encoder.cols, (col) => encBias[col]),
    },
    query: projection(model.query, plan.query.rows),
    key: projection(model.key, plan.key.rows),
    scoreScale: 1 / Math.sqrt(headDim),
    heads: compactHeads,
    conv: {
      weight: submatrix(weights(model.conv), filters, convRows, plan.conv.cols),
      bias: Float32Array.from(plan.conv.cols, (f) => convFolded[f]),
    },
    fc: {
      inputs: plan.fc.rows.map(
        (r) => Math.floor(r / filters) * plan.conv.cols.length + filterPosition.get(r % filters)!,
      ),
      weight: submatrix(weights(model.fc), fcUnits, plan.fc.rows, plan.fc.cols),
      bias: Float32Array.from(plan.fc.cols, (u) => fcFolded[u]),
    },
    classifier: {
      weight: submatrix(weights(model.classifier), classes, plan.fc.cols, allClasses),
      bias: Float32Array.from(layerFoldedBias(model.classifier, unitConstants)),
    },
  };
}
