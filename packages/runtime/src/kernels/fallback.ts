/**
 * The plain TypeScript backend: exact reference semantics for every kernel and the path used where
 * wasm SIMD is unavailable. It works on `heap.f32` directly (re-read per call, since heap growth
 * replaces the buffer). Arithmetic runs in float64 and is rounded to float32 on store.
 */
import type { Heap } from './heap.js';
import { collapseBroadcast, collapsePermutation, isEmptyShape } from './strides.js';
import {
  type ActivationOp,
  type AdamParams,
  ATTENTION_ADD,
  ATTENTION_FINISH,
  ATTENTION_HEAD_FIELDS,
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

/** Rows and columns of the register tile. */
const TILE = 4;
/** Depth of one K block: a packed 4-column B panel of this depth stays in L1. */
const KC = 256;

const BINARY_CODES: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3 };

export class TsKernels implements Kernels {
  readonly name = 'ts';
  readonly threads = 1;
  readonly relaxedSimd = false;
  readonly heap: Heap;
  private packedA = new Float64Array(TILE * KC);
  private packedB = new Float64Array(0);
  private readonly tile = new Float64Array(TILE * TILE);
  /** Accumulators of one output row (or block row) of a product, and one head's adjacency. */
  private accumulators = new Float64Array(0);
  private adjacency = new Float64Array(0);
  private intViews: { buffer: ArrayBufferLike; i32: Int32Array; u16: Uint16Array } | null = null;

  constructor(heap: Heap) {
    this.heap = heap;
  }

  /** The fallback owns no threads: nothing to wait for or release. */
  whenReady(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {}

  gemm(p: GemmParams): void {
    if (p.m <= 0 || p.n <= 0) return;
    for (let item = 0; item < p.batch; item++) {
      this.gemmOne(p, p.a + item * p.strideA, p.b + item * p.strideB, p.c + item * p.strideC);
    }
  }

  /** One product, blocked over K so each packed B panel is reused from cache across all row tiles. */
  private gemmOne(p: GemmParams, a: Ptr, b: Ptr, c: Ptr): void {
    const f = this.heap.f32;
    if (p.k <= 0) {
      this.scaleMatrix(f, c, p.m, p.n, p.ldc, p.beta);
      return;
    }
    // Element (i, p) of op(A) is a[i·rowA + p·depthA]; element (p, j) of op(B) is b[p·depthB + j·colB].
    const rowA = p.transA ? 1 : p.lda;
    const depthA = p.transA ? p.lda : 1;
    const depthB = p.transB ? 1 : p.ldb;
    const colB = p.transB ? p.ldb : 1;
    for (let k0 = 0; k0 < p.k; k0 += KC) {
      const kc = Math.min(KC, p.k - k0);
      const beta = k0 === 0 ? p.beta : 1;
      this.packB(f, b + k0 * depthB, depthB, colB, kc, p.n);
      for (let i0 = 0; i0 < p.m; i0 += TILE) {
        const rows = Math.min(TILE, p.m - i0);
        this.packA(f, a + i0 * rowA + k0 * depthA, rowA, depthA, rows, kc);
        for (let j0 = 0; j0 < p.n; j0 += TILE) {
          this.multiplyTile(kc, j0 * kc);
          this.storeTile(f, c + i0 * p.ldc + j0, p.ldc, rows, Math.min(TILE, p.n - j0), p.alpha, beta);
        }
      }
    }
  }

  /** Packs kc × n of op(B) into panels of TILE columns, depth-major, zero-padded to whole panels. */
  private packB(
    f: Float32Array,
    b: Ptr,
    depthStride: number,
    colStride: number,
    kc: number,
    n: number,
  ): void {
    const panels = Math.ceil(n / TILE);
    if (this.packedB.length < panels * TILE * kc) this.packedB = new Float64Array(panels * TILE * kc);
    const packed = this.packedB;
    for (let panel = 0; panel < panels; panel++) {
      const base = panel * TILE * kc;
      for (let col = 0; col < TILE; col++) {
        const j = panel * TILE + col;
        for (let d = 0; d < kc; d++)
          packed[base + d * TILE + col] = j < n ? f[b + d * depthStride + j * colStride] : 0;
      }
    }
  }

  /** Packs rows × kc of op(A) depth-major into one TILE-row panel, zero-padding missing rows. */
  private packA(
    f: Float32Array,
    a: Ptr,
    rowStride: number,
    depthStride: number,
    rows: number,
    kc: number,
  ): void {
    const packed = this.packedA;
    for (let row = 0; row < TILE; row++) {
      for (let d = 0; d < kc; d++)
        packed[d * TILE + row] = row < rows ? f[a + row * rowStride + d * depthStride] : 0;
    }
  }

  /** The 4×4 register tile: sixteen scalar accumulators over one packed A panel and B panel. */
  private multiplyTile(kc: number, bOffset: number): void {
    const pa = this.packedA;
    const pb = this.packedB;
    let c00 = 0,
      c01 = 0,
      c02 = 0,
      c03 = 0,
      c10 = 0,
      c11 = 0,
      c12 = 0,
      c13 = 0;
    let c20 = 0,
      c21 = 0,
      c22 = 0,
      c23 = 0,
      c30 = 0,
      c31 = 0,
      c32 = 0,
      c33 = 0;
    for (let d = 0, ai = 0, bi = bOffset; d < kc; d++, ai += TILE, bi += TILE) {
      const a0 = pa[ai],
        a1 = pa[ai + 1],
        a2 = pa[ai + 2],
        a3 = pa[ai + 3];
      const b0 = pb[bi],
        b1 = pb[bi + 1],
        b2 = pb[bi + 2],
        b3 = pb[bi + 3];
      c00 += a0 * b0;
      c01 += a0 * b1;
      c02 += a0 * b2;
      c03 += a0 * b3;
      c10 += a1 * b0;
      c11 += a1 * b1;
      c12 += a1 * b2;
      c13 += a1 * b3;
      c20 += a2 * b0;
      c21 += a2 * b1;
      c22 += a2 * b2;
      c23 += a2 * b3;
      c30 += a3 * b0;
      c31 += a3 * b1;
      c32 += a3 * b2;
      c33 += a3 * b3;
    }
    const t = this.tile;
    t[0] = c00;
    t[1] = c01;
    t[2] = c02;
    t[3] = c03;
    t[4] = c10;
    t[5] = c11;
    t[6] = c12;
    t[7] = c13;
    t[8] = c20;
    t[9] = c21;
    t[10] = c22;
    t[11] = c23;
    t[12] = c30;
    t[13] = c31;
    t[14] = c32;
    t[15] = c33;
  }

  /** C = alpha · tile + beta · C over the valid part of the tile; beta = 0 never reads C. */
  private storeTile(
    f: Float32Array,
    c: Ptr,
    ldc: number,
    rows: number,
    cols: number,
    alpha: number,
    beta: number,
  ): void {
    const t = this.tile;
    for (let row = 0; row < rows; row++) {
      const base = c + row * ldc;
      for (let col = 0; col < cols; col++) {
        const value = alpha * t[row * TILE + col];
        f[base + col] = beta === 0 ? value : value + beta * f[base + col];
      }
    }
  }

  private scaleMatrix(f: Float32Array, c: Ptr, m: number, n: number, ldc: number, beta: number): void {
    for (let row = 0; row < m; row++) {
      const base = c + row * ldc;
      for (let col = 0; col < n; col++) f[base + col] = beta === 0 ? 0 : beta * f[base + col];
    }
  }

  unary(op: UnaryOp, x: Ptr, y: Ptr, n: number): void {
    const f = this.heap.f32;
    const end = x + n;
    const shift = y - x;
    switch (op) {
      case 'neg':
        for (let i = x; i < end; i++) f[i + shift] = -f[i];
        break;
      case 'exp':
        for (let i = x; i < end; i++) f[i + shift] = Math.exp(f[i]);
        break;
      case 'log':
        for (let i = x; i < end; i++) f[i + shift] = Math.log(f[i]);
        break;
      case 'abs':
        for (let i = x; i < end; i++) f[i + shift] = Math.abs(f[i]);
        break;
      case 'sqrt':
        for (let i = x; i < end; i++) f[i + shift] = Math.sqrt(f[i]);
        break;
      case 'square':
        for (let i = x; i < end; i++) f[i + shift] = f[i] * f[i];
        break;
      case 'relu':
        // Branchless: a data-dependent branch costs ~6× more on random signs.
        for (let i = x; i < end; i++) f[i + shift] = (f[i] + Math.abs(f[i])) * 0.5;
        break;
      case 'sigmoid':
        for (let i = x; i < end; i++) f[i + shift] = 1 / (1 + Math.exp(-f[i]));
        break;
      case 'tanh':
        for (let i = x; i < end; i++) f[i + shift] = Math.tanh(f[i]);
        break;
      default:
        throw new RangeError(`unary: unknown op '${op satisfies never}'`);
    }
  }

  activationBackward(op: ActivationOp, y: Ptr, g: Ptr, dx: Ptr, n: number): void {
    const f = this.heap.f32;
    switch (op) {
      case 'relu':
        for (let i = 0; i < n; i++) f[dx + i] = f[y + i] > 0 ? f[g + i] : 0;
        break;
      case 'sigmoid':
        for (let i = 0; i < n; i++) f[dx + i] = f[g + i] * f[y + i] * (1 - f[y + i]);
        break;
      case 'tanh':
        for (let i = 0; i < n; i++) f[dx + i] = f[g + i] * (1 - f[y + i] * f[y + i]);
        break;
      default:
        throw new RangeError(`activationBackward: unknown op '${op satisfies never}'`);
    }
  }

  affine(x: Ptr, y: Ptr, n: number, alpha: number, beta: number): void {
    const f = this.heap.f32;
    for (let i = 0; i < n; i++) f[y + i] = alpha * f[x + i] + beta;
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
    const rank = layout.shape.length;
    const inner = layout.shape[rank - 1];
    const aInner = layout.aStrides[rank - 1];
    const bInner = layout.bStrides[rank - 1];
    const code = BINARY_CODES[op];
    const f = this.heap.f32;
    const index = new Array<number>(rank).fill(0);
    let aBase = a;
    let bBase = b;
    for (let out = y, end = y + shapeSize(layout.shape); out < end; out += inner) {
      for (let i = 0; i < inner; i++) {
        const u = f[aBase + i * aInner];
        const v = f[bBase + i * bInner];
        f[out + i] = code === 0 ? u + v : code === 1 ? u - v : code === 2 ? u * v : u / v;
      }
      // Odometer over the outer axes.
      for (let axis = rank - 2; axis >= 0; axis--) {
        aBase += layout.aStrides[axis];
        bBase += layout.bStrides[axis];
        if (++index[axis] < layout.shape[axis]) break;
        aBase -= layout.aStrides[axis] * layout.shape[axis];
        bBase -= layout.bStrides[axis] * layout.shape[axis];
        index[axis] = 0;
      }
    }
  }

  select(cond: Ptr, a: Ptr, b: Ptr, y: Ptr, n: number): void {
    const f = this.heap.f32;
    for (let i = 0; i < n; i++) f[y + i] = f[cond + i] !== 0 ? f[a + i] : f[b + i];
  }

  reduce(op: ReduceOp, x: Ptr, y: Ptr, outer: number, r: number, inner: number): void {
    const f = this.heap.f32;
    const isMax = op === 'max';
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = x + o * r * inner + i;
        let acc = isMax ? Number.NEGATIVE_INFINITY : 0;
        for (let j = 0; j < r; j++) {
          const value = f[base + j * inner];
          acc = isMax ? Math.max(acc, value) : acc + value;
        }
        f[y + o * inner + i] = acc;
      }
    }
  }

  softmax(x: Ptr, y: Ptr, rows: number, cols: number, log: boolean): void {
    const f = this.heap.f32;
    for (let row = 0; row < rows; row++) {
      const xr = x + row * cols;
      const yr = y + row * cols;
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < cols; j++) max = Math.max(max, f[xr + j]);
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += Math.exp(f[xr + j] - max);
      if (log) {
        const shift = max + Math.log(sum);
        for (let j = 0; j < cols; j++) f[yr + j] = f[xr + j] - shift;
      } else {
        for (let j = 0; j < cols; j++) f[yr + j] = Math.exp(f[xr + j] - max) / sum;
      }
    }
  }

  softmaxBackward(y: Ptr, g: Ptr, dx: Ptr, rows: number, cols: number, log: boolean): void {
    const f = this.heap.f32;
    for (let row = 0; row < rows; row++) {
      const yr = y + row * cols;
      const gr = g + row * cols;
      const dr = dx + row * cols;
      let dot = 0;
      for (let j = 0; j < cols; j++) dot += log ? f[gr + j] : f[gr + j] * f[yr + j];
      if (log) {
        for (let j = 0; j < cols; j++) f[dr + j] = f[gr + j] - Math.exp(f[yr + j]) * dot;
      } else {
        for (let j = 0; j < cols; j++) f[dr + j] = f[yr + j] * (f[gr + j] - dot);
      }
    }
  }

  layerNorm(x: Ptr, y: Ptr, mean: Ptr, rstd: Ptr, rows: number, cols: number, eps: number): void {
    const f = this.heap.f32;
    for (let row = 0; row < rows; row++) {
      const xr = x + row * cols;
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += f[xr + j];
      const mu = sum / cols;
      let squares = 0;
      for (let j = 0; j < cols; j++) squares += (f[xr + j] - mu) ** 2;
      const scale = 1 / Math.sqrt(squares / cols + eps);
      for (let j = 0; j < cols; j++) f[y + row * cols + j] = (f[xr + j] - mu) * scale;
      f[mean + row] = mu;
      f[rstd + row] = scale;
    }
  }

  layerNormBackward(x: Ptr, mean: Ptr, rstd: Ptr, g: Ptr, dx: Ptr, rows: number, cols: number): void {
    const f = this.heap.f32;
    for (let row = 0; row < rows; row++) {
      const xr = x + row * cols;
      const gr = g + row * cols;
      const mu = f[mean + row];
      const scale = f[rstd + row];
      let gSum = 0;
      let gxSum = 0;
      for (let j = 0; j < cols; j++) {
        gSum += f[gr + j];
        gxSum += f[gr + j] * (f[xr + j] - mu) * scale;
      }
      const gMean = gSum / cols;
      const gxMean = gxSum / cols;
      for (let j = 0; j < cols; j++) {
        const normalized = (f[xr + j] - mu) * scale;
        f[dx + row * cols + j] = scale * (f[gr + j] - gMean - normalized * gxMean);
      }
    }
  }

  permute(x: Ptr, y: Ptr, shape: readonly number[], perm: readonly number[]): void {
    if (isEmptyShape(shape)) return;
    const layout = collapsePermutation(shape, perm);
    const rank = layout.shape.length;
    const inner = layout.shape[rank - 1];
    const innerStride = layout.inStrides[rank - 1];
    const f = this.heap.f32;
    const index = new Array<number>(rank).fill(0);
    let base = x;
    for (let out = y, end = y + shapeSize(layout.shape); out < end; out += inner) {
      for (let i = 0; i < inner; i++) f[out + i] = f[base + i * innerStride];
      for (let axis = rank - 2; axis >= 0; axis--) {
        base += layout.inStrides[axis];
        if (++index[axis] < layout.shape[axis]) break;
        base -= layout.inStrides[axis] * layout.shape[axis];
        index[axis] = 0;
      }
    }
  }

  sumSquares(x: Ptr, n: number): number {
    const f = this.heap.f32;
    let sum = 0;
    for (let i = x, end = x + n; i < end; i++) sum += f[i] * f[i];
    return sum;
  }

  adam(p: Ptr, g: Ptr, m: Ptr, v: Ptr, n: number, params: AdamParams): void {
    const { lr, beta1, beta2, eps, weightDecay, decoupled, step } = params;
    const stepSize = lr / (1 - beta1 ** step);
    const correction2Sqrt = Math.sqrt(1 - beta2 ** step);
    const coupledDecay = decoupled ? 0 : weightDecay;
    const keep = decoupled ? 1 - lr * weightDecay : 1;
    const f = this.heap.f32;
    for (let i = 0; i < n; i++) {
      const param = f[p + i] * keep;
      const grad = f[g + i] + coupledDecay * f[p + i];
      const first = (f[m + i] = beta1 * f[m + i] + (1 - beta1) * grad);
      const second = (f[v + i] = beta2 * f[v + i] + (1 - beta2) * grad * grad);
      f[p + i] = param - (stepSize * first) / (Math.sqrt(second) / correction2Sqrt + eps);
    }
  }

  product(w: HeapMatrix, x: Ptr, ld: number, columns: number, bias: Ptr, relu: boolean, y: Ptr): void {
    const lanes = columns === 1 ? 1 : Math.ceil(columns / 4) * 4;
    const stride = columns === 1 ? 1 : ld;
    const f = this.heap.f32;
    const { i32, u16 } = this.integerViews();
    const indexAt = (t: number) =>
      w.format === 'dense' ? 0 : w.wideIndex ? i32[w.index + t] : u16[w.index * 2 + t];
    if (w.format === 'csr') {
      const acc = this.scratchAccumulators(lanes);
      for (let o = 0; o < w.rows; o++) {
        acc.fill(f[bias + o], 0, lanes);
        for (let t = i32[w.rowPtr + o], end = i32[w.rowPtr + o + 1]; t < end; t++) {
          accumulate(f, acc, 0, f[w.values + t], x + indexAt(t) * stride, lanes);
        }
        storeRow(f, acc, 0, y + o * stride, lanes, relu);
      }
      return;
    }
    // Block formats: block t of a block row has its 4×4 weights at base + row·rowStride + c.
    const dense = w.format === 'dense';
    const rowStride = dense ? 4 * w.blockCols : 4;
    const acc = this.scratchAccumulators(4 * lanes);
    for (let r = 0; r < w.blockRows; r++) {
      for (let row = 0; row < 4; row++) acc.fill(f[bias + 4 * r + row], row * lanes, (row + 1) * lanes);
      const begin = dense ? 0 : i32[w.rowPtr + r];
      const end = dense ? w.blockCols : i32[w.rowPtr + r + 1];
      for (let t = begin; t < end; t++) {
        const col = dense ? t : indexAt(t);
        const base = dense ? w.values + 16 * r * w.blockCols + 4 * t : w.values + 16 * t;
        for (let row = 0; row < 4; row++) {
          for (let c = 0; c < 4; c++) {
            const input = x + (4 * col + c) * stride;
            accumulate(f, acc, row * lanes, f[base + row * rowStride + c], input, lanes);
          }
        }
      }
      for (let row = 0; row < 4; row++)
        storeRow(f, acc, row * lanes, y + (4 * r + row) * stride, lanes, relu);
    }
  }

  attentionMix(p: AttentionParams): void {
    const { nodes, paddedNodes: width, ld } = p;
    const f = this.heap.f32;
    const { i32 } = this.integerViews();
    if (this.adjacency.length < nodes * width) this.adjacency = new Float64Array(nodes * width);
    const a = this.adjacency;
    for (let b = 0; b < p.batch; b++) {
      const sample = b * width;
      for (let h = 0; h < p.heads; h++) {
        const entry = p.table + h * ATTENTION_HEAD_FIELDS;
        const [firstDim, dimCount, channels, channelCount, matrix, outRow, mode] = i32.subarray(
          entry,
          entry + ATTENTION_HEAD_FIELDS,
        );
        if (dimCount > 0) {
          this.dynamicAdjacency(p, firstDim, dimCount, matrix, sample);
        } else {
          for (let e = 0; e < nodes * width; e++) a[e] = f[matrix + e];
        }
        for (let r = 0; r < channelCount; r++) {
          const u = p.u + i32[p.indices + channels + r] * ld + sample;
          const out = p.out + (outRow + r) * ld + sample;
          const bias = mode & ATTENTION_FINISH ? f[p.bias + outRow + r] : 0;
          for (let i = 0; i < width; i++) {
            let sum = mode & ATTENTION_ADD ? f[out + i] : 0;
            for (let j = 0; j < nodes; j++) sum += f[u + j] * a[j * width + i];
            f[out + i] = mode & ATTENTION_FINISH ? Math.max(0, Math.fround(sum) + bias) : sum;
          }
        }
      }
    }
  }

  /** Aᵀ of a dynamic head into this.adjacency: column softmax of Bᵀ + scale · KᵀQ over its dims. */
  private dynamicAdjacency(p: AttentionParams, firstDim: number, dims: number, biasT: Ptr, sample: number) {
    const { nodes, paddedNodes: width, ld } = p;
    const f = this.heap.f32;
    const a = this.adjacency;
    for (let j = 0; j < nodes; j++) {
      for (let i = 0; i < width; i++) {
        let dot = 0;
        for (let d = firstDim; d < firstDim + dims; d++) {
          dot += f[p.k + d * ld + sample + j] * f[p.q + d * ld + sample + i];
        }
        a[j * width + i] = f[biasT + j * width + i] + p.scale * dot;
      }
    }
    for (let i = 0; i < width; i++) {
      let top = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < nodes; j++) top = Math.max(top, a[j * width + i]);
      let total = 0;
      for (let j = 0; j < nodes; j++) total += a[j * width + i] = Math.exp(a[j * width + i] - top);
      for (let j = 0; j < nodes; j++) a[j * width + i] /= total;
    }
  }

  gatherRows(p: GatherParams): void {
    const { src, srcOffsets, dst, dstOffsets, count, outer, srcOuter, dstOuter, inner, srcInner } = p;
    const f = this.heap.f32;
    const { i32 } = this.integerViews();
    for (let r = 0; r < count; r++) {
      const from = src + i32[srcOffsets + r];
      const to = dst + i32[dstOffsets + r];
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) f[to + o * dstOuter + i] = f[from + o * srcOuter + i * srcInner];
      }
    }
  }

  private scratchAccumulators(n: number): Float64Array {
    if (this.accumulators.length < n) this.accumulators = new Float64Array(n);
    return this.accumulators;
  }

  /** Int32 and Uint16 views of the heap (re-created when growth replaces the buffer). */
  private integerViews(): { i32: Int32Array; u16: Uint16Array } {
    const buffer = this.heap.memory.buffer;
    if (this.intViews?.buffer !== buffer) {
      this.intViews = { buffer, i32: new Int32Array(buffer), u16: new Uint16Array(buffer) };
    }
    return this.intViews;
  }

  sgd(p: Ptr, g: Ptr, buf: Ptr, n: number, params: SgdParams): void {
    const { lr, momentum, dampening, weightDecay, nesterov, firstStep } = params;
    const f = this.heap.f32;
    for (let i = 0; i < n; i++) {
      let grad = f[g + i] + weightDecay * f[p + i];
      if (momentum !== 0) {
        const velocity = (f[buf + i] = firstStep ? grad : momentum * f[buf + i] + (1 - dampening) * grad);
        grad = nesterov ? grad + momentum * velocity : velocity;
      }
      f[p + i] -= lr * grad;
    }
  }

  ctfMaskStats(layout: CtfMaskLayout, w: Ptr, factors: CtfMaskVectors, _scratch: Ptr): void {
    const { blockRows, rowsPerBlock, blockCols, colsPerBlock, gain, variant } = layout;
    if (variant === 'fine') return;
    const rows = blockRows * rowsPerBlock;
    const cols = blockCols * colsPerBlock;
    const f = this.heap.f32;
    // Column sums, then the current block row's per-column sums.
    const acc = this.scratchAccumulators(2 * cols);
    acc.fill(0, 0, cols);
    for (let bi = 0; bi < blockRows; bi++) {
      acc.fill(0, cols, 2 * cols);
      for (let i = bi * rowsPerBlock; i < (bi + 1) * rowsPerBlock; i++) {
        let rowSum = 0;
        for (let j = 0; j < cols; j++) {
          const v = f[w + i * cols + j];
          const x = v * v;
          rowSum += x;
          acc[j] += x;
          acc[cols + j] += x;
        }
        f[factors.rows + i] = Math.tanh(gain * (rowSum / cols));
      }
      for (let bj = 0; bj < blockCols; bj++) {
        let blockSum = 0;
        for (let j = bj * colsPerBlock; j < (bj + 1) * colsPerBlock; j++) blockSum += acc[cols + j];
        f[factors.blocks + bi * blockCols + bj] = Math.tanh(
          gain * (blockSum / (rowsPerBlock * colsPerBlock)),
        );
      }
    }
    for (let j = 0; j < cols; j++) f[factors.cols + j] = Math.tanh(gain * (acc[j] / rows));
  }

  ctfMask(
    layout: CtfMaskLayout,
    w: Ptr,
    factors: CtfMaskVectors,
    _scratch: Ptr,
    psi: Ptr,
    entry: Ptr | null,
    rowStart: number,
    rowEnd: number,
  ): void {
    const stored = layout.variant === 'full' ? entry : null;
    this.maskRows(layout, w, factors, stored, rowStart, rowEnd, { psi });
  }

  /**
   * ψ of rows [rowStart, rowEnd), written as asked: ψ itself, w·ψ (the product of the two float32
   * values), each row's Σψ; `entry` (when not null) receives φ(x) where the variant has it.
   */
  private maskRows(
    layout: CtfMaskLayout,
    w: Ptr,
    factors: CtfMaskVectors,
    entry: Ptr | null,
    rowStart: number,
    rowEnd: number,
    out: { psi?: Ptr; weighted?: Ptr; rowSums?: Ptr },
  ): void {
    const { rowsPerBlock, blockCols, colsPerBlock, gain, variant } = layout;
    const cols = blockCols * colsPerBlock;
    const f = this.heap.f32;
    for (let i = rowStart; i < rowEnd; i++) {
      const row = variant === 'fine' ? 1 : f[factors.rows + i];
      const blocks = factors.blocks + Math.floor(i / rowsPerBlock) * blockCols;
      let rowSum = 0;
      for (let bj = 0; bj < blockCols; bj++) {
        const block = variant === 'fine' ? 1 : f[blocks + bj];
        for (let j = bj * colsPerBlock; j < (bj + 1) * colsPerBlock; j++) {
          const at = i * cols + j;
          const v = f[w + at];
          let value = 1;
          if (variant !== 'coarse') {
            value = Math.tanh(gain * (v * v));
            if (entry !== null) f[entry + at] = value;
          }
          if (variant !== 'fine') value *= block * row * f[factors.cols + j];
          const psi = Math.fround(value);
          rowSum += psi;
          if (out.psi !== undefined) f[out.psi + at] = psi;
          if (out.weighted !== undefined) f[out.weighted + at] = v * psi;
        }
      }
      if (out.rowSums !== undefined) f[out.rowSums + i] = rowSum;
    }
  }

  ctfMaskBackwardStats(
    layout: CtfMaskLayout,
    g: Ptr,
    entry: Ptr,
    factors: CtfMaskVectors,
    coefficients: CtfMaskVectors,
    _scratch: Ptr,
  ): void {
    const f = this.heap.f32;
    this.backwardStats(layout, (at) => f[g + at], entry, factors, coefficients);
  }

  /** ctfMaskBackwardStats from the gradient of ψ at each flat index, `psiGrad(at)`. */
  private backwardStats(
    layout: CtfMaskLayout,
    psiGrad: (at: number) => number,
    entry: Ptr,
    factors: CtfMaskVectors,
    coefficients: CtfMaskVectors,
  ): void {
    const { blockRows, rowsPerBlock, blockCols, colsPerBlock, gain, variant } = layout;
    if (variant === 'fine') return;
    const rows = blockRows * rowsPerBlock;
    const cols = blockCols * colsPerBlock;
    const f = this.heap.f32;
    // Σ dψ·∂ψ/∂C per column, then the current block row's per-column parts of Σ dψ·∂ψ/∂B.
    const acc = this.scratchAccumulators(2 * cols);
    acc.fill(0, 0, cols);
    const slope = (factor: number) => gain * (1 - factor * factor);
    for (let bi = 0; bi < blockRows; bi++) {
      acc.fill(0, cols, 2 * cols);
      for (let i = bi * rowsPerBlock; i < (bi + 1) * rowsPerBlock; i++) {
        const row = f[factors.rows + i];
        let rowSum = 0;
        for (let bj = 0; bj < blockCols; bj++) {
          const block = f[factors.blocks + bi * blockCols + bj];
          for (let j = bj * colsPerBlock; j < (bj + 1) * colsPerBlock; j++) {
            const at = i * cols + j;
            const q = variant === 'full' ? psiGrad(at) * f[entry + at] : psiGrad(at);
            const a = q * f[factors.cols + j];
            rowSum += a * block;
            acc[cols + j] += a * row;
            acc[j] += q * block * row;
          }
        }
        f[coefficients.rows + i] = (slope(row) * rowSum) / cols;
      }
      for (let bj = 0; bj < blockCols; bj++) {
        let blockSum = 0;
        for (let j = bj * colsPerBlock; j < (bj + 1) * colsPerBlock; j++) blockSum += acc[cols + j];
        const b = bi * blockCols + bj;
        f[coefficients.blocks + b] =
          (slope(f[factors.blocks + b]) * blockSum) / (rowsPerBlock * colsPerBlock);
      }
    }
    for (let j = 0; j < cols; j++) f[coefficients.cols + j] = (slope(f[factors.cols + j]) * acc[j]) / rows;
  }

  ctfMaskBackward(
    layout: CtfMaskLayout,
    g: Ptr,
    entry: Ptr,
    w: Ptr,
    factors: CtfMaskVectors,
    coefficients: CtfMaskVectors,
    _scratch: Ptr,
    dw: Ptr,
    rowStart: number,
    rowEnd: number,
  ): void {
    const f = this.heap.f32;
    const psiGrad = (at: number) => f[g + at];
    this.backwardRows(layout, psiGrad, null, w, entry, factors, coefficients, dw, rowStart, rowEnd);
  }

  /**
   * dw of rows [rowStart, rowEnd): 2w · (dψ · ∂ψ/∂x + the row, column and block terms of the
   * coefficients), dψ = `psiGrad(at)`, plus g·ψ where `g` is the gradient of an effective weight w·ψ.
   */
  private backwardRows(
    layout: CtfMaskLayout,
    psiGrad: (at: number) => number,
    g: Ptr | null,
    w: Ptr,
    entry: Ptr,
    factors: CtfMaskVectors,
    coefficients: CtfMaskVectors,
    dw: Ptr,
    rowStart: number,
    rowEnd: number,
  ): void {
    const { rowsPerBlock, blockCols, colsPerBlock, gain, variant } = layout;
    const cols = blockCols * colsPerBlock;
    const f = this.heap.f32;
    const hasFactors = variant !== 'fine';
    for (let i = rowStart; i < rowEnd; i++) {
      const row = hasFactors ? f[factors.rows + i] : 1;
      const rowTerm = hasFactors ? f[coefficients.rows + i] : 0;
      const blocks = Math.floor(i / rowsPerBlock) * blockCols;
      for (let bj = 0; bj < blockCols; bj++) {
        const block = hasFactors ? f[factors.blocks + blocks + bj] : 1;
        const blockTerm = hasFactors ? f[coefficients.blocks + blocks + bj] : 0;
        for (let j = bj * colsPerBlock; j < (bj + 1) * colsPerBlock; j++) {
          const at = i * cols + j;
          const v = f[w + at];
          let psi = 1;
          let d = 0;
          if (variant !== 'coarse') {
            const e = f[entry + at];
            psi = e;
            d = psiGrad(at) * gain * (1 - e * e);
          }
          if (hasFactors) {
            const factor = block * row * f[factors.cols + j];
            psi *= factor;
            d = d * factor + blockTerm + rowTerm + f[coefficients.cols + j];
          }
          f[dw + at] = g === null ? 2 * v * d : f[g + at] * psi + 2 * v * d;
        }
      }
    }
  }

  ctfMaskedWeight(
    layout: CtfMaskLayout,
    w: Ptr,
    factors: CtfMaskVectors,
    _scratch: Ptr,
    out: Ptr,
    entry: Ptr | null,
    rowSums: Ptr,
    rowStart: number,
    rowEnd: number,
  ): void {
    this.maskRows(layout, w, factors, entry, rowStart, rowEnd, { weighted: out, rowSums });
  }

  ctfMaskedWeightBackwardStats(
    layout: CtfMaskLayout,
    g: Ptr | null,
    massGrad: number,
    w: Ptr,
    entry: Ptr,
    factors: CtfMaskVectors,
    coefficients: CtfMaskVectors,
    _scratch: Ptr,
  ): void {
    this.backwardStats(layout, this.maskedPsiGrad(g, massGrad, w), entry, factors, coefficients);
  }

  ctfMaskedWeightBackward(
    layout: CtfMaskLayout,
    g: Ptr | null,
    massGrad: number,
    w: Ptr,
    entry: Ptr,
    factors: CtfMaskVectors,
    coefficients: CtfMaskVectors,
    _scratch: Ptr,
    dw: Ptr,
    rowStart: number,
    rowEnd: number,
  ): void {
    const psiGrad = this.maskedPsiGrad(g, massGrad, w);
    this.backwardRows(layout, psiGrad, g, w, entry, factors, coefficients, dw, rowStart, rowEnd);
  }

  /** The gradient of ψ behind an effective weight w·ψ and a mass Σψ: g·w + dΣψ. */
  private maskedPsiGrad(g: Ptr | null, massGrad: number, w: Ptr): (at: number) => number {
    const f = this.heap.f32;
    return g === null ? () => massGrad : (at) => f[g + at] * f[w + at] + massGrad;
  }
}

/** acc[at + c] += weight · f[input + c] for c < lanes. */
function accumulate(
  f: Float32Array,
  acc: Float64Array,
  at: number,
  weight: number,
  input: Ptr,
  lanes: number,
) {
  for (let c = 0; c < lanes; c++) acc[at + c] += weight * f[input + c];
}

/** f[out + c] = acc[at + c], through a branchless ReLU when `relu`. */
function storeRow(f: Float32Array, acc: Float64Array, at: number, out: Ptr, lanes: number, relu: boolean) {
  for (let c = 0; c < lanes; c++) {
    const v = acc[at + c];
    f[out + c] = relu ? (v + Math.abs(v)) * 0.5 : v;
  }
}

function shapeSize(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1);
}
