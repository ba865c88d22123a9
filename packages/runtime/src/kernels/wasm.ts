/**
 * The wasm SIMD backend: a thin layer over the AssemblyScript kernels (src/kernels/assembly) that
 * turns float indices into byte addresses, writes small shape/stride tables into a heap block the
 * kernels read, and hands large gemms to the worker pool.
 */

import { gemmChunk, planChunks } from './gemm-split.js';
import type { Heap } from './heap.js';
import { MAX_CHUNKS } from './parallel-protocol.js';
import type { KernelPool, PoolFunction } from './pool.js';
import { collapseBroadcast, collapsePermutation, contiguousStrides, isEmptyShape } from './strides.js';
import {
  type ActivationOp,
  type AdamParams,
  ATTENTION_HEAD_FIELDS,
  ATTENTION_MODE_FIELD,
  type AttentionParams,
  type BinaryOp,
  type CtfMaskLayout,
  type CtfMaskVectors,
  type GatherParams,
  type GemmParams,
  type HeapMatrix,
  type Kernels,
  type Ptr,
  type ReduceOp,
  type SgdParams,
  type UnaryOp,
} from './types.js';

/** The arguments after the matrix of the product exports, the same for every format. */
type ProductOperands = [x: number, ld: number, columns: number, bias: number, relu: number, y: number];

/** The functions src/kernels/assembly/index.ts exports; pointers are byte addresses. */
export interface KernelExports {
  gemm(
    transA: number,
    transB: number,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: number,
    lda: number,
    strideA: number,
    b: number,
    ldb: number,
    strideB: number,
    beta: number,
    c: number,
    ldc: number,
    strideC: number,
    batch: number,
    scratch: number,
  ): void;
  gemmScratchBytes(): number;
  gemmTileRows(): number;
  gemmTileCols(): number;
  unary(op: number, x: number, y: number, n: number): void;
  activationBackward(op: number, y: number, g: number, dx: number, n: number): void;
  affine(x: number, y: number, n: number, alpha: number, beta: number): void;
  binary(op: number, a: number, b: number, y: number, layout: number): void;
  select(cond: number, a: number, b: number, y: number, n: number): void;
  reduce(op: number, x: number, y: number, outer: number, r: number, inner: number): void;
  softmax(x: number, y: number, rows: number, cols: number, log: number): void;
  softmaxBackward(y: number, g: number, dx: number, rows: number, cols: number, log: number): void;
  layerNorm(x: number, y: number, mean: number, rstd: number, rows: number, cols: number, eps: number): void;
  layerNormBackward(
    x: number,
    mean: number,
    rstd: number,
    g: number,
    dx: number,
    rows: number,
    cols: number,
  ): void;
  permute(x: number, y: number, layout: number): void;
  sumSquares(x: number, n: number): number;
  csrProduct(
    rows: number,
    rowPtr: number,
    index: number,
    wide: number,
    values: number,
    ...operands: ProductOperands
  ): void;
  blockProduct(
    blockRows: number,
    rowPtr: number,
    index: number,
    wide: number,
    values: number,
    denseBlockCols: number,
    ...operands: ProductOperands
  ): void;
  biasActivation(rows: number, bias: number, relu: number, y: number, ld: number, columns: number): void;
  attentionMix(
    heads: number,
    table: number,
    indices: number,
    q: number,
    k: number,
    u: number,
    ld: number,
    batch: number,
    nodes: number,
    paddedNodes: number,
    scale: number,
    scratch: number,
    out: number,
    bias: number,
  ): void;
  gatherRows(
    src: number,
    srcOffsets: number,
    dst: number,
    dstOffsets: number,
    count: number,
    outer: number,
    srcOuter: number,
    dstOuter: number,
    inner: number,
    srcInner: number,
  ): void;
  adam(
    p: number,
    g: number,
    m: number,
    v: number,
    n: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    eps: number,
    coupledDecay: number,
    keep: number,
    stepSize: number,
    inverseCorrection2Sqrt: number,
  ): void;
  sgd(
    p: number,
    g: number,
    buf: number,
    n: number,
    lr: number,
    momentum: number,
    oneMinusDampening: number,
    weightDecay: number,
    nesterov: number,
    firstStep: number,
  ): void;
  ctfMaskStats(
    ...args: [...layout: CtfLayoutArguments, w: number, ...factors: CtfVectorArguments, scratch: number]
  ): void;
  ctfMask(
    ...args: [
      ...layout: CtfLayoutArguments,
      w: number,
      ...factors: CtfVectorArguments,
      scratch: number,
      psi: number,
      entry: number,
      rowStart: number,
      rowEnd: number,
    ]
  ): void;
  ctfMaskBackwardStats(
    ...args: [
      ...layout: CtfLayoutArguments,
      g: number,
      entry: number,
      ...factors: CtfVectorArguments,
      ...coefficients: CtfVectorArguments,
      scratch: number,
    ]
  ): void;
  ctfMaskBackward(
    ...args: [
      ...layout: CtfLayoutArguments,
      g: number,
      entry: number,
      w: number,
      ...factors: CtfVectorArguments,
      ...coefficients: CtfVectorArguments,
      scratch: number,
      dw: number,
      rowStart: number,
      rowEnd: number,
    ]
  ): void;
  ctfMaskedWeight(
    ...args: [
      ...layout: CtfLayoutArguments,
      w: number,
      ...factors: CtfVectorArguments,
      scratch: number,
      out: number,
      entry: number,
      rowSums: number,
      rowStart: number,
      rowEnd: number,
    ]
  ): void;
  ctfMaskedWeightBackwardStats(
    ...args: [
      ...layout: CtfLayoutArguments,
      g: number,
      massGrad: number,
      w: number,
      entry: number,
      ...factors: CtfVectorArguments,
      ...coefficients: CtfVectorArguments,
      scratch: number,
    ]
  ): void;
  ctfMaskedWeightBackward(
    ...args: [
      ...layout: CtfLayoutArguments,
      g: number,
      massGrad: number,
      w: number,
      entry: number,
      ...factors: CtfVectorArguments,
      ...coefficients: CtfVectorArguments,
      scratch: number,
      dw: number,
      rowStart: number,
      rowEnd: number,
    ]
  ): void;
}

/** The leading arguments of the CTF mask exports (variant: 0 full, 1 fine, 2 coarse). */
type CtfLayoutArguments = [
  blockRows: number,
  rowsPerBlock: number,
  blockCols: number,
  colsPerBlock: number,
  gain: number,
  variant: number,
];
/** A {@link CtfMaskVectors} as byte addresses. */
type CtfVectorArguments = [rows: number, cols: number, blocks: number];

/** Must match the codes in assembly/elementwise.ts. */
const UNARY_CODES: Record<UnaryOp, number> = {
  neg: 0,
  exp: 1,
  log: 2,
  abs: 3,
  sqrt: 4,
  square: 5,
  relu: 6,
  sigmoid: 7,
  tanh: 8,
};
const ACTIVATION_CODES: Record<ActivationOp, number> = { relu: 0, sigmoid: 1, tanh: 2 };
const BINARY_CODES: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3 };
const REDUCE_CODES: Record<ReduceOp, number> = { sum: 0, max: 1 };

/**
 * Whether a dense product runs as the packed, cache-blocked gemm plus a bias/ReLU pass (at least 96
 * columns and 32 K weights) rather than on the unpacked block kernel: the crossover measured on the
 * project machine (gemm 30 GFLOP/s against 15–25 for large matrices and many columns).
 */
export function denseProductUsesGemm(blockRows: number, blockCols: number, columns: number): boolean {
  return columns >= 96 && blockRows * blockCols * 16 >= 32768;
}

/** Loop rank of the layout tables binary() and permute() read (LAYOUT_RANK of assembly/layout.ts). */
const LAYOUT_RANK = 6;
const LAYOUT_INTS = 3 * LAYOUT_RANK;

/**
 * Single-thread cost estimates in nanoseconds, measured on the project machine, which decide whether
 * a call is shared among threads and into how many chunks (pool.ts): per gemm flop, per element of
 * the element-wise kernels, per multiply-add of the products (a single column streams the weights).
 */
const GEMM_NANOS_PER_FLOP = 1 / 40;
const ELEMENT_NANOS = { cheap: 0.4, transcendental: 1.5, optimizer: 1.2 } as const;
const PRODUCT_NANOS_PER_MAC = { batched: 0.05, singleColumn: 0.15 } as const;
const ATTENTION_NANOS_PER_MAC = 0.05;
/** Position of the scratch pointer among the arguments of the gemm and attentionMix exports. */
const GEMM_SCRATCH_ARG = 17;
const ATTENTION_SCRATCH_ARG = 11;
/** Per weight, of the CTF mask's element-wise passes (forward with a tanh, backward without). */
const CTF_NANOS = { forward: 2.5, backward: 1 } as const;
/** Position of the scratch pointer among the arguments of the element-wise CTF exports. */
const CTF_MASK_SCRATCH_ARG = 10;
const CTF_BACKWARD_SCRATCH_ARG = 15;
const CTF_MASKED_BACKWARD_SCRATCH_ARG = 16;
/** Chunk boundaries of element-wise kernels fall on whole cache lines. */
const ELEMENT_ALIGN = 16;

/** [start, count] of `chunks` near-equal parts of 0..total, boundaries at multiples of `align`. */
export function splitRange(total: number, chunks: number, align = 1): [number, number][] {
  const units = Math.ceil(total / align);
  const boundary = (i: number) => Math.min(total, Math.round((units * i) / chunks) * align);
  return Array.from({ length: chunks }, (_, i): [number, number] => [
    boundary(i),
    boundary(i + 1) - boundary(i),
  ]).filter(([, count]) => count > 0);
}

/** `chunks` near-equal parts of 0..rows (boundaries at multiples of `align`), or one below 2 chunks. */
function partsOf(rows: number, chunks: number, align = 1): [number, number][] {
  const parts = Math.min(Math.ceil(rows / align), chunks);
  return parts >= 2 ? splitRange(rows, parts, align) : [[0, rows]];
}

/** `chunks` parts of the rows of a sparse matrix with near-equal stored entries, from its row pointers. */
function balancedParts(rowPtr: Int32Array, chunks: number): [number, number][] {
  const rows = rowPtr.length - 1;
  const parts = Math.min(rows, chunks);
  if (parts < 2) return [[0, rows]];
  const first = rowPtr[0];
  const total = rowPtr[rows] - first;
  const bounds = [0];
  for (let c = 1; c < parts; c++) {
    const target = first + (total * c) / parts;
    let lo = bounds[bounds.length - 1];
    let hi = rows;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (rowPtr[mid] < target) lo = mid + 1;
      else hi = mid;
    }
    bounds.push(lo);
  }
  bounds.push(rows);
  return bounds
    .slice(0, -1)
    .map((start, i): [number, number] => [start, bounds[i + 1] - start])
    .filter(([, count]) => count > 0);
}

/** Instantiates the kernels module on a heap's memory. */
export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as KernelExports;
}

/** Arguments of the wasm gemm, in its parameter order, with byte addresses. */
export function gemmArguments(p: GemmParams, scratch: number): Parameters<KernelExports['gemm']> {
  return [
    p.transA ? 1 : 0,
    p.transB ? 1 : 0,
    p.m,
    p.n,
    p.k,
    p.alpha,
    p.a * 4,
    p.lda,
    p.strideA,
    p.b * 4,
    p.ldb,
    p.strideB,
    p.beta,
    p.c * 4,
    p.ldc,
    p.strideC,
    p.batch,
    scratch * 4,
  ];
}

/**
 * Products at least this wide split among threads by columns, narrower ones by rows: node-level
 * activations at batch 32 (768 columns) are megabytes, and each thread then touches only its part.
 */
const COLUMN_SPLIT_COLUMNS = 128;
/** Column parts start on whole cache lines of every row: 4 vectors of 4 floats. */
const LINE_VECTORS = 4;

/**
 * How a stored matrix runs on the product exports: `rows(first, count)` are the arguments before the
 * operands for row units first..first+count (single rows for csr, block rows otherwise), each unit
 * `rowHeight` output rows, each stored entry `macsPerEntry` multiply-adds per column.
 */
interface ProductCall {
  fn: 'csrProduct' | 'blockProduct';
  rowCount: number;
  rowHeight: number;
  macsPerEntry: number;
  /** Stored entries (csr weights, blocks), and the row pointers of the sparse formats. */
  entries: number;
  rowPtr: Int32Array | null;
  rows(first: number, count: number): number[];
  /** The whole product on the calling thread: the export called without building argument lists. */
  whole(x: number, ld: number, columns: number, bias: number, act: number, y: number): void;
}

function productCall(w: HeapMatrix, exports: KernelExports, heap: Heap): ProductCall {
  if (w.format === 'dense') {
    const rowFloats = 16 * w.blockCols;
    const values = w.values * 4;
    return {
      fn: 'blockProduct',
      rowCount: w.blockRows,
      rowHeight: 4,
      macsPerEntry: 16,
      entries: w.blockRows * w.blockCols,
      rowPtr: null,
      rows: (first, count) => [count, 0, 0, 0, (w.values + first * rowFloats) * 4, w.blockCols],
      whole: (x, ld, columns, bias, act, y) =>
        exports.blockProduct(w.blockRows, 0, 0, 0, values, w.blockCols, x, ld, columns, bias, act, y),
    };
  }
  const structure = (first: number) => [
    (w.rowPtr + first) * 4,
    w.index * 4,
    w.wideIndex ? 1 : 0,
    w.values * 4,
  ];
  const [rowPtr, index, wide, values] = structure(0);
  const csr = w.format === 'csr';
  const rowCount = csr ? w.rows : w.blockRows;
  const pointers = new Int32Array(heap.memory.buffer, w.rowPtr * 4, rowCount + 1);
  const common = { rowCount, entries: pointers[rowCount] - pointers[0], rowPtr: pointers };
  if (csr) {
    return {
      ...common,
      fn: 'csrProduct',
      rowHeight: 1,
      macsPerEntry: 1,
      rows: (first, count) => [count, ...structure(first)],
      whole: (x, ld, columns, bias, act, y) =>
        exports.csrProduct(rowCount, rowPtr, index, wide, values, x, ld, columns, bias, act, y),
    };
  }
  return {
    ...common,
    fn: 'blockProduct',
    rowHeight: 4,
    macsPerEntry: 16,
    rows: (first, count) => [count, ...structure(first), 0],
    whole: (x, ld, columns, bias, act, y) =>
      exports.blockProduct(rowCount, rowPtr, index, wide, values, 0, x, ld, columns, bias, act, y),
  };
}

export class WasmKernels implements Kernels {
  readonly name = 'wasm-simd';
  readonly heap: Heap;
  readonly threads: number;
  readonly relaxedSimd: boolean;
  private readonly exports: KernelExports;
  private readonly pool: KernelPool | null;
  private readonly layout: Ptr;
  private layoutView: Int32Array;
  /** Packing scratch of the calling thread's gemms, allocated up front so heap stats stay stable. */
  private readonly gemmScratch: Ptr;
  /** Uploaded matrices are products' operands call after call: their call descriptions, kept. */
  private readonly productCalls = new WeakMap<HeapMatrix, ProductCall>();

  constructor(heap: Heap, exports: KernelExports, pool: KernelPool | null, relaxedSimd: boolean) {
    this.heap = heap;
    this.relaxedSimd = relaxedSimd;
    this.exports = exports;
    this.pool = pool;
    this.threads = pool ? pool.threads : 1;
    this.layout = heap.alloc(LAYOUT_INTS * MAX_CHUNKS);
    this.gemmScratch = heap.alloc(exports.gemmScratchBytes() / 4);
    this.layoutView = new Int32Array(heap.memory.buffer);
  }

  /** Resolves once the worker threads have started. */
  whenReady(): Promise<void> {
    return this.pool ? this.pool.ready : Promise.resolve();
  }

  /** Chunks of kernel calls computed by worker threads so far (0 without threads), for diagnostics. */
  get workerChunks(): number {
    return this.pool?.workerChunks ?? 0;
  }

  /** Stops the worker threads; the kernels stay usable single-threaded. */
  dispose(): void {
    this.pool?.dispose();
  }

  /**
   * Chunks a call of `nanos` single-thread work should be cut into: 0 runs it on the calling thread.
   */
  private chunksFor(nanos: number): number {
    return this.pool ? this.pool.chunksFor(nanos) : 0;
  }

  gemm(p: GemmParams): void {
    const maxChunks = this.chunksFor(2 * p.m * p.n * p.k * p.batch * GEMM_NANOS_PER_FLOP);
    const plan =
      maxChunks > 0
        ? planChunks(p, maxChunks, this.exports.gemmTileRows(), this.exports.gemmTileCols())
        : null;
    if (this.pool && plan && plan.chunks >= 2) {
      const chunks = Array.from({ length: plan.chunks }, (_, i) => gemmArguments(gemmChunk(p, plan, i), 0));
      this.pool.run('gemm', chunks, GEMM_SCRATCH_ARG, this.gemmScratch * 4);
      return;
    }
    this.exports.gemm(...gemmArguments(p, this.gemmScratch));
  }

  /**
   * Runs an element-wise export over n elements, split across threads when large: `args(offset,
   * count)` gives the call's arguments for elements offset..offset+count.
   */
  private elementwise(
    fn: PoolFunction,
    n: number,
    nanosPerElement: number,
    args: (offset: number, count: number) => number[],
  ): void {
    this.split(fn, this.evenParts(n, n * nanosPerElement, ELEMENT_ALIGN), args);
  }

  unary(op: UnaryOp, x: Ptr, y: Ptr, n: number): void {
    const cost =
      op === 'exp' || op === 'log' || op === 'sigmoid' || op === 'tanh' ? 'transcendental' : 'cheap';
    this.elementwise('unary', n, ELEMENT_NANOS[cost], (o, c) => [
      UNARY_CODES[op],
      (x + o) * 4,
      (y + o) * 4,
      c,
    ]);
  }

  activationBackward(op: ActivationOp, y: Ptr, g: Ptr, dx: Ptr, n: number): void {
    this.elementwise('activationBackward', n, ELEMENT_NANOS.cheap, (o, c) => [
      ACTIVATION_CODES[op],
      (y + o) * 4,
      (g + o) * 4,
      (dx + o) * 4,
      c,
    ]);
  }

  affine(x: Ptr, y: Ptr, n: number, alpha: number, beta: number): void {
    this.elementwise('affine', n, ELEMENT_NANOS.cheap, (o, c) => [(x + o) * 4, (y + o) * 4, c, alpha, beta]);
  }

  binary(
    op: BinaryOp,
    a: Ptr,
    aStrides: readonly number[],
    b: Ptr,
    bStrides: readonly number[],
    y: Ptr,
    shape: readonly number[],
  ): void {
    if (isEmptyShape(shape)) return;
    const layout = collapseBroadcast(shape, aStrides, bStrides);
    const outStrides = contiguousStrides(layout.shape);
    const pointers = [a, b, y];
    const strides = [layout.aStrides[0], layout.bStrides[0], outStrides[0]];
    this.layoutCall(
      'binary',
      outStrides[0] * layout.shape[0],
      layout.shape,
      [layout.aStrides, layout.bStrides],
      pointers,
      strides,
      (ptrs, table) => [BINARY_CODES[op], ptrs[0] * 4, ptrs[1] * 4, ptrs[2] * 4, table * 4],
    );
  }

  /**
   * Runs a layout-table kernel (binary, permute), split across threads along its outermost loop axis
   * when large: each chunk gets its own table (outer extent reduced) and its pointers advanced.
   */
  private layoutCall(
    fn: PoolFunction,
    elements: number,
    loopShape: readonly number[],
    strideTables: readonly (readonly number[])[],
    pointers: readonly Ptr[],
    outerStrides: readonly number[],
    args: (pointers: Ptr[], table: Ptr) => number[],
  ): void {
    const scalar = loopShape.length === 0;
    const parts = scalar
      ? [[0, 1] as [number, number]]
      : this.evenParts(loopShape[0], elements * ELEMENT_NANOS.cheap);
    this.split(fn, parts, (start, count, index) => {
      const table = this.layout + index * LAYOUT_INTS;
      this.writeLayout([scalar ? loopShape : [count, ...loopShape.slice(1)], ...strideTables], table);
      return args(
        pointers.map((ptr, i) => ptr + start * outerStrides[i]),
        table,
      );
    });
  }

  select(cond: Ptr, a: Ptr, b: Ptr, y: Ptr, n: number): void {
    this.elementwise('select', n, ELEMENT_NANOS.cheap, (o, c) => [
      (cond + o) * 4,
      (a + o) * 4,
      (b + o) * 4,
      (y + o) * 4,
      c,
    ]);
  }

  reduce(op: ReduceOp, x: Ptr, y: Ptr, outer: number, r: number, inner: number): void {
    const rowElements = r * inner;
    this.rows('reduce', outer, rowElements * ELEMENT_NANOS.cheap, (o, c) => [
      REDUCE_CODES[op],
      (x + o * rowElements) * 4,
      (y + o * inner) * 4,
      c,
      r,
      inner,
    ]);
  }

  /**
   * Runs a kernel over `rows` independent rows, split across threads when large: `args(first,
   * count)` gives the call's arguments for rows first..first+count.
   */
  private rows(
    fn: PoolFunction,
    rows: number,
    nanosPerRow: number,
    args: (first: number, count: number) => number[],
  ): void {
    this.split(fn, this.evenParts(rows, rows * nanosPerRow), args);
  }

  softmax(x: Ptr, y: Ptr, rows: number, cols: number, log: boolean): void {
    this.rows('softmax', rows, cols * ELEMENT_NANOS.transcendental, (o, c) => [
      (x + o * cols) * 4,
      (y + o * cols) * 4,
      c,
      cols,
      log ? 1 : 0,
    ]);
  }

  softmaxBackward(y: Ptr, g: Ptr, dx: Ptr, rows: number, cols: number, log: boolean): void {
    this.rows('softmaxBackward', rows, cols * ELEMENT_NANOS.transcendental, (o, c) => [
      (y + o * cols) * 4,
      (g + o * cols) * 4,
      (dx + o * cols) * 4,
      c,
      cols,
      log ? 1 : 0,
    ]);
  }

  layerNorm(x: Ptr, y: Ptr, mean: Ptr, rstd: Ptr, rows: number, cols: number, eps: number): void {
    this.exports.layerNorm(x * 4, y * 4, mean * 4, rstd * 4, rows, cols, eps);
  }

  layerNormBackward(x: Ptr, mean: Ptr, rstd: Ptr, g: Ptr, dx: Ptr, rows: number, cols: number): void {
    this.exports.layerNormBackward(x * 4, mean * 4, rstd * 4, g * 4, dx * 4, rows, cols);
  }

  permute(x: Ptr, y: Ptr, shape: readonly number[], perm: readonly number[]): void {
    if (isEmptyShape(shape)) return;
    const { shape: outShape, inStrides } = collapsePermutation(shape, perm);
    const outStrides = contiguousStrides(outShape);
    // Loop order: output order, except that the axis contiguous in the input moves next to the
    // innermost one, so the innermost 2-D slice is a blocked transpose rather than a gather.
    const order = outShape.map((_, axis) => axis);
    const inputInner = inStrides.indexOf(1);
    if (inputInner >= 0 && inputInner < order.length - 1) {
      order.splice(inputInner, 1);
      order.splice(order.length - 1, 0, inputInner);
    }
    const loopShape = order.map((axis) => outShape[axis]);
    const loopIn = order.map((axis) => inStrides[axis]);
    const loopOut = order.map((axis) => outStrides[axis]);
    const elements = loopShape.reduce((a, b) => a * b, 1);
    this.layoutCall(
      'permute',
      elements,
      loopShape,
      [loopIn, loopOut],
      [x, y],
      [loopIn[0], loopOut[0]],
      (ptrs, table) => [ptrs[0] * 4, ptrs[1] * 4, table * 4],
    );
  }

  sumSquares(x: Ptr, n: number): number {
    return this.exports.sumSquares(x * 4, n);
  }

  product(w: HeapMatrix, x: Ptr, ld: number, columns: number, bias: Ptr, relu: boolean, y: Ptr): void {
    const act = relu ? 1 : 0;
    if (w.format === 'dense' && denseProductUsesGemm(w.blockRows, w.blockCols, columns)) {
      const m = 4 * w.blockRows;
      const k = 4 * w.blockCols;
      const n = Math.ceil(columns / 4) * 4;
      this.gemm({
        ...{ transA: false, transB: false, m, n, k, alpha: 1, beta: 0, batch: 1 },
        ...{ a: w.values, lda: k, strideA: 0, b: x, ldb: ld, strideB: 0, c: y, ldc: ld, strideC: 0 },
      });
      this.exports.biasActivation(m, bias * 4, act, y * 4, ld, columns);
      return;
    }
    const nanosPerMac = columns === 1 ? PRODUCT_NANOS_PER_MAC.singleColumn : PRODUCT_NANOS_PER_MAC.batched;
    const call = this.productCallOf(w);
    // The kernels compute whole vectors of 4 columns: 2 columns cost what 4 do.
    const lanes = columns === 1 ? 1 : Math.ceil(columns / 4) * 4;
    const chunks = this.chunksFor(call.entries * call.macsPerEntry * lanes * nanosPerMac);
    if (chunks < 2) {
      call.whole(x * 4, ld, columns, bias * 4, act, y * 4);
      return;
    }
    if (columns >= COLUMN_SPLIT_COLUMNS) {
      // Threads take columns (samples): each reads and writes only its own part of x and y.
      const vectors = Math.ceil(columns / 4);
      this.split(call.fn, partsOf(vectors, chunks, LINE_VECTORS), (first, count) => [
        ...call.rows(0, call.rowCount),
        (x + 4 * first) * 4,
        ld,
        Math.min(4 * count, columns - 4 * first),
        bias * 4,
        act,
        (y + 4 * first) * 4,
      ]);
      return;
    }
    // Output row o of a part starting at row `first` (one column: rows are contiguous).
    const outRows = columns === 1 ? 1 : ld;
    const parts = call.rowPtr ? balancedParts(call.rowPtr, chunks) : partsOf(call.rowCount, chunks);
    this.split(call.fn, parts, (first, count) => [
      ...call.rows(first, count),
      x * 4,
      ld,
      columns,
      (bias + call.rowHeight * first) * 4,
      act,
      (y + call.rowHeight * first * outRows) * 4,
    ]);
  }

  attentionMix(p: AttentionParams): void {
    const table = this.int32(p.table, p.heads * ATTENTION_HEAD_FIELDS);
    let rowsPerNode = 0;
    let summed = false;
    for (let h = 0; h < p.heads; h++) {
      const entry = h * ATTENTION_HEAD_FIELDS;
      // Scores (dims) and mixed channels, each a [nodes, paddedNodes] pass per sample.
      rowsPerNode += table[entry + 1] + table[entry + 3];
      summed ||= table[entry + ATTENTION_MODE_FIELD] !== 0;
    }
    const nanos = p.batch * p.nodes * p.paddedNodes * rowsPerNode * ATTENTION_NANOS_PER_MAC;
    const fitsWorkerScratch = p.nodes * p.paddedNodes <= this.exports.gemmScratchBytes() / 4;
    // Threads take samples when there are several (each touches only its columns), else heads,
    // unless heads add to each other's rows.
    const bySample = p.batch > 1;
    const parts =
      fitsWorkerScratch && (bySample || !summed)
        ? this.evenParts(bySample ? p.batch : p.heads, nanos)
        : [[0, bySample ? p.batch : p.heads] as [number, number]];
    const args = (first: number, count: number) => {
      const head = bySample ? 0 : first;
      const column = bySample ? first * p.paddedNodes : 0;
      return [
        bySample ? p.heads : count,
        (p.table + head * ATTENTION_HEAD_FIELDS) * 4,
        p.indices * 4,
        (p.q + column) * 4,
        (p.k + column) * 4,
        (p.u + column) * 4,
        p.ld,
        bySample ? count : p.batch,
        p.nodes,
        p.paddedNodes,
        p.scale,
        p.scratch * 4,
        (p.out + column) * 4,
        p.bias * 4,
      ];
    };
    this.split('attentionMix', parts, args, ATTENTION_SCRATCH_ARG, p.scratch * 4);
  }

  /**
   * Parts of 0..rows of near-equal size, boundaries at multiples of `align`: one part when the call
   * should not be shared.
   */
  private evenParts(rows: number, nanos: number, align = 1): [number, number][] {
    return partsOf(rows, this.chunksFor(nanos), align);
  }

  /** How a stored matrix runs on the product exports, worked out on its first product. */
  private productCallOf(w: HeapMatrix): ProductCall {
    let call = this.productCalls.get(w);
    if (!call) {
      call = productCall(w, this.exports, this.heap);
      this.productCalls.set(w, call);
    }
    return call;
  }

  /**
   * Runs export `fn` on each part of a row range (`args(first, count, part)` its arguments), across
   * the threads when there are several parts. A `scratchArg` gets each thread's own scratch.
   */
  private split(
    fn: PoolFunction,
    parts: readonly [number, number][],
    args: (first: number, count: number, part: number) => number[],
    scratchArg = -1,
    scratch = 0,
  ): void {
    const calls = parts.map(([first, count], part) => args(first, count, part));
    if (this.pool && calls.length > 1) this.pool.run(fn, calls, scratchArg, scratch);
    else (this.exports[fn] as (...a: number[]) => void)(...calls[0]);
  }

  /** An Int32Array view of `count` ints of the heap at `ptr`. */
  private int32(ptr: Ptr, count: number): Int32Array {
    return new Int32Array(this.heap.memory.buffer, ptr * 4, count);
  }

  gatherRows(p: GatherParams): void {
    const nanos = p.count * p.outer * p.inner * ELEMENT_NANOS.cheap;
    // Runs go sample by sample (assembly/sparse.ts), so threads take samples: each reads its own.
    const bySample = p.inner > 1;
    this.split('gatherRows', this.evenParts(bySample ? p.outer : p.count, nanos), (first, count) => {
      const sample = bySample ? first : 0;
      const row = bySample ? 0 : first;
      return [
        (p.src + sample * p.srcOuter) * 4,
        (p.srcOffsets + row) * 4,
        (p.dst + sample * p.dstOuter) * 4,
        (p.dstOffsets + row) * 4,
        bySample ? p.count : count,
        bySample ? count : p.outer,
        p.srcOuter,
        p.dstOuter,
        p.inner,
        p.srcInner,
      ];
    });
  }

  adam(p: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number, params: AdamParams): void {
    const { lr, beta1, beta2, eps, weightDecay, decoupled, step } = params;
    this.elementwise('adam', n, ELEMENT_NANOS.optimizer, (o, c) => [
      (p + o) * 4,
      (g + o) * 4,
      (m + o) * 4,
      (v + o) * 4,
      c,
      beta1,
      1 - beta1,
      beta2,
      1 - beta2,
      eps,
      decoupled ? 0 : weightDecay,
      decoupled ? 1 - lr * weightDecay : 1,
      lr / (1 - beta1 ** step),
      1 / Math.sqrt(1 - beta2 ** step),
    ]);
  }

  sgd(p: Ptr, g: Ptr, buf: Ptr, n: number, params: SgdParams): void {
    const { lr, momentum, dampening, weightDecay, nesterov, firstStep } = params;
    this.elementwise('sgd', n, ELEMENT_NANOS.optimizer, (o, c) => [
      (p + o) * 4,
      (g + o) * 4,
      (buf + o) * 4,
      c,
      lr,
      momentum,
      1 - dampening,
      weightDecay,
      nesterov ? 1 : 0,
      firstStep ? 1 : 0,
    ]);
  }

  ctfMaskStats(layout: CtfMaskLayout, w: Ptr, factors: CtfMaskVectors, scratch: Ptr): void {
    this.exports.ctfMaskStats(
      ...ctfLayoutArguments(layout),
      w * 4,
      ...ctfVectorArguments(factors),
      scratch * 4,
    );
  }

  ctfMask(
    layout: CtfMaskLayout,
    w: Ptr,
    factors: CtfMaskVectors,
    scratch: Ptr,
    psi: Ptr,
    entry: Ptr | null,
    rowStart: number,
    rowEnd: number,
  ): void {
    const leading = [
      ...ctfLayoutArguments(layout),
      w * 4,
      ...ctfVectorArguments(factors),
      scratch * 4,
      psi * 4,
      entry === null ? 0 : entry * 4,
    ];
    const rows: [number, number] = [rowStart, rowEnd];
    this.ctfRows('ctfMask', layout, rows, CTF_NANOS.forward, leading, CTF_MASK_SCRATCH_ARG, scratch);
  }

  ctfMaskBackwardStats(
    layout: CtfMaskLayout,
    g: Ptr,
    entry: Ptr,
    factors: CtfMaskVectors,
    coefficients: CtfMaskVectors,
    scratch: Ptr,
  ): void {
    this.exports.ctfMaskBackwardStats(
      ...ctfLayoutArguments(layout),
      g * 4,
      entry * 4,
      ...ctfVectorArguments(factors),
      ...ctfVectorArguments(coefficients),
      scratch * 4,
    );
  }

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
  ): void {
    const leading = [
      ...ctfLayoutArguments(layout),
      g * 4,
      entry * 4,
      w * 4,
      ...ctfVectorArguments(factors),
      ...ctfVectorArguments(coefficients),
      scratch * 4,
      dw * 4,
    ];
    const rows: [number, number] = [rowStart, rowEnd];
    this.ctfRows(
      'ctfMaskBackward',
      layout,
      rows,
      CTF_NANOS.backward,
      leading,
      CTF_BACKWARD_SCRATCH_ARG,
      scratch,
    );
  }

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
  ): void {
    const leading = [
      ...ctfLayoutArguments(layout),
      w * 4,
      ...ctfVectorArguments(factors),
      scratch * 4,
      out * 4,
      entry === null ? 0 : entry * 4,
      rowSums * 4,
    ];
    const rows: [number, number] = [rowStart, rowEnd];
    this.ctfRows('ctfMaskedWeight', layout, rows, CTF_NANOS.forward, leading, CTF_MASK_SCRATCH_ARG, scratch);
  }

  ctfMaskedWeightBackwardStats(
    layout: CtfMaskLayout,
    g: Ptr | null,
    massGrad: number,
    w: Ptr,
    entry: Ptr,
    factors: CtfMaskVectors,
    coefficients: CtfMaskVectors,
    scratch: Ptr,
  ): void {
    this.exports.ctfMaskedWeightBackwardStats(
      ...ctfLayoutArguments(layout),
      g === null ? 0 : g * 4,
      massGrad,
      w * 4,
      entry * 4,
      ...ctfVectorArguments(factors),
      ...ctfVectorArguments(coefficients),
      scratch * 4,
    );
  }

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
  ): void {
    const leading = [
      ...ctfLayoutArguments(layout),
      g === null ? 0 : g * 4,
      massGrad,
      w * 4,
      entry * 4,
      ...ctfVectorArguments(factors),
      ...ctfVectorArguments(coefficients),
      scratch * 4,
      dw * 4,
    ];
    const rows: [number, number] = [rowStart, rowEnd];
    const scratchArg = CTF_MASKED_BACKWARD_SCRATCH_ARG;
    this.ctfRows('ctfMaskedWeightBackward', layout, rows, CTF_NANOS.backward, leading, scratchArg, scratch);
  }

  /**
   * An element-wise CTF pass over rows [start, end), which are its last two arguments (after
   * `leading`), split across threads when large; `scratchArg` gets each thread's own scratch.
   */
  private ctfRows(
    fn: PoolFunction,
    layout: CtfMaskLayout,
    [start, end]: [number, number],
    nanosPerWeight: number,
    leading: readonly number[],
    scratchArg: number,
    scratch: Ptr,
  ): void {
    const rows = end - start;
    const parts = this.evenParts(rows, rows * layout.blockCols * layout.colsPerBlock * nanosPerWeight);
    const args = (first: number, count: number) => [...leading, start + first, start + first + count];
    this.split(fn, parts, args, scratchArg, scratch * 4);
  }

  /** Writes rank-6 tables (leading axes padded with size 1, stride 0) into a layout block. */
  private writeLayout(tables: readonly (readonly number[])[], block: Ptr): void {
    if (this.layoutView.buffer !== this.heap.memory.buffer) {
      this.layoutView = new Int32Array(this.heap.memory.buffer);
    }
    const rank = tables[0].length;
    if (rank > LAYOUT_RANK) throw new RangeError(`rank ${rank} exceeds the kernels' limit of ${LAYOUT_RANK}`);
    tables.forEach((table, index) => {
      const base = block + index * LAYOUT_RANK;
      const pad = LAYOUT_RANK - rank;
      for (let axis = 0; axis < LAYOUT_RANK; axis++) {
        const isShape = index === 0;
        this.layoutView[base + axis] = axis < pad ? (isShape ? 1 : 0) : table[axis - pad];
      }
    });
  }
}

/** Must match the variant codes in assembly/ctf.ts. */
const CTF_VARIANT_CODES: Record<CtfMaskLayout['variant'], number> = { full: 0, fine: 1, coarse: 2 };

function ctfLayoutArguments(l: CtfMaskLayout): CtfLayoutArguments {
  return [l.blockRows, l.rowsPerBlock, l.blockCols, l.colsPerBlock, l.gain, CTF_VARIANT_CODES[l.variant]];
}

function ctfVectorArguments(v: CtfMaskVectors): CtfVectorArguments {
  return [v.rows * 4, v.cols * 4, v.blocks * 4];
}
