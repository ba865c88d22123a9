/**
 * Layers whose weights pruning can act on. A `Linear` computes x · W + b with W stored [in, out];
 * pruning installs a `transform` that turns the latent weight into the effective one (W ⊙ ψ(W) for
 * CTF, W ⊙ M for a hard mask), so layers stay ignorant of how they are pruned.
 */
import { init, Module, Parameter, type Rng, type Tensor } from '../engine/index.js';

/** Maps a layer's latent weight to its effective weight (a pruning mask applied, differentiably). */
export type WeightTransform = (weight: Parameter) => Tensor;

/** Options of a `Linear` layer. */
export interface LinearOptions {
  /** Whether the layer adds a bias (default true). */
  bias?: boolean;
  /** 'kaiming' for layers followed by ReLU, 'glorot' otherwise. */
  init?: 'kaiming' | 'glorot';
}

/**
 * A fully connected layer y = x · W + b with W stored [in, out] (PyTorch's `nn.Linear` stores the
 * transpose). W is initialised Kaiming-uniform (or Glorot-uniform), b at zero.
 */
export class Linear extends Module {
  /** Input features (rows of W). */
  readonly inFeatures: number;
  /** Output features (columns of W). */
  readonly outFeatures: number;
  /** The latent weight W [inFeatures, outFeatures]. */
  weight: Parameter;
  /** The bias [outFeatures], or null without one. */
  bias: Parameter | null;
  /** Set by pruning; null means the latent weight is used as is. */
  transform: WeightTransform | null = null;

  /** A layer of `inFeatures` → `outFeatures`, its weight drawn from `rng`. */
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

  /** The weight the layer computes with: `transform(weight)` when pruning set one, else `weight`. */
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
 * Fixes a binary mask (row-major 0/1 over the weight) on a layer: the effective weight becomes W ⊙ M
 * and pruned latent weights are zeroed, so the stored weights are the effective ones.
 */
export function setHardMask(layer: Linear, mask: Uint8Array): void {
  const values = Float32Array.from(mask);
  const maskTensor = new Parameter(layer.weight.shape, values);
  maskTensor.requiresGrad = false;
  const data = layer.weight.data;
  for (let j = 0; j < data.length; j++) data[j] *= values[j];
  layer.transform = (weight) => weight.mul(maskTensor);
}

/**
 * How a prunable weight matrix [rows, cols] splits into blocks (the coarsest pruning unit):
 * square tiles for dense layers, or one block per head as groups of rows or of columns.
 */
export type BlockLayout =
  | {
      /** Square-ish tiles (shrunk to divisors of the matrix sides). */
      kind: 'tiles';
      /** Rows per tile, at most. */
      rows: number;
      /** Columns per tile, at most. */
      cols: number;
    }
  | {
      /** Groups of consecutive rows (e.g. one attention head's inputs). */
      kind: 'row-groups';
      /** Rows per group; must divide the rows. */
      size: number;
    }
  | {
      /** Groups of consecutive columns (e.g. one attention head's outputs). */
      kind: 'col-groups';
      /** Columns per group; must divide the columns. */
      size: number;
    };

/** A weight matrix that pruning addresses, with everything pruning and compaction need to know. */
export interface PrunableWeight {
  /** Layer name, e.g. 'conv'. */
  readonly name: string;
  /** The layer holding the weight. */
  readonly layer: Linear;
  /** Rows of the matrix: the layer's inputs. */
  readonly rows: number;
  /** Columns of the matrix: the layer's outputs. */
  readonly cols: number;
  /** How the matrix splits into blocks, the coarsest pruning unit. */
  readonly blocks: BlockLayout;
  /** What a row, a column and a block stand for, for reports (e.g. 'input channel'). */
  readonly meaning: {
    /** What a row stands for, e.g. 'encoding channel'. */
    rows: string;
    /** What a column stands for, e.g. 'convolution filter'. */
    cols: string;
    /** What a block stands for, e.g. 'attention head'. */
    blocks: string;
  };
  /** Multiply-adds each weight performs per sequence (nodes for per-node layers, 1 for the FC). */
  readonly usesPerSequence: number;
}

/** A layer's weight as a prunable matrix: rows are its inputs, columns its outputs. */
export function prunableWeight(
  name: string,
  layer: Linear,
  detail: Pick<PrunableWeight, 'blocks' | 'meaning' | 'usesPerSequence'>,
): PrunableWeight {
  return { name, layer, rows: layer.inFeatures, cols: layer.outFeatures, ...detail };
}

/**
 * A block layout as an exact 4-D view [blockRows, rowsPerBlock, blockCols, colsPerBlock] of the
 * [rows, cols] matrix: row-major entry (i, j) sits at (⌊i/r⌋, i mod r, ⌊j/c⌋, j mod c). Tiles shrink to
 * the largest divisors of the matrix sides not above the requested size, so every layout tiles exactly;
 * row groups are [rows/size, size, 1, cols], column groups [1, rows, cols/size, size].
 */
export interface Tiling {
  blockRows: number;
  rowsPerBlock: number;
  blockCols: number;
  colsPerBlock: number;
}

function largestDivisorAtMost(n: number, limit: number): number {
  for (let d = Math.min(n, limit); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

export function tiling(layout: BlockLayout, rows: number, cols: number): Tiling {
  if (layout.kind === 'tiles') {
    const r = largestDivisorAtMost(rows, layout.rows);
    const c = largestDivisorAtMost(cols, layout.cols);
    return { blockRows: rows / r, rowsPerBlock: r, blockCols: cols / c, colsPerBlock: c };
  }
  const along = layout.kind === 'row-groups' ? rows : cols;
  if (along % layout.size !== 0) {
    throw new RangeError(`a ${layout.kind} layout of size ${layout.size} does not divide ${along}`);
  }
  return layout.kind === 'row-groups'
    ? { blockRows: rows / layout.size, rowsPerBlock: layout.size, blockCols: 1, colsPerBlock: cols }
    : { blockRows: 1, rowsPerBlock: rows, blockCols: cols / layout.size, colsPerBlock: layout.size };
}

/** Number of blocks of a layout over a [rows, cols] matrix. */
export function blockCount(layout: BlockLayout, rows: number, cols: number): number {
  const t = tiling(layout, rows, cols);
  return t.blockRows * t.blockCols;
}

/** Block index of every entry of a [rows, cols] matrix, row-major. */
export function blockIndex(layout: BlockLayout, rows: number, cols: number): Int32Array {
  const t = tiling(layout, rows, cols);
  const index = new Int32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const blockRow = Math.floor(i / t.rowsPerBlock) * t.blockCols;
    for (let j = 0; j < cols; j++) index[i * cols + j] = blockRow + Math.floor(j / t.colsPerBlock);
  }
  return index;
}
