/**
 * The paper's GCN family for skeleton sequences (Sahbi, CBMI 2024, §4 of docs/paper.md). Nodes are
 * joints; a node's input signal is its trajectory. Per sequence:
 *
 *   U = relu(X · W_enc)                                node encoding            [N, C]
 *   A^k = softmax(Q_k K_kᵀ / √d + B_k), Q = U·W_q, K = U·W_k   attention per head   [H, N, N]
 *   Z = relu(Σ_k A^k U W^k) = relu([A^1 U | … | A^H U] · W_conv)  graph convolution  [N, F]
 *   h = relu(vec(Z) · W_fc)                            fully connected          [D_fc]
 *   logits = dropout(h) · W_cls                        classifier               [classes]
 *
 * B_k is a learned per-head bias initialised from the skeleton (self-loops and bones), so a head whose
 * query/key weights are pruned away falls back to a learned static adjacency.
 */
import { z } from 'zod';
import { dropout, Module, matmul, Parameter, type Rng, softmax, type Tensor } from '../engine/index.js';
import { Linear, type PrunableWeight, prunableWeight } from './layers.js';

export const gcnConfigSchema = z.strictObject({
  /** Channels of the node encoding (C), per temporal chunk. Default 32. */
  encodingChannels: z.int().positive().default(32),
  /**
   * Temporal chunks (M): each node's trajectory is cut into M equal parts encoded by one shared map,
   * so a node's encoding has M·C channels (M = 1: one map of the whole trajectory).
   * Default 4.
   */
  encoderChunks: z.int().positive().default(4),
  /** Attention heads (H), each learning its own adjacency. Default 16; synthetic: 4. */
  heads: z.int().positive().default(16),
  /** Query/key dimension per head (d). Default 8. */
  headDim: z.int().positive().default(8),
  /** Filters of the graph convolution (F). Default 128. */
  convChannels: z.int().positive().default(128),
  /** Units of the fully connected layer. Default 700; synthetic: 128. */
  fcUnits: z.int().positive().default(700),
  /** Dropout before the classifier (training only). Default 0.5. */
  dropout: z.number().min(0).lt(1).default(0.5),
  /**
   * Initial attention bias: self-loops + bones ('skeleton'), self-loops only, or none. Default `skeleton`.
   */
  attentionBias: z.enum(['skeleton', 'identity', 'none']).default('skeleton'),
});
/**
 * The GCN's architecture: the `model` group of the settings, every default filled in.
 *
 * @interface
 */
export type GcnConfig = z.output<typeof gcnConfigSchema>;

/** What the data fixes: graph size, input width, classes, the bones over all nodes. */
export interface GcnShape {
  /** Graph nodes (N): persons × joints. */
  nodes: number;
  /** Width of each node's input signal (D): frames × channels per frame. */
  inputDim: number;
  /** Output classes. */
  classes: number;
  /** Undirected edges between node indices (every person's bones, offset per person). */
  edges: readonly (readonly [number, number])[];
}

/** Logit added on self-loops and bones when the bias is initialised from the skeleton. */
const BIAS_ON_EDGES = 4;

/** One row of the parameter/cost summary. */
export interface LayerCost {
  /** The computation, e.g. `encoder`, `attention scores`, `graph mixing A·U`. */
  name: string;
  /** Its size as text: `in×out` for a layer, `heads×nodes×…` for the attention products. */
  shape: string;
  /** Parameters (weights and biases; the attention bias for the scores, 0 for the mixing). */
  params: number;
  /** Multiply-adds per sequence. */
  macs: number;
}

/**
 * The GCN (a `Module`, PyTorch-like: `forward(x)` maps node features [B, N, D] to logits [B, classes],
 * `parameters()`, `stateDict()`, `train()` / `eval()`). Create one with `createModel`, or read a
 * trained one with `loadModel`.
 */
export class SkeletonGcn extends Module {
  /** The architecture, every default filled in. */
  readonly config: GcnConfig;
  /** What the data fixed: nodes, input width, classes, edges. */
  readonly shape: GcnShape;
  /** Node encoder W_enc [inputDim / M, C], shared by the M temporal chunks. */
  encoder: Linear;
  /** Query projection W_q [M·C, H·d], no bias. */
  query: Linear;
  /** Key projection W_k [M·C, H·d], no bias. */
  key: Linear;
  /** Learned attention bias B [H, N, N], added to every head's scores. */
  attentionBias: Parameter;
  /** Graph convolution W_conv [H·M·C, F]. */
  conv: Linear;
  /** Fully connected layer W_fc [N·F, fcUnits]. */
  fc: Linear;
  /** Classifier W_cls [fcUnits, classes] (never pruned). */
  classifier: Linear;
  /**
   * The file the weights were read from (set by `modelFromCheckpoint`), so that scores that are not
   * finite (finite weights can still overflow float32) fail naming it; undefined for a model trained here.
   */
  source?: string;

  /**
   * A freshly initialised GCN for data of `shape`, `config` over the defaults, its weights drawn from
   * `rng`. Throws when a setting is invalid or `encoderChunks` does not divide `shape.inputDim`.
   */
  constructor(shape: GcnShape, config: Partial<GcnConfig>, rng: Rng) {
    super();
    this.config = gcnConfigSchema.parse(config);
    this.shape = shape;
    const {
      encodingChannels,
      encoderChunks: m,
      heads: h,
      headDim: d,
      convChannels: f,
      fcUnits,
    } = this.config;
    if (shape.inputDim % m !== 0) {
      throw new RangeError(`encoderChunks ${m} does not divide the node input width ${shape.inputDim}`);
    }
    const c = m * encodingChannels;
    this.encoder = new Linear(shape.inputDim / m, encodingChannels, rng.fork('encoder'));
    this.query = new Linear(c, h * d, rng.fork('query'), { bias: false, init: 'glorot' });
    this.key = new Linear(c, h * d, rng.fork('key'), { bias: false, init: 'glorot' });
    this.attentionBias = new Parameter([h, shape.nodes, shape.nodes], this.initialBias());
    this.conv = new Linear(h * c, f, rng.fork('conv'));
    this.fc = new Linear(shape.nodes * f, fcUnits, rng.fork('fc'));
    this.classifier = new Linear(fcUnits, shape.classes, rng.fork('classifier'), { init: 'glorot' });
  }

  private initialBias(): Float32Array {
    const { nodes, edges } = this.shape;
    const single = new Float32Array(nodes * nodes);
    if (this.config.attentionBias !== 'none') {
      for (let i = 0; i < nodes; i++) single[i * nodes + i] = BIAS_ON_EDGES;
    }
    if (this.config.attentionBias === 'skeleton') {
      for (const [a, b] of edges) {
        single[a * nodes + b] = BIAS_ON_EDGES;
        single[b * nodes + a] = BIAS_ON_EDGES;
      }
    }
    const all = new Float32Array(this.config.heads * nodes * nodes);
    for (let k = 0; k < this.config.heads; k++) all.set(single, k * nodes * nodes);
    return all;
  }

  /** Per-head adjacency [B, H, N, N] from the encoded nodes u [B, N, C]. */
  attention(u: Tensor): Tensor {
    const [batch, nodes] = u.shape;
    const { heads, headDim } = this.config;
    const q = this.query.forward(u).reshape([batch, nodes, heads, headDim]).permute([0, 2, 1, 3]);
    const k = this.key.forward(u).reshape([batch, nodes, heads, headDim]).permute([0, 2, 3, 1]);
    const scores = matmul(q, k)
      .mul(1 / Math.sqrt(headDim))
      .add(this.attentionBias);
    return softmax(scores, -1);
  }

  /** Node encodings [B, N, M·C] of node signals x [B, N, inputDim]. */
  encode(x: Tensor): Tensor {
    const [batch, nodes, width] = x.shape;
    const { encoderChunks: m } = this.config;
    const chunks = x.reshape([batch, nodes, m, width / m]);
    return this.encoder
      .forward(chunks)
      .relu()
      .reshape([batch, nodes, m * this.config.encodingChannels]);
  }

  /** x [B, N, inputDim] → logits [B, classes]. `rng` drives dropout when training. */
  forward(x: Tensor, rng?: Rng): Tensor {
    const [batch, nodes] = x.shape;
    const { heads, convChannels: f } = this.config;
    const c = this.config.encoderChunks * this.config.encodingChannels;
    const u = this.encode(x);
    const adjacency = this.attention(u);
    const mixed = matmul(adjacency.reshape([batch, heads * nodes, nodes]), u)
      .reshape([batch, heads, nodes, c])
      .permute([0, 2, 1, 3])
      .reshape([batch, nodes, heads * c]);
    const z = this.conv.forward(mixed).relu();
    const hidden = this.fc.forward(z.reshape([batch, nodes * f])).relu();
    const dropped = this.training && rng ? dropout(hidden, this.config.dropout, rng) : hidden;
    return this.classifier.forward(dropped);
  }

  /** The weight matrices pruning addresses: every layer but the classifier. */
  prunableWeights(): PrunableWeight[] {
    const { nodes } = this.shape;
    const { headDim, encodingChannels, encoderChunks } = this.config;
    const perHead = { kind: 'col-groups', size: headDim } as const;
    return [
      prunableWeight('encoder', this.encoder, {
        blocks: { kind: 'tiles', rows: 8, cols: 8 },
        meaning: { rows: 'input feature (frame × channel)', cols: 'encoding channel', blocks: '8×8 tile' },
        usesPerSequence: nodes * encoderChunks,
      }),
      ...(['query', 'key'] as const).map((name) =>
        prunableWeight(name, this[name], {
          blocks: perHead,
          meaning: { rows: 'encoding channel', cols: `${name} dimension`, blocks: 'attention head' },
          usesPerSequence: nodes,
        }),
      ),
      prunableWeight('conv', this.conv, {
        blocks: { kind: 'row-groups', size: encoderChunks * encodingChannels },
        meaning: { rows: 'head × encoding channel', cols: 'convolution filter', blocks: 'attention head' },
        usesPerSequence: nodes,
      }),
      prunableWeight('fc', this.fc, {
        blocks: { kind: 'tiles', rows: 16, cols: 16 },
        meaning: { rows: 'node × filter', cols: 'hidden unit', blocks: '16×16 tile' },
        usesPerSequence: 1,
      }),
    ];
  }

  /** Parameters and multiply-adds per sequence of every computation, dense. */
  costs(): LayerCost[] {
    const { nodes } = this.shape;
    const { heads, headDim, encoderChunks } = this.config;
    const c = encoderChunks * this.config.encodingChannels;
    const linear = (name: string, layer: Linear, uses: number): LayerCost => ({
      name,
      shape: `${layer.inFeatures}×${layer.outFeatures}`,
      params: layer.weight.size + (layer.bias?.size ?? 0),
      macs: layer.weight.size * uses,
    });
    return [
      linear('encoder', this.encoder, nodes * encoderChunks),
      linear('query', this.query, nodes),
      linear('key', this.key, nodes),
      {
        name: 'attention scores',
        shape: `${heads}×${nodes}×${nodes}`,
        params: this.attentionBias.size,
        macs: heads * nodes * nodes * headDim,
      },
      {
        name: 'graph mixing A·U',
        shape: `${heads}×${nodes}×${c}`,
        params: 0,
        macs: heads * nodes * nodes * c,
      },
      linear('conv', this.conv, nodes),
      linear('fc', this.fc, 1),
      linear('classifier', this.classifier, 1),
    ];
  }
}
