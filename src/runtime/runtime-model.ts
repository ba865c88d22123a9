/**
 * Between the toolkit's compacted model and the runtime's stored one: `toRuntimeModel` stores every
 * product of a CompactModel in the chosen (or cost-model) format, ready for the engine or a `.skp`
 * file; `toCompactModel` gives the dense matrices back (e.g. for ONNX export).
 */
import {
  BLOCK,
  chooseFormat,
  denseValues,
  LAYER_NAMES,
  type LayerName,
  type Matrix,
  matrixShape,
  type RuntimeLayer,
  type RuntimeModel,
  type StorageFormat,
  type StoredMatrix,
  storeMatrix,
} from '@skelprune/runtime/internal';
import type { CompactModel } from './compact.js';

export type FormatChoice = StorageFormat | 'auto';

export interface RuntimeOptions {
  /** One format for every layer or per layer (missing layers: 'auto'); 'auto' asks the cost model. */
  format?: FormatChoice | Partial<Record<LayerName, FormatChoice>>;
  /**
   * The batch size the cost model chooses stored formats for (default 1, the latency case); the
   * engine still runs other batch sizes in the formats it prefers there.
   */
  batch?: number;
}

/** The query and key projections side by side: W [chunks·C', 2D]. */
function projectionWeight(compact: CompactModel): Matrix {
  const { query, key } = compact;
  const dims = query.weight.cols;
  const data = new Float32Array(query.weight.rows * 2 * dims);
  for (let i = 0; i < query.weight.rows; i++) {
    data.set(query.weight.data.subarray(i * dims, (i + 1) * dims), i * 2 * dims);
    data.set(key.weight.data.subarray(i * dims, (i + 1) * dims), i * 2 * dims + dims);
  }
  return { rows: query.weight.rows, cols: 2 * dims, data };
}

/** A CompactModel with every product stored in the chosen (or cost-model) format. */
export function toRuntimeModel(compact: CompactModel, options: RuntimeOptions = {}): RuntimeModel {
  const batch = options.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1)
    throw new RangeError(`batch must be a positive integer, got ${batch}`);
  // Columns each product runs over: batch · paddedNodes at node level, batch at the FC level.
  const nodeColumns = batch * paddedRows(compact.nodes);
  const products: Record<LayerName, { weight: Matrix; bias: Float32Array; columns: number }> = {
    encoder: { weight: compact.encoder.weight, bias: compact.encoder.bias, columns: nodeColumns },
    projection: {
      weight: projectionWeight(compact),
      bias: Float32Array.of(...compact.query.bias, ...compact.key.bias),
      columns: nodeColumns,
    },
    conv: { weight: compact.conv.weight, bias: compact.conv.bias, columns: nodeColumns },
    fc: { weight: compact.fc.weight, bias: compact.fc.bias, columns: batch },
    classifier: { weight: compact.classifier.weight, bias: compact.classifier.bias, columns: batch },
  };
  const formatOf = (layer: LayerName): FormatChoice =>
    typeof options.format === 'object' ? (options.format[layer] ?? 'auto') : (options.format ?? 'auto');
  const layers = Object.fromEntries(
    LAYER_NAMES.map((name) => {
      const { weight, bias, columns } = products[name];
      const choice = formatOf(name);
      const format = choice === 'auto' ? chooseFormat(matrixShape(weight), columns) : choice;
      const layer: RuntimeLayer = { weight: storeMatrix(weight, format), bias: Float32Array.from(bias) };
      // A forced format runs at every batch size; a chosen one may change with it in the engine.
      return [name, choice === 'auto' ? layer : { ...layer, forced: true }];
    }),
  ) as Record<LayerName, RuntimeLayer>;
  return {
    nodes: compact.nodes,
    chunks: compact.chunks,
    classes: compact.classes,
    chunkWidth: compact.chunkWidth,
    encoderInputs: [...compact.encoder.inputs],
    scoreScale: compact.scoreScale,
    heads: compact.heads.map((h) => ({ ...h, bias: Float32Array.from(h.bias) })),
    fcInputs: [...compact.fc.inputs],
    layers,
  };
}

/** W [in, out] of a stored Wᵀ (rows = outputs). */
function layerWeight(stored: StoredMatrix): Matrix {
  const transposed = denseValues(stored);
  const data = new Float32Array(stored.rows * stored.cols);
  for (let o = 0; o < stored.rows; o++) {
    for (let i = 0; i < stored.cols; i++) data[i * stored.rows + o] = transposed[o * stored.cols + i];
  }
  return { rows: stored.cols, cols: stored.rows, data };
}

/** Columns [from, from + count) of a matrix. */
function columns(m: Matrix, from: number, count: number): Matrix {
  const data = new Float32Array(m.rows * count);
  for (let r = 0; r < m.rows; r++)
    data.set(m.data.subarray(r * m.cols + from, r * m.cols + from + count), r * count);
  return { rows: m.rows, cols: count, data };
}

/** The dense CompactModel a RuntimeModel stores (the inverse of toRuntimeModel), e.g. for ONNX export. */
export function toCompactModel(model: RuntimeModel): CompactModel {
  const { layers } = model;
  const projection = layerWeight(layers.projection.weight);
  const dims = projection.cols / 2;
  return {
    nodes: model.nodes,
    chunks: model.chunks,
    classes: model.classes,
    chunkWidth: model.chunkWidth,
    encoder: {
      inputs: [...model.encoderInputs],
      weight: layerWeight(layers.encoder.weight),
      bias: layers.encoder.bias,
    },
    query: { weight: columns(projection, 0, dims), bias: layers.projection.bias.slice(0, dims) },
    key: { weight: columns(projection, dims, dims), bias: layers.projection.bias.slice(dims) },
    scoreScale: model.scoreScale,
    heads: model.heads.map((h) => ({ ...h })),
    conv: { weight: layerWeight(layers.conv.weight), bias: layers.conv.bias },
    fc: { inputs: [...model.fcInputs], weight: layerWeight(layers.fc.weight), bias: layers.fc.bias },
    classifier: { weight: layerWeight(layers.classifier.weight), bias: layers.classifier.bias },
  };
}

const paddedRows = (n: number) => Math.ceil(n / BLOCK) * BLOCK;
