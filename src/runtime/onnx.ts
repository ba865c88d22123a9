/**
 * ONNX export of a compacted GCN: the graph computes exactly what `CompactModel` describes, on its
 * dense compacted matrices (stored as initializers named after the layers: encoder.weight, ...), with
 * standard ops only, so any ONNX runtime runs it. Tensors are named `layer/Op` after the node that
 * makes them, and every intermediate carries its shape, so the graph reads well in Netron.
 *
 * Shapes, per sample (B is the symbolic batch dimension):
 *   features [B, N, M·W] → select encoder.inputs of each chunk → encoder + relu → node_channels
 *   [B, N, M·C'] → per head: adjacency A_h [N, N] (softmax of scaled Q_h K_hᵀ + bias_h, or the
 *   constant softmax(bias_h) of a static head) times the head's channels → concat → conv + relu
 *   [B, N, F'] → flatten, gather fc.inputs → fc + relu → classifier → logits [B, classes].
 */

import { rowSoftmax } from '@skelprune/runtime/internal';
import protobuf from 'protobufjs';
import type { CompactHead, CompactModel, Matrix } from './compact.js';
import { onnxProtoSchema } from './onnx-proto/schema.js';

/** Opset 17 with IR version 8 (ONNX 1.12, 2022): every current runtime loads it. */
export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
/** Graph input, output and batch dimension names. */
export const ONNX_INPUT = 'features';
export const ONNX_OUTPUT = 'logits';
export const ONNX_BATCH = 'batch';

export interface OnnxExportOptions {
  /** Class names, in logit order; stored as the JSON array metadata property `class_names`. */
  classNames?: readonly string[];
  /** The skelprune version, stored as the model's producer_version. */
  producerVersion?: string;
  /** The graph's name (default 'skelprune_gcn'). */
  graphName?: string;
}

/** A dimension: a size, or the batch. */
type Dim = number | typeof ONNX_BATCH;

const FLOAT = 1; // TensorProto.DataType.FLOAT
const INT64 = 7; // TensorProto.DataType.INT64

interface TensorObject {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

interface NodeObject {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: { name: string; type: 'INT' | 'INTS'; i?: number; ints?: number[] }[];
}

interface ValueInfoObject {
  name: string;
  type: {
    tensor_type: { elem_type: number; shape: { dim: ({ dim_value: number } | { dim_param: string })[] } };
  };
  doc_string?: string;
}

let onnxRoot: protobuf.Root | undefined;

/** The parsed ONNX schema (parsed once, on first use). */
export function onnxSchema(): protobuf.Root {
  onnxRoot ??= protobuf.parse(onnxProtoSchema, { keepCase: true }).root;
  return onnxRoot;
}

/** Tensor data in ONNX's raw_data layout: fixed width, little-endian. */
function float32Bytes(values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return bytes;
}

function int64Bytes(values: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => {
    view.setBigInt64(i * 8, BigInt(v), true);
  });
  return bytes;
}

function valueInfo(
  name: string,
  elemType: number,
  shape: readonly Dim[],
  docString?: string,
): ValueInfoObject {
  const dim = shape.map((d) => (d === ONNX_BATCH ? { dim_param: d } : { dim_value: d }));
  return { name, type: { tensor_type: { elem_type: elemType, shape: { dim } } }, doc_string: docString };
}

/** Collects nodes, initializers and intermediate shapes in topological order. */
class GraphBuilder {
  readonly nodes: NodeObject[] = [];
  readonly initializers: TensorObject[] = [];
  readonly valueInfo: ValueInfoObject[] = [];

  floats(name: string, dims: number[], values: ArrayLike<number>): string {
    this.initializers.push({ name, dims, data_type: FLOAT, raw_data: float32Bytes(values) });
    return name;
  }

  int64s(name: string, values: readonly number[]): string {
    this.initializers.push({ name, dims: [values.length], data_type: INT64, raw_data: int64Bytes(values) });
    return name;
  }

  /** Adds a node named after its single output, a tensor of the given shape (float unless told). */
  node(
    opType: string,
    inputs: string[],
    output: string,
    shape: readonly Dim[],
    attributes: Record<string, number | number[]> = {},
    elemType = FLOAT,
  ): string {
    const attribute = Object.entries(attributes).map(([name, value]) =>
      Array.isArray(value)
        ? { name, type: 'INTS' as const, ints: value }
        : { name, type: 'INT' as const, i: value },
    );
    this.nodes.push({ name: output, op_type: opType, input: inputs, output: [output], attribute });
    if (output !== ONNX_OUTPUT) this.valueInfo.push(valueInfo(output, elemType, shape));
    return output;
  }
}

const isIdentity = (indices: readonly number[], length: number) =>
  indices.length === length && indices.every((index, i) => index === i);

/** x [..., rows] · W + bias, then relu when asked; the output is named `output` or after its last op. */
function dense(
  g: GraphBuilder,
  layer: string,
  input: string,
  leadingShape: readonly Dim[],
  params: { weight: Matrix; bias: Float32Array },
  { relu, output }: { relu: boolean; output?: string },
): string {
  const { rows, cols, data } = params.weight;
  const shape = [...leadingShape, cols];
  const weight = g.floats(`${layer}.weight`, [rows, cols], data);
  const bias = g.floats(`${layer}.bias`, [cols], params.bias);
  const product = g.node('MatMul', [input, weight], `${layer}/MatMul`, shape);
  if (!relu) return g.node('Add', [product, bias], output ?? `${layer}/Add`, shape);
  const sum = g.node('Add', [product, bias], `${layer}/Add`, shape);
  return g.node('Relu', [sum], output ?? `${layer}/Relu`, shape);
}

/** features [B, N, M·W] → node_channels [B, N, M·C'] (the encoder applied to every chunk). */
function encodeNodes(g: GraphBuilder, m: CompactModel): string {
  const { nodes, chunks, chunkWidth } = m;
  const { inputs, weight } = m.encoder;
  // With one chunk the features already are [B, N, W]; otherwise split them into [B, N, M, W].
  const leading: Dim[] = chunks > 1 ? [ONNX_BATCH, nodes, chunks] : [ONNX_BATCH, nodes];
  let x = ONNX_INPUT;
  if (chunks > 1) {
    const shape = g.int64s('encoder.chunked_shape', [0, nodes, chunks, chunkWidth]);
    x = g.node('Reshape', [x, shape], 'encoder/chunks', [...leading, chunkWidth]);
  }
  if (!isIdentity(inputs, chunkWidth)) {
    const selected = g.int64s('encoder.inputs', inputs);
    x = g.node('Gather', [x, selected], 'encoder/inputs', [...leading, inputs.length], {
      axis: leading.length,
    });
  }
  if (chunks === 1)
    return dense(g, 'encoder', x, leading, m.encoder, { relu: true, output: 'node_channels' });
  const encoded = dense(g, 'encoder', x, leading, m.encoder, { relu: true });
  const shape = g.int64s('node_channels.shape', [0, nodes, chunks * weight.cols]);
  return g.node('Reshape', [encoded, shape], 'node_channels', [ONNX_BATCH, nodes, chunks * weight.cols]);
}

/** Query [B, N, D] and transposed key [B, D, N] of all dynamic heads' dims, with the score scale. */
function queriesAndKeys(g: GraphBuilder, m: CompactModel, channels: string) {
  const { nodes } = m;
  const dims = m.query.weight.cols;
  const leading: Dim[] = [ONNX_BATCH, nodes];
  const query = dense(g, 'query', channels, leading, m.query, { relu: false });
  const key = dense(g, 'key', channels, leading, m.key, { relu: false });
  const keyT = g.node('Transpose', [key], 'key/Transpose', [ONNX_BATCH, dims, nodes], { perm: [0, 2, 1] });
  return { query, keyT, scale: g.floats('attention.scale', [], [m.scoreScale]) };
}

/** A dynamic head's adjacency [B, N, N]: softmax over rows of Q_h K_hᵀ · scale + bias_h. */
function dynamicAdjacency(
  g: GraphBuilder,
  m: CompactModel,
  head: CompactHead,
  { query, keyT, scale }: ReturnType<typeof queriesAndKeys>,
): string {
  const { nodes } = m;
  const prefix = `head${head.index}`;
  let q = query;
  let kT = keyT;
  if (!isIdentity(head.dims, m.query.weight.cols)) {
    const dims = g.int64s(`${prefix}.dims`, head.dims);
    q = g.node('Gather', [query, dims], `${prefix}/query`, [ONNX_BATCH, nodes, head.dims.length], {
      axis: 2,
    });
    kT = g.node('Gather', [keyT, dims], `${prefix}/key`, [ONNX_BATCH, head.dims.length, nodes], { axis: 1 });
  }
  const scores: Dim[] = [ONNX_BATCH, nodes, nodes];
  const product = g.node('MatMul', [q, kT], `${prefix}/MatMul`, scores);
  const scaled = g.node('Mul', [product, scale], `${prefix}/Mul`, scores);
  const bias = g.floats(`${prefix}.bias`, [nodes, nodes], head.bias);
  const logits = g.node('Add', [scaled, bias], `${prefix}/Add`, scores);
  return g.node('Softmax', [logits], `${prefix}/adjacency`, scores, { axis: -1 });
}

/** node_channels → the convolution's input [B, N, R]: every head's adjacency applied to its channels. */
function mixHeads(g: GraphBuilder, m: CompactModel, channels: string): string {
  const { nodes, heads } = m;
  const width = m.query.weight.rows;
  const attention = heads.some((h) => h.dims.length > 0) ? queriesAndKeys(g, m, channels) : undefined;
  const mixed = heads.map((head) => {
    const prefix = `head${head.index}`;
    // A static head's adjacency is a constant: softmax of its bias, precomputed.
    const a =
      attention && head.dims.length > 0
        ? dynamicAdjacency(g, m, head, attention)
        : g.floats(`${prefix}.adjacency`, [nodes, nodes], rowSoftmax(head.bias, nodes));
    const shape: Dim[] = [ONNX_BATCH, nodes, head.channels.length];
    let u = channels;
    if (!isIdentity(head.channels, width)) {
      const selected = g.int64s(`${prefix}.channels`, head.channels);
      u = g.node('Gather', [channels, selected], `${prefix}/channels`, shape, { axis: 2 });
    }
    return g.node('MatMul', [a, u], heads.length === 1 ? 'conv.input' : `${prefix}/mixed`, shape);
  });
  if (mixed.length === 1) return mixed[0];
  return g.node('Concat', mixed, 'conv.input', [ONNX_BATCH, nodes, m.conv.weight.rows], { axis: 2 });
}

/** The layers from the attention on, given node_channels. */
function classify(g: GraphBuilder, m: CompactModel, channels: string): void {
  const { nodes } = m;
  const convInput = mixHeads(g, m, channels);
  const filters = dense(g, 'conv', convInput, [ONNX_BATCH, nodes], m.conv, { relu: true });
  const flatWidth = nodes * m.conv.weight.cols;
  let fcInput = g.node('Flatten', [filters], 'conv/Flatten', [ONNX_BATCH, flatWidth], { axis: 1 });
  if (!isIdentity(m.fc.inputs, flatWidth)) {
    const selected = g.int64s('fc.inputs', m.fc.inputs);
    fcInput = g.node('Gather', [fcInput, selected], 'fc/inputs', [ONNX_BATCH, m.fc.inputs.length], {
      axis: 1,
    });
  }
  const hidden = dense(g, 'fc', fcInput, [ONNX_BATCH], m.fc, { relu: true });
  dense(g, 'classifier', hidden, [ONNX_BATCH], m.classifier, { relu: false, output: ONNX_OUTPUT });
}

/** A model pruned down to nothing: every logit is the classifier's (folded) bias, for any input. */
function constantLogits(g: GraphBuilder, m: CompactModel): void {
  const batch = g.node('Shape', [ONNX_INPUT], 'batch_size', [1], { start: 0, end: 1 }, INT64);
  const classes = g.int64s('classifier.classes', [m.classes]);
  const shape = g.node('Concat', [batch, classes], 'logits_shape', [2], { axis: 0 }, INT64);
  const bias = g.floats('classifier.bias', [m.classes], m.classifier.bias);
  g.node('Expand', [bias, shape], ONNX_OUTPUT, [ONNX_BATCH, m.classes]);
}

function graphOf(m: CompactModel, name: string) {
  const g = new GraphBuilder();
  if (m.classifier.weight.rows === 0) constantLogits(g, m);
  else classify(g, m, encodeNodes(g, m));
  const inputDoc =
    `Per sample: ${m.nodes} nodes × ${m.chunks} chunks of ${m.chunkWidth} values, ` +
    'chunk after chunk (chunk c of node v starts at column c·chunkWidth).';
  return {
    name,
    node: g.nodes,
    initializer: g.initializers,
    input: [valueInfo(ONNX_INPUT, FLOAT, [ONNX_BATCH, m.nodes, m.chunks * m.chunkWidth], inputDoc)],
    output: [valueInfo(ONNX_OUTPUT, FLOAT, [ONNX_BATCH, m.classes], 'Class scores before softmax.')],
    value_info: g.valueInfo,
  };
}

function modelDescription(m: CompactModel): string {
  const staticHeads = m.heads.filter((h) => h.dims.length === 0).length;
  return (
    `Skeleton GCN compacted by skelprune: ${m.heads.length} heads (${staticHeads} static), ` +
    `${m.encoder.weight.cols} encoding channels, ${m.conv.weight.cols} filters, ` +
    `${m.fc.weight.cols} FC units, ${m.classes} classes.`
  );
}

/** The compacted model as a serialized ONNX ModelProto. */
export function exportOnnx(model: CompactModel, options: OnnxExportOptions = {}): Uint8Array {
  const { classNames, producerVersion, graphName = 'skelprune_gcn' } = options;
  if (classNames && classNames.length !== model.classes) {
    throw new RangeError(`${classNames.length} class names for a model with ${model.classes} classes`);
  }
  const ModelProto = onnxSchema().lookupType('onnx.ModelProto');
  const message = ModelProto.fromObject({
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'skelprune',
    producer_version: producerVersion,
    doc_string: modelDescription(model),
    graph: graphOf(model, graphName),
    metadata_props: classNames ? [{ key: 'class_names', value: JSON.stringify(classNames) }] : [],
  });
  return ModelProto.encode(message).finish();
}
