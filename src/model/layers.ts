/**
 * Layers whose weights pruning can act on. A `Linear` computes x · W + b with W stored [in, out];
 * pruning installs a `transform` that turns the latent weight into the effective one (W ⊙ ψ(W) for
 * CTF, W ⊙ M for a hard mask), so layers stay ignorant of how they are pruned.
 */
import { init, Module, Parameter, type Rng, type Tensor } from '../engine/index.js';

export type WeightTransform = (weight: Parameter) => Tensor;

export interface LinearOptions {
  bias?: boolean;
  /** 'kaiming' for layers followed by ReLU, 'glorot' otherwise. */
  init?: 'kaiming' | 'glorot';
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;
  /** Set by pruning; null means the latent weight is used as is. */
  transform: WeightTransform | null = null;

  constructor(inFeatures: number, outFeatures: number, rng: Rng, options: LinearOptions = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const shape = [inFeatures, outFeatures];
    const values =
      options.init === 'glorot' ? init.glorotUniform(shape, rng) : init.kaimingUniform(shape, rng);
    this.weight = new Parameter(shape, values);
    this.bias = options.bias === false ? null : new Parameter([outFeatures]);
  }

  effectiveWeight(): Tensor {
    return this.transform ? this.transform(this.weight) : this.weight;
  }

  /** x [..., in] → [..., out]. */
  forward(x: Tensor): Tensor {
    const y = x.matmul(this.effectiveWeight());
    return this.bias ? y.add(this.bias) : y;
  }
}

/**
 * How a prunable weight matrix [rows, cols] splits into blocks (the coarsest pruning unit):
 * square tiles for dense layers, or one block per head as groups of rows or of columns.
 */
export type BlockLayout =
  | { kind: 'tiles'; rows: number; cols: number }
  | { kind: 'row-groups'; size: number }
  | { kind: 'col-groups'; size: number };

/** A weight matrix that pruning addresses, with everything pruning and compaction need to know. */
export interface PrunableWeight {
  /** Layer name, e.g. 'conv'. */
  readonly name: string;
  readonly layer: Linear;
  readonly rows: number;
  readonly cols: number;
  readonly blocks: BlockLayout;
  /** What a row, a column and a block stand for, for reports (e.g. 'input channel'). */
  readonly meaning: { rows: string; cols: string; blocks: string };
  /** Multiply-adds each weight performs per sequence (nodes for per-node layers, 1 for the FC). */
  readonly usesPerSequence: number;
}

/** Number of blocks of a layout over a [rows, cols] matrix. */
export function blockCount(layout: BlockLayout, rows: number, cols: number): number {
  if (layout.kind === 'tiles') return Math.ceil(rows / layout.rows) * Math.ceil(cols / layout.cols);
  return layout.kind === 'row-groups' ? Math.ceil(rows / layout.size) : Math.ceil(cols / layout.size);
}

/** Block index of every entry of a [rows, cols] matrix, row-major. */
export function blockIndex(layout: BlockLayout, rows: number, cols: number): Int32Array {
  const index = new Int32Array(rows * cols);
  const tileCols = layout.kind === 'tiles' ? Math.ceil(cols / layout.cols) : 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      index[i * cols + j] =
        layout.kind === 'tiles'
          ? Math.floor(i / layout.rows) * tileCols + Math.floor(j / layout.cols)
          : layout.kind === 'row-groups'
            ? Math.floor(i / layout.size)
            : Math.floor(j / layout.size);
    }
  }
  return index;
}
