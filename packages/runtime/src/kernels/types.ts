/**
 * The contract between the engine and its numeric kernels.
 *
 * Every tensor's data lives in one {@link Heap} (a WebAssembly.Memory). A pointer (`Ptr`) is a
 * float32 element index into that heap, never a byte address: the wasm backend shifts it left by 2
 * at the boundary, the TypeScript fallback indexes `heap.f32` with it directly. Both backends
 * therefore see exactly the same memory and can be swapped or compared freely.
 *
 * Kernels never allocate tensors; the caller owns every buffer passed in. Unless a method says
 * otherwise, an output may alias an input only if it is exactly the same buffer with the same
 * layout (in-place element-wise update).
 */
import type { Heap } from './heap.js';

/** Float32 element index into the heap. */
export type Ptr = number;

export type UnaryOp = 'neg' | 'exp' | 'log' | 'abs' | 'sqrt' | 'square' | 'relu' | 'sigmoid' | 'tanh';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';
export type ReduceOp = 'sum' | 'max';
/** Activations whose backward pass is computed from the forward output `y` alone. */
export type ActivationOp = 'relu' | 'sigmoid' | 'tanh';

/**
 * C[i] = alpha · op(A[i]) · op(B[i]) + beta · C[i] for i in 0..batch-1, with op(X) = Xᵀ when the
 * matching `trans` flag is set. Matrices are row-major with leading dimensions `lda`, `ldb`, `ldc`
 * (the distance between consecutive rows as stored, so for a transposed operand the stored shape is
 * the transpose of the logical one). A stride of 0 shares one matrix across the batch (e.g. an
 * adjacency A[V,V] times X[B,V,F]); `strideC = 0` accumulates every batch item into one C, which
 * requires beta = 1 or a single batch item. When beta is 0, C is overwritten and never read.
 */
export interface GemmParams {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  a: Ptr;
  lda: number;
  strideA: number;
  b: Ptr;
  ldb: number;
  strideB: number;
  beta: number;
  c: Ptr;
  ldc: number;
  strideC: number;
  batch: number;
}

/** Hyper-parameters of one Adam/AdamW step, PyTorch semantics. `step` counts from 1. */
export interface AdamParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** true: AdamW's decoupled decay `p -= lr·wd·p`; false: Adam's L2 term `g += wd·p`. */
  decoupled: boolean;
  step: number;
}

/** Hyper-parameters of one SGD step, PyTorch semantics (dampening applies from the second step). */
export interface SgdParams {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** true on the first step: the momentum buffer is initialised to the gradient. */
  firstStep: boolean;
}

/**
 * A weight matrix W [rows = output channels, cols = input channels] in the heap, for products over
 * channels-major activations (see {@link Kernels.product}). Index tables are u16, or i32 when
 * `wideIndex`; row pointers are i32.
 */
export type HeapMatrix =
  | {
      format: 'csr';
      rows: number;
      /** rows + 1 offsets into index/values. */
      rowPtr: Ptr;
      /** Input channel of every stored weight. */
      index: Ptr;
      wideIndex: boolean;
      values: Ptr;
    }
  | {
      /** 4×4 blocks: block row r covers output rows 4r..4r+3. */
      format: 'bsr';
      blockRows: number;
      /** blockRows + 1 offsets into index (blocks). */
      rowPtr: Ptr;
      /** Block column of every stored block (input rows 4c..4c+3). */
      index: Ptr;
      wideIndex: boolean;
      /** 16 floats per block, row-major. */
      values: Ptr;
    }
  | {
      format: 'dense';
      blockRows: number;
      blockCols: number;
      /** Row-major [4·blockRows, 4·blockCols], zero beyond the matrix. */
      values: Ptr;
    };

/** Columns of one attention head in the table {@link AttentionParams.table} (i32 each). */
export const ATTENTION_HEAD_FIELDS = 7;
/** Position of the mode (ATTENTION_ADD | ATTENTION_FINISH) among a head's fields. */
export const ATTENTION_MODE_FIELD = 6;

/**
 * Mode flags of an attention head ({@link AttentionParams.table}): its mixed rows are added to what
 * the output rows hold (a sum over heads writing the same rows), and then finished: bias added and
 * relu applied. 0: stored.
 */
export const ATTENTION_ADD = 1;
export const ATTENTION_FINISH = 2;

/**
 * The attention of a graph layer: per sample and head, Aᵀ[j, i] = softmax over j of
 * (Bᵀ[j, i] + scale · Σ_d k[d, j]·q[d, i]) for a dynamic head (a static head's Aᵀ is given), then
 * out[outRow + r, i] = Σ_j u[channel_r, j] · Aᵀ[j, i]. Activations are channels-major with leading
 * dimension ld; sample b occupies columns b·paddedNodes.. (the first `nodes` used; paddedNodes is a
 * multiple of 4 and every output row is written over all paddedNodes lanes).
 */
export interface AttentionParams {
  heads: number;
  /**
   * Per head, i32: [first dim, dim count (0: static head), channels offset, channel count,
   * Aᵀ or Bᵀ ([nodes, paddedNodes] floats, a Ptr), first output row, mode (ATTENTION_ADD |
   * ATTENTION_FINISH flags)]. A head's dims are consecutive rows of q and k; its channels, rows of u,
   * are listed in `indices` from the channels offset. Heads that add to rows another head writes
   * follow it in the table.
   */
  table: Ptr;
  /** i32 list of every head's channels. */
  indices: Ptr;
  q: Ptr;
  k: Ptr;
  u: Ptr;
  ld: number;
  batch: number;
  nodes: number;
  paddedNodes: number;
  scale: number;
  /** [nodes, paddedNodes] floats of working space. */
  scratch: Ptr;
  out: Ptr;
  /** One per output row: what ATTENTION_FINISH adds (unread without such heads). */
  bias: Ptr;
}

/**
 * A strided row gather: dst[dstOffsets[r] + o·dstOuter + i] = src[srcOffsets[r] + o·srcOuter +
 * i·srcInner] for r < count, o < outer, i < inner; the offset tables are i32.
 */
export interface GatherParams {
  src: Ptr;
  srcOffsets: Ptr;
  dst: Ptr;
  dstOffsets: Ptr;
  count: number;
  outer: number;
  srcOuter: number;
  dstOuter: number;
  inner: number;
  srcInner: number;
}

/** Which factors of a CTF mask are multiplied: all four, the entry alone, or block·row·column. */
export type CtfMaskVariant = 'full' | 'fine' | 'coarse';

/**
 * The coarse-to-fine pruning mask ψ(W) of a contiguous row-major W [rows, cols] tiled into
 * blockRows × blockCols blocks of rowsPerBlock × colsPerBlock (rows = blockRows·rowsPerBlock,
 * cols = blockCols·colsPerBlock). With x = W² and φ(v) = tanh(gain·v): entry e_ij = φ(x_ij), row
 * R_i = φ(mean_j x_ij), column C_j = φ(mean_i x_ij), block B_b = φ(mean of x over block b), and
 * ψ = e·B·R·C ('full'), e ('fine') or B·R·C ('coarse').
 */
export interface CtfMaskLayout {
  blockRows: number;
  rowsPerBlock: number;
  blockCols: number;
  colsPerBlock: number;
  gain: number;
  variant: CtfMaskVariant;
}

/** Per-row (rows floats), per-column (cols) and per-block (blockRows·blockCols, row-major) vectors. */
export interface CtfMaskVectors {
  rows: Ptr;
  cols: Ptr;
  blocks: Ptr;
}

/**
 * The numeric kernels of one backend (wasm SIMD, or the TypeScript fallback) over its {@link Heap}:
 * everything the inference engine and the toolkit's tensor engine compute goes through them.
 */
export interface Kernels {
  /** 'wasm-simd' or 'ts'. */
  readonly name: string;
  /** The heap every tensor these kernels read and write lives in. */
  readonly heap: Heap;
  /** Worker threads a large gemm may use (1 = single-threaded). */
  readonly threads: number;
  /** Whether the wasm kernels use relaxed SIMD (fused multiply-add); false for the fallback. */
  readonly relaxedSimd: boolean;

  /** A batched general matrix product (see {@link GemmParams}). */
  gemm(p: GemmParams): void;

  /** y = op(x), n contiguous elements. */
  unary(op: UnaryOp, x: Ptr, y: Ptr, n: number): void;
  /** dx = g · op'(x), written from the forward output y (relu: y > 0; sigmoid: y(1−y); tanh: 1−y²). */
  activationBackward(op: ActivationOp, y: Ptr, g: Ptr, dx: Ptr, n: number): void;
  /** y = alpha · x + beta, n contiguous elements. */
  affine(x: Ptr, y: Ptr, n: number, alpha: number, beta: number): void;

  /**
   * y = a op b with broadcasting. `shape` is the output shape; `aStrides` / `bStrides` give each
   * operand's element stride per output axis (0 along a broadcast axis). The output is contiguous.
   * Callers collapse adjacent axes first, so rank is small (≤ 6).
   */
  binary(
    op: BinaryOp,
    a: Ptr,
    aStrides: readonly number[],
    b: Ptr,
    bStrides: readonly number[],
    y: Ptr,
    shape: readonly number[],
  ): void;

  /** y = cond ≠ 0 ? a : b, n contiguous elements. */
  select(cond: Ptr, a: Ptr, b: Ptr, y: Ptr, n: number): void;

  /** Views x as [outer, r, inner] and writes y[o, i] = reduce over r of x[o, r, i]. */
  reduce(op: ReduceOp, x: Ptr, y: Ptr, outer: number, r: number, inner: number): void;

  /** Row-wise softmax (or log-softmax) of a contiguous [rows, cols] matrix. */
  softmax(x: Ptr, y: Ptr, rows: number, cols: number, log: boolean): void;
  /**
   * Backward of row-wise softmax from its output y: softmax dx = y ⊙ (g − Σ g⊙y);
   * log-softmax dx = g − exp(y) · Σ g.
   */
  softmaxBackward(y: Ptr, g: Ptr, dx: Ptr, rows: number, cols: number, log: boolean): void;

  /**
   * Row-wise normalisation of [rows, cols]: y = (x − mean) · rstd, with rstd = 1/√(var + eps) and the
   * biased variance; stores mean and rstd per row for the backward pass.
   */
  layerNorm(x: Ptr, y: Ptr, mean: Ptr, rstd: Ptr, rows: number, cols: number, eps: number): void;
  /** Backward of {@link layerNorm} (no affine part): dx from x, the saved mean/rstd and g. */
  layerNormBackward(x: Ptr, mean: Ptr, rstd: Ptr, g: Ptr, dx: Ptr, rows: number, cols: number): void;

  /**
   * y = x permuted: `shape` is x's shape, `perm[i]` the input axis that becomes output axis i
   * (as numpy.transpose). Both contiguous; rank ≤ 6.
   */
  permute(x: Ptr, y: Ptr, shape: readonly number[], perm: readonly number[]): void;

  /** Σ x², n contiguous elements, accumulated in float64. */
  sumSquares(x: Ptr, n: number): number;

  /**
   * y = act(bias + W·x) over channels-major activations: x[i·ld + c] is input channel i at column c,
   * y[o·ld + c] likewise; act is ReLU when `relu`. With columns > 1 every output row is written over
   * ⌈columns/4⌉·4 lanes (ld must allow it); with columns = 1, x and y are plain vectors (ld unused).
   * Block formats (dense, bsr) read 4·blockCols input rows and write 4·blockRows output rows (bias
   * has as many entries); rows beyond the matrix are zero weights, so those inputs must be finite.
   */
  product(w: HeapMatrix, x: Ptr, ld: number, columns: number, bias: Ptr, relu: boolean, y: Ptr): void;

  /** The attention of all heads and samples of a graph layer, see {@link AttentionParams}. */
  attentionMix(p: AttentionParams): void;

  /** The strided row gather of {@link GatherParams}. */
  gatherRows(p: GatherParams): void;

  /** One Adam/AdamW step over n parameters: updates p, m, v in place. */
  adam(p: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number, params: AdamParams): void;
  /** One SGD step over n parameters: updates p (and the momentum buffer when momentum > 0). */
  sgd(p: Ptr, g: Ptr, buf: Ptr, n: number, params: SgdParams): void;

  /**
   * Statistics pass of a CTF mask ({@link CtfMaskLayout}), whole matrix: the factors R, C and B of w
   * into `factors`. Not needed for 'fine'. `scratch`: cols floats.
   */
  ctfMaskStats(layout: CtfMaskLayout, w: Ptr, factors: CtfMaskVectors, scratch: Ptr): void;
  /**
   * Element-wise pass of a CTF mask over rows [rowStart, rowEnd): ψ from w and the factors of
   * {@link ctfMaskStats} ('fine' reads no factors). For 'full', also writes the entry factor e (which
   * the backward pass needs) into `entry` unless it is null. `scratch`: cols floats, private to the
   * call (callers splitting the rows give each part its own).
   */
  ctfMask(
    layout: CtfMaskLayout,
    w: Ptr,
    factors: CtfMaskVectors,
    scratch: Ptr,
    psi: Ptr,
    entry: Ptr | null,
    rowStart: number,
    rowEnd: number,
  ): void;
  /**
   * Statistics pass of a CTF mask's backward ('full' and 'coarse'; 'fine' has none), whole matrix:
   * from the gradient g of ψ, the entry factor ('full') and the factors, the gradient each mean
   * passes to every element of its group, into `coefficients`: rows_i = gain·(1 − R_i²)·Σ_j g_ij·
   * ∂ψ_ij/∂R_i / cols, likewise per column (÷ rows) and per block (÷ its size). `scratch`: 2·cols floats.
   */
  ctfMaskBackwardStats(
    layout: CtfMaskLayout,
    g: Ptr,
    entry: Ptr,
    factors: CtfMaskVectors,
    coefficients: CtfMaskVectors,
    scratch: Ptr,
  ): void;
  /**
   * Element-wise pass of a CTF mask's backward over rows [rowStart, rowEnd): dw = 2w · (g·∂ψ/∂e ·
   * gain·(1 − e²) + the row's, column's and block's coefficients of {@link ctfMaskBackwardStats}),
   * with no coefficients for 'fine' and no entry term for 'coarse'. `entry`: e for 'full', ψ itself
   * for 'fine', unused for 'coarse'. `scratch`: 2·cols floats, private to the call.
   */
  ctfMaskBackward(
    layout: CtfMaskLayout,
    g: Ptr,
    entry: Ptr,
    w: Ptr,
    factors: CtfMaskVectors,
    coefficients: CtfMaskVectors,
    scratch: Ptr,
    dw: Ptr,
    rowStart: number,
    rowEnd: number,
  ): void;

  /**
   * Element-wise pass of the effective weight w ⊙ ψ over rows [rowStart, rowEnd), from w and the
   * factors of {@link ctfMaskStats} ('fine' reads no factors): w·ψ into `out`, Σ_j ψ_ij of each row
   * i into `rowSums[i]`, and for 'full' and 'fine' the entry factor e into `entry` unless it is null
   * (what {@link ctfMaskedWeightBackward} reads). `scratch`: cols floats, private to the call.
   */
  ctfMaskedWeight(
    layout: CtfMaskLayout,
    w: Ptr,
    factors: CtfMaskVectors,
    scratch: Ptr,
    out: Ptr,
    entry: Ptr | null,
    rowSums: Ptr,
    rowStart: number,
    rowEnd: number,
  ): void;
  /**
   * {@link ctfMaskBackwardStats} of the effective weight w ⊙ ψ, whole matrix: the gradient of ψ is
   * g·w + massGrad, with g the gradient of w ⊙ ψ (null: none, the gradient of ψ is massGrad alone)
   * and massGrad that of Σψ. `entry`: e for 'full', unused otherwise. `scratch`: 2·cols floats.
   */
  ctfMaskedWeightBackwardStats(
    layout: CtfMaskLayout,
    g: Ptr | null,
    massGrad: number,
    w: Ptr,
    entry: Ptr,
    factors: CtfMaskVectors,
    coefficients: CtfMaskVectors,
    scratch: Ptr,
  ): void;
  /**
   * Element-wise pass of the effective weight's backward over rows [rowStart, rowEnd): dw = g·ψ +
   * the mask's term of {@link ctfMaskBackward} with the gradient of ψ g·w + massGrad (g null: none,
   * massGrad alone) and the coefficients of {@link ctfMaskedWeightBackwardStats}. `entry`: e for
   * 'full' and 'fine', unused for 'coarse'. `scratch`: 2·cols floats, private to the call.
   */
  ctfMaskedWeightBackward(
    layout: CtfMaskLayout,
    g: Ptr | null,
    massGrad: number,
    w: Ptr,
    entry: Ptr,
    factors: CtfMaskVectors,
    coefficients: CtfMaskVectors,
    scratch: Ptr,
    dw: Ptr,
    rowStart: number,
    rowEnd: number,
  ): void;
}
