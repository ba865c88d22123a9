/**
 * The wasm SIMD backend: a thin layer over the AssemblyScript kernels (src/kernels/assembly) that
 * turns float indices into byte addresses, writes small shape/stride tables into a heap block the
 * kernels read, and hands large gemms to the worker pool.
 */
import type { Heap } from './heap.js';
import type { GemmPool } from './pool.js';
import { collapseBroadcast, collapsePermutation, contiguousStrides, isEmptyShape } from './strides.js';
import type {
  ActivationOp,
  AdamParams,
  AttentionParams,
  BinaryOp,
  GatherParams,
  GemmParams,
  HeapMatrix,
  Kernels,
  Ptr,
  ReduceOp,
  SgdParams,
  UnaryOp,
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
}

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

export class WasmKernels implements Kernels {
  readonly name = 'wasm-simd';
  readonly heap: Heap;
  readonly threads: number;
  private readonly exports: KernelExports;
  private readonly pool: GemmPool | null;
  private readonly layout: Ptr;
  private layoutView: Int32Array;
  /** Packing scratch of the calling thread's gemms, allocated up front so heap stats stay stable. */
  private readonly gemmScratch: Ptr;

  constructor(heap: Heap, exports: KernelExports, pool: GemmPool | null) {
    this.heap = heap;
    this.exports = exports;
    this.pool = pool;
    this.threads = pool ? pool.threads : 1;
    this.layout = heap.alloc(LAYOUT_INTS);
    this.gemmScratch = heap.alloc(exports.gemmScratchBytes() / 4);
    this.layoutView = new Int32Array(heap.memory.buffer);
  }

  /** Resolves once the gemm workers have started. */
  whenReady(): Promise<void> {
    return this.pool ? this.pool.ready : Promise.resolve();
  }

  /** Gemm chunks computed by worker threads so far (0 without threads), for diagnostics. */
  get workerChunks(): number {
    return this.pool?.workerChunks ?? 0;
  }

  /** Stops the gemm workers; the kernels stay usable single-threaded. */
  dispose(): void {
    this.pool?.dispose();
  }

  gemm(p: GemmParams): void {
    if (this.pool?.tryGemm(p, this.gemmScratch)) return;
    this.exports.gemm(...gemmArguments(p, this.gemmScratch));
  }

  unary(op: UnaryOp, x: Ptr, y: Ptr, n: number): void {
    this.exports.unary(UNARY_CODES[op], x * 4, y * 4, n);
  }

  activationBackward(op: ActivationOp, y: Ptr, g: Ptr, dx: Ptr, n: number): void {
    this.exports.activationBackward(ACTIVATION_CODES[op], y * 4, g * 4, dx * 4, n);
  }

  affine(x: Ptr, y: Ptr, n: number, alpha: number, beta: number): void {
    this.exports.affine(x * 4, y * 4, n, alpha, beta);
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
    this.writeLayout([layout.shape, layout.aStrides, layout.bStrides]);
    this.exports.binary(BINARY_CODES[op], a * 4, b * 4, y * 4, this.layout * 4);
  }

  select(cond: Ptr, a: Ptr, b: Ptr, y: Ptr, n: number): void {
    this.exports.select(cond * 4, a * 4, b * 4, y * 4, n);
  }

  reduce(op: ReduceOp, x: Ptr, y: Ptr, outer: number, r: number, inner: number): void {
    this.exports.reduce(REDUCE_CODES[op], x * 4, y * 4, outer, r, inner);
  }

  softmax(x: Ptr, y: Ptr, rows: number, cols: number, log: boolean): void {
    this.exports.softmax(x * 4, y * 4, rows, cols, log ? 1 : 0);
  }

  softmaxBackward(y: Ptr, g: Ptr, dx: Ptr, rows: number, cols: number, log: boolean): void {
    this.exports.softmaxBackward(y * 4, g * 4, dx * 4, rows, cols, log ? 1 : 0);
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
    this.writeLayout([
      order.map((axis) => outShape[axis]),
      order.map((axis) => inStrides[axis]),
      order.map((axis) => outStrides[axis]),
    ]);
    this.exports.permute(x * 4, y * 4, this.layout * 4);
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
    const operands: ProductOperands = [x * 4, ld, columns, bias * 4, act, y * 4];
    if (w.format === 'dense') {
      this.exports.blockProduct(w.blockRows, 0, 0, 0, w.values * 4, w.blockCols, ...operands);
      return;
    }
    const structure = [w.rowPtr * 4, w.index * 4, w.wideIndex ? 1 : 0, w.values * 4] as const;
    if (w.format === 'csr') this.exports.csrProduct(w.rows, ...structure, ...operands);
    else this.exports.blockProduct(w.blockRows, ...structure, 0, ...operands);
  }

  attentionMix(p: AttentionParams): void {
    this.exports.attentionMix(
      p.heads,
      p.table * 4,
      p.indices * 4,
      p.q * 4,
      p.k * 4,
      p.u * 4,
      p.ld,
      p.batch,
      p.nodes,
      p.paddedNodes,
      p.scale,
      p.scratch * 4,
      p.out * 4,
    );
  }

  gatherRows(p: GatherParams): void {
    this.exports.gatherRows(
      p.src * 4,
      p.srcOffsets * 4,
      p.dst * 4,
      p.dstOffsets * 4,
      p.count,
      p.outer,
      p.srcOuter,
      p.dstOuter,
      p.inner,
      p.srcInner,
    );
  }

  adam(p: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number, params: AdamParams): void {
    const { lr, beta1, beta2, eps, weightDecay, decoupled, step } = params;
    this.exports.adam(
      p * 4,
      g * 4,
      m * 4,
      v * 4,
      n,
      beta1,
      1 - beta1,
      beta2,
      1 - beta2,
      eps,
      decoupled ? 0 : weightDecay,
      decoupled ? 1 - lr * weightDecay : 1,
      lr / (1 - beta1 ** step),
      1 / Math.sqrt(1 - beta2 ** step),
    );
  }

  sgd(p: Ptr, g: Ptr, buf: Ptr, n: number, params: SgdParams): void {
    const { lr, momentum, dampening, weightDecay, nesterov, firstStep } = params;
    this.exports.sgd(
      p * 4,
      g * 4,
      buf * 4,
      n,
      lr,
      momentum,
      1 - dampening,
      weightDecay,
      nesterov ? 1 : 0,
      firstStep ? 1 : 0,
    );
  }

  /** Writes rank-6 tables (leading axes padded with size 1, stride 0) into the layout block. */
  private writeLayout(tables: readonly (readonly number[])[]): void {
    if (this.layoutView.buffer !== this.heap.memory.buffer) {
      this.layoutView = new Int32Array(this.heap.memory.buffer);
    }
    const rank = tables[0].length;
    if (rank > LAYOUT_RANK) throw new RangeError(`rank ${rank} exceeds the kernels' limit of ${LAYOUT_RANK}`);
    tables.forEach((table, index) => {
      const base = this.layout + index * LAYOUT_RANK;
      const pad = LAYOUT_RANK - rank;
      for (let axis = 0; axis < LAYOUT_RANK; axis++) {
        const isShape = index === 0;
        this.layoutView[base + axis] = axis < pad ? (isShape ? 1 : 0) : table[axis - pad];
      }
    });
  }
}
