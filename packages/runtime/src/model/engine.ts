/**
 * The inference engine: runs a compacted pruned GCN (compact.ts) on the wasm SIMD kernels (or their
 * TS fallback), in Node and browsers alike.
 *
 * A `RuntimeModel` is what a deployed model holds: the compact model's metadata plus one
 * `StoredMatrix` (dense, csr or bsr; storage.ts) and bias per product. The toolkit's export builds it
 * from a compacted model, choosing each layer's format with the cost model (or as forced); a loaded
 * file provides it directly. `InferenceEngine` uploads it into the kernels' heap once and preallocates
 * every activation per batch size, so `predict` allocates nothing after the first call of a size.
 *
 * Activations are channels-major (a row per channel): node-level rows hold `paddedNodes` columns per
 * sample (nodes rounded up to 4, so every sample starts on a SIMD vector), classifier-level rows one
 * column per sample (a plain vector at batch 1). Padding is zero or a finite function of zeros, so it
 * never reaches the logits. One forward pass is ten or so kernel calls:
 *
 *   gather input → encoder per chunk (relu) → query|key projection → attention of all heads (scores,
 *   softmax, mixing) → conv (relu) → gather FC inputs → fc (relu) → classifier.
 *
 * When that takes fewer multiply-adds (graph-order.ts `graphConvolutionOrder`, counting a sparse
 * conv's kept entries), the graph convolution runs filters first: one product from the node channels to every head's
 * filters (the stack, which then runs as the conv), and the attention mixes those, each head adding
 * its mixed filters to the previous heads' and the last one adding the conv's bias and relu.
 */
import { defaultKernels } from '../kernels/default.js';
import type { Heap } from '../kernels/heap.js';
import {
  ATTENTION_ADD,
  ATTENTION_FINISH,
  type AttentionParams,
  type GatherParams,
  type Kernels,
  type Ptr,
} from '../kernels/types.js';
import { chooseFormat } from './cost-model.js';
import { type GraphConvolutionOrder, graphConvolutionOrder } from './graph-order.js';
import { HeapArena, type HeapLayer } from './heap-arena.js';
import { LayerStorage } from './layer-storage.js';
import { rowSoftmax } from './softmax.js';
import {
  BLOCK,
  denseValues,
  type Matrix,
  matrixShape,
  type StorageFormat,
  type StorageSummary,
  type StoredMatrix,
  storeMatrix,
  summarizeStorage,
} from './storage.js';

/**
 * Revision of how the engine executes a model. Bump it whenever a change alters what `predict` runs
 * (its order of products, kernels or formats), so that timings cached by an earlier revision (e.g.
 * by `reproduce`) are taken again instead of reported as current. 2: filters-first convolution;
 * 3: formats chosen per batch size; 4: the convolution order counts a sparse conv's kept entries;
 * 5: filters first, the attention sums the heads.
 */
export const ENGINE_REVISION = 5;

/**
 * A product of the forward pass: the per-chunk `encoder`, the attention's query and key `projection`,
 * the graph convolution (`conv`), the fully connected layer (`fc`) and the `classifier`.
 */
export type LayerName = 'encoder' | 'projection' | 'conv' | 'fc' | 'classifier';

/** The products of the forward pass, in order. `projection` is the query then the key projection. */
export const LAYER_NAMES = [
  'encoder',
  'projection',
  'conv',
  'fc',
  'classifier',
] as const satisfies readonly LayerName[];

/** One product y = act(Wᵀ·x + bias); the weight stored as Wᵀ (rows = output channels). */
export interface RuntimeLayer {
  weight: StoredMatrix;
  /** One per output channel (weight.rows). */
  bias: Float32Array;
  /**
   * The format was forced (export --format): the engine runs it at every batch size. Otherwise it
   * runs each batch size in the format the cost model prefers there (layer-storage.ts).
   */
  forced?: boolean;
}

export interface RuntimeHead {
  /** The head's index in the original model (for reports and pictures). */
  index: number;
  /** Learned attention logits [N, N] (its whole adjacency when the head is static). */
  bias: Float32Array;
  /** Columns of the compact query/key projections that belong to this head (empty: static head). */
  dims: number[];
  /** Node channels this head's adjacency mixes into the convolution's input. */
  channels: number[];
}

export interface RuntimeModel {
  nodes: number;
  chunks: number;
  classes: number;
  /** Width of one chunk of a node's input signal. */
  chunkWidth: number;
  /** Features of a chunk the encoder reads (compact.ts `encoder.inputs`). */
  encoderInputs: number[];
  scoreScale: number;
  /**
   * Alive heads: dims are consecutive query rows of the projection (key rows: the same plus D), as
   * compactModel lays them out.
   */
  heads: RuntimeHead[];
  /** Rows of the FC input: indices v·F' + f' into the [nodes, F'] convolution output. */
  fcInputs: number[];
  /**
   * encoder [C', encoderInputs]; projection [2D, chunks·C'] (D query dims, then the same D key dims);
   * conv [F', Σ head channels]; fc [units, fcInputs]; classifier [classes, units].
   */
  layers: Record<LayerName, RuntimeLayer>;
}

const paddedRows = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** Format, shape, nonzeros, nonempty 4×4 blocks and bytes of every layer's stored weight. */
export function describeStorage(model: RuntimeModel): Record<LayerName, StorageSummary> {
  return Object.fromEntries(
    LAYER_NAMES.map((name) => [name, summarizeStorage(model.layers[name].weight)]),
  ) as Record<LayerName, StorageSummary>;
}

/** Throws a RangeError naming the first inconsistency between the layers and the metadata. */
export function validateRuntimeModel(model: RuntimeModel): void {
  const { layers, nodes, heads } = model;
  const fail = (message: string) => {
    throw new RangeError(`invalid runtime model: ${message}`);
  };
  const channels = model.chunks * layers.encoder.weight.rows;
  const dims = heads.reduce((n, h) => n + h.dims.length, 0);
  const mixed = heads.reduce((n, h) => n + h.channels.length, 0);
  const expected: Record<LayerName, [number, number]> = {
    encoder: [layers.encoder.weight.rows, model.encoderInputs.length],
    projection: [2 * dims, channels],
    conv: [layers.conv.weight.rows, mixed],
    fc: [layers.fc.weight.rows, model.fcInputs.length],
    classifier: [model.classes, layers.fc.weight.rows],
  };
  for (const name of LAYER_NAMES) {
    const { weight, bias } = layers[name];
    const [rows, cols] = expected[name];
    if (weight.rows !== rows || weight.cols !== cols)
      fail(`${name} is ${weight.rows}×${weight.cols}, expected ${rows}×${cols}`);
    if (bias.length !== rows) fail(`${name} bias has ${bias.length} entries, expected ${rows}`);
    checkStorage(name, weight, fail);
  }
  const inRange = (values: readonly number[], limit: number) =>
    values.every((v) => Number.isInteger(v) && v >= 0 && v < limit);
  if (!inRange(model.encoderInputs, model.chunkWidth)) fail('encoder inputs outside the chunk width');
  if (!inRange(model.fcInputs, nodes * layers.conv.weight.rows)) fail('fc inputs outside the conv output');
  for (const h of heads) {
    if (h.bias.length !== nodes * nodes) fail(`head ${h.index} bias is not ${nodes}×${nodes}`);
    if (!inRange(h.dims, dims) || !inRange(h.channels, channels))
      fail(`head ${h.index} indexes out of range`);
    if (h.dims.some((d, i) => d !== h.dims[0] + i)) fail(`head ${h.index} dims are not consecutive`);
  }
}

function checkStorage(name: string, m: StoredMatrix, fail: (message: string) => void): void {
  if (m.format === 'dense') {
    if (m.values.length !== m.rows * m.cols) fail(`${name} dense values do not fill ${m.rows}×${m.cols}`);
    return;
  }
  const lines = m.format === 'csr' ? m.rows : Math.ceil(m.rows / BLOCK);
  const limit = m.format === 'csr' ? m.cols : Math.ceil(m.cols / BLOCK);
  const entry = m.format === 'csr' ? 1 : BLOCK * BLOCK;
  const { rowPtr, index, values } = m;
  let monotone = true;
  for (let r = 1; r < rowPtr.length; r++) monotone &&= rowPtr[r] >= rowPtr[r - 1];
  if (rowPtr.length !== lines + 1 || rowPtr[0] !== 0 || !monotone || rowPtr[lines] !== index.length)
    fail(`${name} ${m.format} row pointers are inconsistent`);
  if (values.length !== index.length * entry) fail(`${name} ${m.format} values do not match its index`);
  let largest = -1;
  for (let t = 0; t < index.length; t++) largest = Math.max(largest, index[t]);
  if (largest >= limit) fail(`${name} ${m.format} indexes a column beyond ${limit}`);
}

/** Every activation and table of one batch size, and the weights its products run on. */
interface BatchPlan {
  layers: Record<LayerName, HeapLayer>;
  /** Columns of node-level rows (batch · paddedNodes) and the leading dimension of FC-level rows. */
  columns: number;
  fcLd: number;
  input: Ptr;
  encoderIn: Ptr;
  channels: Ptr;
  projected: Ptr;
  /** What the attention mixes: the node channels, or filters first the stack's product. */
  stacked: Ptr;
  /** What the attention writes: the mixed channels the conv reads, or filters first the filters. */
  mixed: Ptr;
  filters: Ptr;
  fcIn: Ptr;
  hidden: Ptr;
  logits: Ptr;
  inputGather: GatherParams;
  fcGather: GatherParams;
  attention: AttentionParams;
  arena: HeapArena;
}

/**
 * The two gathers of a batch plan, with their offset tables uploaded: input feature (m, i) of every
 * node → encoder input row m·⌈inputs⌉₄ + i (chunk-major, so each chunk's encoder product reads
 * contiguous rows); FC input r = v·F' + f' → row f' of the conv output, column v (per sample:
 * + b·paddedNodes) → FC input row r.
 */
function planGathers(
  model: RuntimeModel,
  arena: HeapArena,
  batch: number,
  plan: Pick<BatchPlan, 'columns' | 'fcLd' | 'input' | 'encoderIn' | 'filters' | 'fcIn'>,
): Pick<BatchPlan, 'inputGather' | 'fcGather'> {
  const { nodes, chunks, chunkWidth, encoderInputs: inputs, fcInputs } = model;
  const { columns, fcLd } = plan;
  const filters = model.layers.conv.weight.rows;
  const paddedNodes = paddedRows(nodes);
  const width = chunks * chunkWidth;
  const perChunk = <T>(f: (m: number) => T[]) => Array.from({ length: chunks }, (_, m) => f(m)).flat();
  const inputSrc = perChunk((m) => inputs.map((i) => m * chunkWidth + i));
  const inputDst = perChunk((m) => inputs.map((_, i) => (m * paddedRows(inputs.length) + i) * columns));
  const fcSrc = fcInputs.map((r) => (r % filters) * columns + Math.floor(r / filters));
  const fcDst = fcInputs.map((_, r) => r * fcLd);
  return {
    inputGather: {
      src: plan.input,
      srcOffsets: arena.ints(inputSrc),
      dst: plan.encoderIn,
      dstOffsets: arena.ints(inputDst),
      count: chunks * inputs.length,
      outer: batch,
      srcOuter: nodes * width,
      dstOuter: paddedNodes,
      inner: nodes,
      srcInner: width,
    },
    fcGather: {
      src: plan.filters,
      srcOffsets: arena.ints(fcSrc),
      dst: plan.fcIn,
      dstOffsets: arena.ints(fcDst),
      count: fcInputs.length,
      outer: batch,
      srcOuter: paddedNodes,
      dstOuter: 1,
      inner: 1,
      srcInner: 0,
    },
  };
}

/** Aᵀ-shaped [nodes, paddedNodes] matrix from a [nodes, nodes] one: out[j, i] = m[i, j]. */
function transposedPadded(m: ArrayLike<number>, nodes: number, width: number): Float32Array {
  const out = new Float32Array(nodes * width);
  for (let i = 0; i < nodes; i++) for (let j = 0; j < nodes; j++) out[j * width + i] = m[i * nodes + j];
  return out;
}

export class InferenceEngine {
  readonly model: RuntimeModel;
  readonly kernels: Kernels;
  private readonly heap: Heap;
  private readonly arena: HeapArena;
  private readonly layers: Record<LayerName, LayerStorage>;
  /** Which order the graph convolution runs in, with its multiply-adds per sequence. */
  readonly graphConvolution: GraphConvolutionOrder;
  /** Filters first, layers.conv is the stack: the conv restacked [heads·F', channels]. */
  private readonly filtersFirst: boolean;
  /** The conv's bias, which filters first the attention's last head adds. */
  private readonly convBias: Ptr;
  private readonly headTable: Ptr;
  private readonly headIndices: Ptr;
  private readonly paddedNodes: number;
  /** Encoder output channels (C'), query dims (D) and conv filters (F'). */
  private readonly encodings: number;
  private readonly dims: number;
  private readonly filters: number;
  private readonly plans = new Map<number, BatchPlan>();
  private disposed = false;

  /** Uploads the model into the kernels' heap (default: the process-wide backend). */
  constructor(model: RuntimeModel, kernelBackend: Kernels = defaultKernels()) {
    validateRuntimeModel(model);
    this.model = model;
    this.kernels = kernelBackend;
    this.heap = kernelBackend.heap;
    this.arena = new HeapArena(this.heap);
    this.paddedNodes = paddedRows(model.nodes);
    this.encodings = model.layers.encoder.weight.rows;
    this.dims = model.layers.projection.weight.rows / 2;
    this.filters = model.layers.conv.weight.rows;
    const conv = model.layers.conv.weight;
    this.graphConvolution = graphConvolutionOrder({
      nodes: model.nodes,
      channelCounts: model.heads.map((h) => h.channels.length),
      filters: this.filters,
      width: model.chunks * this.encodings,
      // A sparse conv's stack is sparser still (the same entries in a larger matrix), so it runs sparse too.
      ...(conv.format !== 'dense' && { convNonzeros: summarizeStorage(conv).nonzeros }),
    });
    this.filtersFirst = this.graphConvolution.filtersFirst;
    const stored = { ...model.layers, ...(this.filtersFirst && { conv: this.stackLayer() }) };
    this.convBias = this.arena.floats(model.layers.conv.bias, paddedRows(this.filters));
    this.layers = Object.fromEntries(LAYER_NAMES.map((name) => [name, this.storage(stored[name])])) as Record<
      LayerName,
      LayerStorage
    >;
    [this.headTable, this.headIndices] = this.uploadHeads();
  }

  /**
   * Logits [batch, classes] of node signals x [batch, nodes, chunks·chunkWidth] (row-major, as the
   * trainer feeds them). Pass `out` to reuse an output array.
   */
  predict(x: Float32Array, batch: number, out = new Float32Array(batch * this.model.classes)): Float32Array {
    const { nodes, chunks, chunkWidth, classes } = this.model;
    if (this.disposed) throw new Error('InferenceEngine: predict after dispose');
    if (!Number.isInteger(batch) || batch < 1)
      throw new RangeError(`batch must be a positive integer, got ${batch}`);
    const expected = batch * nodes * chunks * chunkWidth;
    if (x.length !== expected)
      throw new RangeError(`input has ${x.length} values, expected ${batch}×${nodes}×${chunks * chunkWidth}`);
    if (out.length < batch * classes) throw new RangeError(`output needs ${batch * classes} entries`);
    const plan = this.plan(batch);
    const k = this.kernels;
    const { columns, fcLd } = plan;
    const { encoder, projection, conv, fc, classifier } = plan.layers;
    this.heap.f32.set(x, plan.input);
    const inputs = this.model.encoderInputs.length;
    k.gatherRows(plan.inputGather);
    // Chunk m's output rows start at m·C'; a block format's padding rows spill into chunk m + 1,
    // which overwrites them next.
    for (let m = 0; m < chunks; m++) {
      const chunkIn = plan.encoderIn + m * paddedRows(inputs) * columns;
      const chunkOut = plan.channels + m * this.encodings * columns;
      k.product(encoder.matrix, chunkIn, columns, columns, encoder.bias, true, chunkOut);
    }
    if (this.dims > 0)
      k.product(projection.matrix, plan.channels, columns, columns, projection.bias, false, plan.projected);
    if (this.filtersFirst)
      k.product(conv.matrix, plan.channels, columns, columns, conv.bias, false, plan.stacked);
    if (this.model.heads.length > 0) k.attentionMix(plan.attention);
    if (!this.filtersFirst)
      k.product(conv.matrix, plan.mixed, columns, columns, conv.bias, true, plan.filters);
    k.gatherRows(plan.fcGather);
    k.product(fc.matrix, plan.fcIn, fcLd, batch, fc.bias, true, plan.hidden);
    k.product(classifier.matrix, plan.hidden, fcLd, batch, classifier.bias, false, plan.logits);
    const f = this.heap.f32;
    for (let b = 0; b < batch; b++) {
      for (let c = 0; c < classes; c++) out[b * classes + c] = f[plan.logits + c * fcLd + b];
    }
    return out;
  }

  /** Frees every heap buffer of the engine; it cannot predict afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const plan of this.plans.values()) plan.arena.free();
    this.plans.clear();
    this.arena.free();
  }

  /**
   * The attention head table and the rows each head mixes (see AttentionParams), and each head's
   * matrix. Channels first a head mixes its channels into rows of its own; filters first, its own
   * F' rows of the stack into the F' filter rows, adding to the previous heads' (the last finishes).
   */
  private uploadHeads(): [Ptr, Ptr] {
    const { nodes, heads } = this.model;
    const { filters } = this;
    const table: number[] = [];
    const indices: number[] = [];
    let outRow = 0;
    heads.forEach((head, h) => {
      const adjacency = head.dims.length > 0 ? head.bias : rowSoftmax(head.bias, nodes);
      const matrix = this.arena.floats(transposedPadded(adjacency, nodes, this.paddedNodes));
      const rows = this.filtersFirst
        ? Array.from({ length: filters }, (_, f) => h * filters + f)
        : head.channels;
      const mode = this.filtersFirst
        ? (h > 0 ? ATTENTION_ADD : 0) | (h === heads.length - 1 ? ATTENTION_FINISH : 0)
        : 0;
      table.push(head.dims[0] ?? 0, head.dims.length, indices.length, rows.length, matrix, outRow, mode);
      indices.push(...rows);
      if (!this.filtersFirst) outRow += rows.length;
    });
    return [this.arena.ints(table), this.arena.ints(indices)];
  }

  private storage(layer: RuntimeLayer): LayerStorage {
    return new LayerStorage(this.arena, layer.weight, layer.bias, layer.forced ?? false);
  }

  /**
   * The conv in the filters-first order (see graphConvolutionOrder): restacked [channels, heads·F'],
   * head h's column block holding its conv rows at its channels; the attention adds the bias.
   */
  private stackLayer(): RuntimeLayer {
    const { heads } = this.model;
    const conv = denseValues(this.model.layers.conv.weight);
    const { filters } = this;
    const mixed = this.model.layers.conv.weight.cols;
    const width = this.model.chunks * this.encodings;
    const stacked = heads.length * filters;
    const stack = new Float32Array(width * stacked);
    let offset = 0;
    heads.forEach((head, h) => {
      head.channels.forEach((channel, r) => {
        for (let f = 0; f < filters; f++)
          stack[channel * stacked + h * filters + f] = conv[f * mixed + offset + r];
      });
      offset += head.channels.length;
    });
    const stackMatrix: Matrix = { rows: width, cols: stacked, data: stack };
    // The stack holds the conv's weights: a format forced on the conv is forced on it.
    const { forced = false, weight } = this.model.layers.conv;
    const format = forced ? weight.format : chooseFormat(matrixShape(stackMatrix), this.paddedNodes);
    return { weight: storeMatrix(stackMatrix, format), bias: new Float32Array(stacked), forced };
  }

  /** The format each product runs in at a batch size (filters first, the conv is the stack). */
  formatsAt(batch: number): Record<LayerName, StorageFormat> {
    return this.perLayer(batch, (storage, columns) => storage.formatAt(columns));
  }

  /** The weights of every product at a batch size. */
  private layersAt(batch: number): Record<LayerName, HeapLayer> {
    return this.perLayer(batch, (storage, columns) => storage.at(columns));
  }

  /** `read` of every layer's storage with the columns its product runs over at a batch size. */
  private perLayer<T>(
    batch: number,
    read: (storage: LayerStorage, columns: number) => T,
  ): Record<LayerName, T> {
    // Node-level products run over every sample's nodes, the fc and classifier over the samples.
    const nodeColumns = batch * this.paddedNodes;
    const columns = {
      encoder: nodeColumns,
      projection: nodeColumns,
      conv: nodeColumns,
      fc: batch,
      classifier: batch,
    };
    return Object.fromEntries(
      LAYER_NAMES.map((name) => [name, read(this.layers[name], columns[name])]),
    ) as Record<LayerName, T>;
  }

  private plan(batch: number): BatchPlan {
    const existing = this.plans.get(batch);
    if (existing) return existing;
    const { nodes, chunks, chunkWidth, heads } = this.model;
    const arena = new HeapArena(this.heap);
    const width = this.paddedNodes;
    const columns = batch * width;
    const fcLd = batch === 1 ? 1 : paddedRows(batch);
    const inputs = this.model.encoderInputs;
    const channelRows = Math.max(
      paddedRows(chunks * this.encodings),
      (chunks - 1) * this.encodings + paddedRows(this.encodings),
    );
    const rows = (layer: LayerName) => paddedRows(this.model.layers[layer].weight.rows);
    const projected = arena.zeros(rows('projection') * columns);
    const channels = arena.zeros(channelRows * columns);
    const filters = arena.zeros(rows('conv') * columns);
    // Filters first, the attention mixes the stack's product into the filter rows themselves.
    const mixedChannels = heads.reduce((n, h) => n + h.channels.length, 0);
    const stacked = this.filtersFirst
      ? arena.zeros(paddedRows(heads.length * this.filters) * columns)
      : channels;
    const mixed = this.filtersFirst ? filters : arena.zeros(paddedRows(mixedChannels) * columns);
    const buffers = {
      columns,
      fcLd,
      input: arena.zeros(batch * nodes * chunks * chunkWidth),
      encoderIn: arena.zeros(chunks * paddedRows(inputs.length) * columns),
      channels,
      projected,
      mixed,
      stacked,
      filters,
      fcIn: arena.zeros(paddedRows(this.model.fcInputs.length) * fcLd),
      hidden: arena.zeros(rows('fc') * fcLd),
      logits: arena.zeros(rows('classifier') * fcLd),
    };
    const plan: BatchPlan = {
      layers: this.layersAt(batch),
      ...buffers,
      ...planGathers(this.model, arena, batch, buffers),
      attention: {
        heads: heads.length,
        table: this.headTable,
        indices: this.headIndices,
        q: projected,
        k: projected + this.dims * columns,
        u: stacked,
        ld: columns,
        batch,
        nodes,
        paddedNodes: width,
        scale: this.model.scoreScale,
        scratch: arena.zeros(nodes * width),
        out: mixed,
        bias: this.convBias,
      },
      arena,
    };
    this.plans.set(batch, plan);
    return plan;
  }
}
