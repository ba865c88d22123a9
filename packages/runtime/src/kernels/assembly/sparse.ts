// Inference kernels over channels-major activations: x[i·ld + c] holds input channel i at column c
// (a node of a sample, or a sample). Products y = act(bias + W·x) with W stored dense, CSR or as 4×4
// blocks, where every stored weight drives a contiguous f32x4 axpy along a row of x; the attention of
// a graph layer (scores, softmax, mixing) for all heads and samples in one call; and the strided
// gathers that bring inputs into that layout.
//
// A product with more than one column writes whole vectors: ⌈columns/4⌉·4 lanes of every output row
// (the caller's rows are that long). With exactly one column x and y are plain vectors and the kernels
// vectorise along the reduction instead. Pointers are byte addresses, strides and offsets elements.
import { expNonPositiveV, horizontalSum, madd, transpose4x4To } from './math';

// Compile-time parameters are types: AssemblyScript instantiates a generic once per type argument and
// folds conditions on offsetof/sizeof/isVoid, so every combination is its own tight loop. (Constant
// arguments of @inline functions are not enough: Binaryen folds the identical call sites into one
// loop that tests the constants at run time, on every term.)
//
// Vector counts: offsetof<VectorsN>() / 16 = N vectors of 4 columns, kept in registers per output row.
@final @unmanaged class Vectors0 {}
@final @unmanaged class Vectors1 { v0: v128 }
@final @unmanaged class Vectors2 { v0: v128; v1: v128 }
@final @unmanaged class Vectors3 { v0: v128; v1: v128; v2: v128 }
@final @unmanaged class Vectors4 { v0: v128; v1: v128; v2: v128; v3: v128 }
@final @unmanaged class Vectors5 { v0: v128; v1: v128; v2: v128; v3: v128; v4: v128 }
@final @unmanaged class Vectors6 { v0: v128; v1: v128; v2: v128; v3: v128; v4: v128; v5: v128 }
@final @unmanaged class Vectors7 { v0: v128; v1: v128; v2: v128; v3: v128; v4: v128; v5: v128; v6: v128 }
@final @unmanaged class Vectors8 { v0: v128; v1: v128; v2: v128; v3: v128; v4: v128; v5: v128; v6: v128; v7: v128 }

@inline
function countOf<V>(): i32 {
  return <i32>offsetof<V>() / 16;
}

/**
 * Most vectors per output row of rowChunk: V8 loads a term's vectors before its multiply-adds, so
 * the accumulators, those vectors and the splatted value (2·7 + 1) fill the 15 SIMD registers it
 * allocates; 8 spilled.
 */
const MAX_VECTORS = 7;

@inline
function relu4(v: v128): v128 {
  // pmax is one instruction; max would add NaN and signed-zero fix-ups.
  return f32x4.pmax(v, f32x4.splat(0));
}

/**
 * out[0..4·V) = act(init + Σ over terms t in [begin, end) of value(t) · row(t)[0..4·V)). I is the
 * index type: u16 or i32 for CSR (value t, row rows + index[t]·rowStride), void for strided terms
 * (value at values + t·valueStride, row rows + t·rowStride).
 */
@inline
function rowChunk<V, I>(
  begin: i32,
  end: i32,
  index: usize,
  values: usize,
  valueStride: usize,
  rows: usize,
  rowStride: usize,
  init: v128,
  relu: bool,
  out: usize,
): void {
  const vectors = countOf<V>();
  let a0 = init;
  let a1 = init;
  let a2 = init;
  let a3 = init;
  let a4 = init;
  let a5 = init;
  let a6 = init;
  let a7 = init;
  // Pointers advance by one term per iteration rather than being recomputed from t.
  const strided = isVoid<I>();
  const valueStep: usize = strided ? valueStride : 4;
  let valueAt = values + <usize>begin * valueStep;
  let indexAt = strided ? 0 : index + <usize>begin * sizeof<I>();
  let rowAt = rows + <usize>begin * rowStride;
  for (let t = begin; t < end; t++) {
    const value = v128.load32_splat(valueAt);
    const row = strided ? rowAt : rows + <usize>load<I>(indexAt) * rowStride;
    valueAt += valueStep;
    if (strided) rowAt += rowStride;
    else indexAt += sizeof<I>();
    if (vectors > 0) a0 = madd(value, v128.load(row), a0);
    if (vectors > 1) a1 = madd(value, v128.load(row, 16), a1);
    if (vectors > 2) a2 = madd(value, v128.load(row, 32), a2);
    if (vectors > 3) a3 = madd(value, v128.load(row, 48), a3);
    if (vectors > 4) a4 = madd(value, v128.load(row, 64), a4);
    if (vectors > 5) a5 = madd(value, v128.load(row, 80), a5);
    if (vectors > 6) a6 = madd(value, v128.load(row, 96), a6);
    if (vectors > 7) a7 = madd(value, v128.load(row, 112), a7);
  }
  if (relu) {
    a0 = relu4(a0);
    a1 = relu4(a1);
    a2 = relu4(a2);
    a3 = relu4(a3);
    a4 = relu4(a4);
    a5 = relu4(a5);
    a6 = relu4(a6);
    a7 = relu4(a7);
  }
  if (vectors > 0) v128.store(out, a0);
  if (vectors > 1) v128.store(out, a1, 16);
  if (vectors > 2) v128.store(out, a2, 32);
  if (vectors > 3) v128.store(out, a3, 48);
  if (vectors > 4) v128.store(out, a4, 64);
  if (vectors > 5) v128.store(out, a5, 80);
  if (vectors > 6) v128.store(out, a6, 96);
  if (vectors > 7) v128.store(out, a7, 112);
}

/**
 * y[o] = act(bias[o] + Σ_t values[t] · x[index[t]]) over the CSR rows o < rows (rowPtr: rows + 1
 * i32 offsets; index: u16, or i32 when `wide`). act is ReLU when `relu`, else the identity.
 */
export function csrProduct(
  rows: i32,
  rowPtr: usize,
  index: usize,
  wide: bool,
  values: usize,
  x: usize,
  ld: i32,
  columns: i32,
  bias: usize,
  relu: bool,
  y: usize,
): void {
  if (wide) csrProductOf<i32>(rows, rowPtr, index, values, x, ld, columns, bias, relu, y);
  else csrProductOf<u16>(rows, rowPtr, index, values, x, ld, columns, bias, relu, y);
}

function csrProductOf<I>(
  rows: i32,
  rowPtr: usize,
  index: usize,
  values: usize,
  x: usize,
  ld: i32,
  columns: i32,
  bias: usize,
  relu: bool,
  y: usize,
): void {
  if (columns == 1) {
    csrVector<I>(rows, rowPtr, index, values, x, bias, relu, y);
    return;
  }
  const vectors = (columns + 3) >> 2;
  const ldBytes = <usize>ld * 4;
  // Column chunks outermost: the chunk of x every row reads stays in cache across the rows. Chunks of
  // near-equal widths, at most MAX_VECTORS.
  let v = 0;
  for (let chunks = (vectors + MAX_VECTORS - 1) / MAX_VECTORS; chunks > 0; chunks--) {
    const n = (vectors - v + chunks - 1) / chunks;
    const xv = x + <usize>v * 16;
    const yv = y + <usize>v * 16;
    switch (n) {
      case 1:
        csrRows<Vectors1, I>(rows, rowPtr, index, values, xv, ldBytes, bias, relu, yv);
        break;
      case 2:
        csrRows<Vectors2, I>(rows, rowPtr, index, values, xv, ldBytes, bias, relu, yv);
        break;
      case 3:
        csrRows<Vectors3, I>(rows, rowPtr, index, values, xv, ldBytes, bias, relu, yv);
        break;
      case 4:
        csrRows<Vectors4, I>(rows, rowPtr, index, values, xv, ldBytes, bias, relu, yv);
        break;
      case 5:
        csrRows<Vectors5, I>(rows, rowPtr, index, values, xv, ldBytes, bias, relu, yv);
        break;
      case 6:
        csrRows<Vectors6, I>(rows, rowPtr, index, values, xv, ldBytes, bias, relu, yv);
        break;
      default:
        csrRows<Vectors7, I>(rows, rowPtr, index, values, xv, ldBytes, bias, relu, yv);
    }
    v += n;
  }
}

function csrRows<V, I>(
  rows: i32,
  rowPtr: usize,
  index: usize,
  values: usize,
  x: usize,
  ldBytes: usize,
  bias: usize,
  relu: bool,
  y: usize,
): void {
  let begin = load<i32>(rowPtr);
  for (let o = 0; o < rows; o++) {
    const end = load<i32>(rowPtr + <usize>(o + 1) * 4);
    const init = v128.load32_splat(bias + <usize>o * 4);
    rowChunk<V, I>(begin, end, index, values, 0, x, ldBytes, init, relu, y + <usize>o * ldBytes);
    begin = end;
  }
}

/** Four gathered floats x[index[t..t+3]]. */
@inline
function gather4<I>(x: usize, at: usize): v128 {
  const width = sizeof<I>();
  let v = v128.load32_zero(x + <usize>load<I>(at) * 4);
  v = v128.load32_lane(x + <usize>load<I>(at + width) * 4, v, 1);
  v = v128.load32_lane(x + <usize>load<I>(at + 2 * width) * 4, v, 2);
  return v128.load32_lane(x + <usize>load<I>(at + 3 * width) * 4, v, 3);
}

/** The single-column CSR product: four stored weights at a time against four gathered inputs. */
@inline
function csrVector<I>(
  rows: i32,
  rowPtr: usize,
  index: usize,
  values: usize,
  x: usize,
  bias: usize,
  relu: bool,
  y: usize,
): void {
  const width = sizeof<I>();
  let begin = load<i32>(rowPtr);
  for (let o = 0; o < rows; o++) {
    const end = load<i32>(rowPtr + <usize>(o + 1) * 4);
    let acc0 = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    let t = begin;
    for (; t + 8 <= end; t += 8) {
      const at = index + <usize>t * width;
      acc0 = madd(v128.load(values + <usize>t * 4), gather4<I>(x, at), acc0);
      acc1 = madd(v128.load(values + <usize>t * 4, 16), gather4<I>(x, at + 4 * width), acc1);
    }
    if (t + 4 <= end) {
      acc0 = madd(v128.load(values + <usize>t * 4), gather4<I>(x, index + <usize>t * width), acc0);
      t += 4;
    }
    let sum = load<f32>(bias + <usize>o * 4) + horizontalSum(f32x4.add(acc0, acc1));
    for (; t < end; t++) sum += load<f32>(values + <usize>t * 4) * load<f32>(x + <usize>load<I>(index + <usize>t * width) * 4);
    store<f32>(y + <usize>o * 4, relu ? max(sum, 0) : sum);
    begin = end;
  }
}

/**
 * y = act(bias + W·x) for a matrix of 4×4 blocks, 4 output rows per block row (blockRows of them).
 * Block-sparse (denseBlockCols = 0): block t of block row r, t in rowPtr[r]..rowPtr[r+1], covers
 * input rows 4·index[t].. and is stored as 16 floats, row-major, at values + 64·t. Dense
 * (denseBlockCols > 0): values is the row-major [4·blockRows, 4·denseBlockCols] matrix and every block
 * is present. Rows and columns beyond the matrix are zero padding, so x needs 4·(block columns) rows
 * and y, bias 4·blockRows.
 */
export function blockProduct(
  blockRows: i32,
  rowPtr: usize,
  index: usize,
  wide: bool,
  values: usize,
  denseBlockCols: i32,
  x: usize,
  ld: i32,
  columns: i32,
  bias: usize,
  relu: bool,
  y: usize,
): void {
  if (denseBlockCols > 0) blockProductOf<void>(blockRows, 0, 0, values, denseBlockCols, x, ld, columns, bias, relu, y);
  else if (wide) blockProductOf<i32>(blockRows, rowPtr, index, values, 0, x, ld, columns, bias, relu, y);
  else blockProductOf<u16>(blockRows, rowPtr, index, values, 0, x, ld, columns, bias, relu, y);
}

/** I: the block-column index type, or void for the dense layout. Two vectors per pass, then one. */
function blockProductOf<I>(
  blockRows: i32,
  rowPtr: usize,
  index: usize,
  values: usize,
  denseBlockCols: i32,
  x: usize,
  ld: i32,
  columns: i32,
  bias: usize,
  relu: bool,
  y: usize,
): void {
  if (columns == 1) {
    blockRowsOf<Vectors0, I>(blockRows, rowPtr, index, values, denseBlockCols, x, 4, bias, relu, y);
    return;
  }
  const vectors = (columns + 3) >> 2;
  const ldBytes = <usize>ld * 4;
  let v = 0;
  for (; v + 2 <= vectors; v += 2) {
    const offset = <usize>v * 16;
    blockRowsOf<Vectors2, I>(blockRows, rowPtr, index, values, denseBlockCols, x + offset, ldBytes, bias, relu, y + offset);
  }
  if (v < vectors) {
    const offset = <usize>v * 16;
    blockRowsOf<Vectors1, I>(blockRows, rowPtr, index, values, denseBlockCols, x + offset, ldBytes, bias, relu, y + offset);
  }
}

/**
 * Every block row over V (1 or 2) vectors of columns, or, with V = Vectors0, the single-column
 * product: each block's four rows multiply the four inputs it covers as one vector, and the four row
 * sums are reduced together at the end of the block row.
 */
function blockRowsOf<V, I>(
  blockRows: i32,
  rowPtr: usize,
  index: usize,
  values: usize,
  denseBlockCols: i32,
  x: usize,
  ldBytes: usize,
  bias: usize,
  relu: bool,
  y: usize,
): void {
  const vectors = countOf<V>();
  const single = vectors == 0;
  const dense = isVoid<I>();
  // Bytes between the rows of one block, and from one block to the next along a block row.
  const rowBytes: usize = dense ? <usize>denseBlockCols * 16 : 16;
  const blockBytes: usize = dense ? 16 : 64;
  const zero = f32x4.splat(0);
  for (let r = 0; r < blockRows; r++) {
    const begin = dense ? r * denseBlockCols : load<i32>(rowPtr + <usize>r * 4);
    const end = dense ? begin + denseBlockCols : load<i32>(rowPtr + <usize>(r + 1) * 4);
    let w = dense ? values + <usize>r * 4 * rowBytes : values + <usize>begin * 64;
    const b = bias + <usize>r * 16;
    let a00 = single ? zero : v128.load32_splat(b);
    let a10 = single ? zero : v128.load32_splat(b, 4);
    let a20 = single ? zero : v128.load32_splat(b, 8);
    let a30 = single ? zero : v128.load32_splat(b, 12);
    let a01 = a00;
    let a11 = a10;
    let a21 = a20;
    let a31 = a30;
    for (let t = begin; t < end; t++) {
      const col = dense ? t - begin : <i32>load<I>(index + <usize>t * sizeof<I>());
      const xb = x + <usize>col * 4 * ldBytes;
      if (single) {
        const input = v128.load(xb);
        a00 = madd(v128.load(w), input, a00);
        a10 = madd(v128.load(w + rowBytes), input, a10);
        a20 = madd(v128.load(w + 2 * rowBytes), input, a20);
        a30 = madd(v128.load(w + 3 * rowBytes), input, a30);
      } else {
        for (let c: usize = 0; c < 4; c++) {
          const xr = xb + c * ldBytes;
          const x0 = v128.load(xr);
          const x1 = vectors > 1 ? v128.load(xr, 16) : zero;
          const wc = w + c * 4;
          let s = v128.load32_splat(wc);
          a00 = madd(s, x0, a00);
          if (vectors > 1) a01 = madd(s, x1, a01);
          s = v128.load32_splat(wc + rowBytes);
          a10 = madd(s, x0, a10);
          if (vectors > 1) a11 = madd(s, x1, a11);
          s = v128.load32_splat(wc + 2 * rowBytes);
          a20 = madd(s, x0, a20);
          if (vectors > 1) a21 = madd(s, x1, a21);
          s = v128.load32_splat(wc + 3 * rowBytes);
          a30 = madd(s, x0, a30);
          if (vectors > 1) a31 = madd(s, x1, a31);
        }
      }
      w += blockBytes;
    }
    if (single) {
      // Row sums of a00..a30 as one vector: pairwise across lanes, then across pairs.
      const s01 = f32x4.add(v128.shuffle<f32>(a00, a10, 0, 1, 4, 5), v128.shuffle<f32>(a00, a10, 2, 3, 6, 7));
      const s23 = f32x4.add(v128.shuffle<f32>(a20, a30, 0, 1, 4, 5), v128.shuffle<f32>(a20, a30, 2, 3, 6, 7));
      let sums = f32x4.add(v128.shuffle<f32>(s01, s23, 0, 2, 4, 6), v128.shuffle<f32>(s01, s23, 1, 3, 5, 7));
      sums = f32x4.add(sums, v128.load(b));
      v128.store(y + <usize>r * 16, relu ? relu4(sums) : sums);
    } else {
      const out = y + <usize>r * 4 * ldBytes;
      storeRow(out, a00, a01, vectors, relu);
      storeRow(out + ldBytes, a10, a11, vectors, relu);
      storeRow(out + 2 * ldBytes, a20, a21, vectors, relu);
      storeRow(out + 3 * ldBytes, a30, a31, vectors, relu);
    }
  }
}

@inline
function storeRow(out: usize, lo: v128, hi: v128, vectors: i32, relu: bool): void {
  v128.store(out, relu ? relu4(lo) : lo);
  if (vectors > 1) v128.store(out, relu ? relu4(hi) : hi, 16);
}

/** y[o, c] = act(y[o, c] + bias[o]) for o < rows over ⌈columns/4⌉·4 lanes: the epilogue of a gemm. */
export function biasActivation(rows: i32, bias: usize, relu: bool, y: usize, ld: i32, columns: i32): void {
  const lanes = <usize>((columns + 3) >> 2) * 16;
  const ldBytes = <usize>ld * 4;
  for (let o = 0; o < rows; o++) {
    const b = v128.load32_splat(bias + <usize>o * 4);
    const row = y + <usize>o * ldBytes;
    for (let c: usize = 0; c < lanes; c += 16) {
      const v = f32x4.add(v128.load(row + c), b);
      v128.store(row + c, relu ? relu4(v) : v);
    }
  }
}

// Head table of attentionMix: HEAD_FIELDS i32 per alive head.
/** The head's first dim (its dims are consecutive rows of q and k), and their count (0: a static head). */
const HEAD_FIRST_DIM = 0;
const HEAD_DIM_COUNT = 1;
/** Offset of the head's channels (rows of u) in `indices`, and their count. */
const HEAD_CHANNELS = 2;
const HEAD_CHANNEL_COUNT = 3;
/** Float index of the head's [nodes, paddedNodes] matrix: static adjacency Aᵀ, or attention bias Bᵀ. */
const HEAD_MATRIX = 4;
/** First output row of the head's mixed channels. */
const HEAD_OUT_ROW = 5;
/** How the head's rows reach out: MIX_ADD and MIX_FINISH flags (0: stored). */
const HEAD_MODE = 6;
const HEAD_FIELDS = 7;
/** Mode flags: add to what out holds (a sum over heads); then add bias[row] and apply relu. */
const MIX_ADD = 1;
const MIX_FINISH = 2;

/**
 * The attention of a graph layer for every sample and alive head. Samples occupy `paddedNodes`
 * columns each (nodes of them used) in q, k, u and out, all with leading dimension ld. A dynamic head
 * computes Aᵀ[j, i] = softmax over j of (Bᵀ[j, i] + scale · Σ_d k[d, j]·q[d, i]) into `scratch`
 * ([nodes, paddedNodes]); a static head's Aᵀ is given. Then out[outRow + r, i] = Σ_j u[channel_r, j] · Aᵀ[j, i],
 * or, by the head's mode, that plus out's value (MIX_ADD), then relu of it plus bias[outRow + r] (MIX_FINISH):
 * heads writing the same rows sum into them, the last one finishing the convolution.
 *
 * Heads outermost, samples inside: a head's rows of u and out are read and written in consecutive
 * pieces of 4·paddedNodes bytes, so the cache lines two neighbouring samples share are still cached
 * for the second. (With samples outermost every head came in between, and such lines were fetched
 * again: the rows, ld·4 bytes apart (3072 at batch 32), fall into few cache sets.) Mixing and scores
 * compute three rows at once (tripleLoop).
 */
export function attentionMix(
  heads: i32,
  table: usize,
  indices: usize,
  q: usize,
  k: usize,
  u: usize,
  ld: i32,
  batch: i32,
  nodes: i32,
  paddedNodes: i32,
  scale: f32,
  scratch: usize,
  out: usize,
  bias: usize,
): void {
  const ldBytes = <usize>ld * 4;
  const nodeBytes = <usize>paddedNodes * 4;
  const vectors = paddedNodes >> 2;
  for (let h = 0; h < heads; h++) {
    const entry = table + <usize>(h * HEAD_FIELDS) * 4;
    const dimCount = load<i32>(entry, HEAD_DIM_COUNT * 4);
    const dims = <usize>load<i32>(entry, HEAD_FIRST_DIM * 4) * ldBytes;
    const matrix = <usize>load<i32>(entry, HEAD_MATRIX * 4) * 4;
    const channels = indices + <usize>load<i32>(entry, HEAD_CHANNELS * 4) * 4;
    const channelCount = load<i32>(entry, HEAD_CHANNEL_COUNT * 4);
    const outRow = <usize>load<i32>(entry, HEAD_OUT_ROW * 4);
    const outRows = out + outRow * ldBytes;
    const mode = load<i32>(entry, HEAD_MODE * 4);
    for (let b = 0; b < batch; b++) {
      const sample = <usize>b * nodeBytes;
      let adjacency = matrix;
      if (dimCount > 0) {
        // Row j of the scores: Bᵀ[j] + scale · Σ_d k[d, j] · q[d], the values k[d, j] 4 bytes apart in j.
        const keys = k + dims + sample;
        const queries = q + dims + sample;
        rowTriples<f32>(vectors, nodes, dimCount, keys, 0, 4, ldBytes, queries, ldBytes, scratch, nodeBytes, scale, matrix, 0);
        columnSoftmax(scratch, nodes, vectors);
        adjacency = scratch;
      }
      const values = u + sample;
      rowTriples<void>(vectors, channelCount, nodes, values, channels, ldBytes, 4, adjacency, nodeBytes, outRows + sample, ldBytes, 0, bias + outRow * 4, mode);
    }
  }
}

/**
 * out[r][0..4·vectors) = Σ_t value_r(t) · row(t) for r < count, see tripleLoop: in passes over at
 * most 6 vectors (near-equal widths), each one or two chunks of at most 3 vectors.
 */
function rowTriples<S>(
  vectors: i32,
  count: i32,
  terms: i32,
  values: usize,
  index: usize,
  valueRowStride: usize,
  valueStep: usize,
  rows: usize,
  rowStride: usize,
  out: usize,
  outStride: usize,
  scale: f32,
  bias: usize,
  mode: i32,
): void {
  let v = 0;
  for (let passes = (vectors + 5) / 6; passes > 0; passes--) {
    const n = (vectors - v + passes - 1) / passes;
    const offset = <usize>v * 16;
    const r = rows + offset;
    const o = out + offset;
    // The scores' bias is rows (offset like out); the mixing's is one value per row.
    const b = isVoid<S>() ? bias : bias + offset;
    switch (n) {
      case 1:
        tripleLoop<Vectors1, Vectors0, S>(count, terms, values, index, valueRowStride, valueStep, r, rowStride, o, outStride, scale, b, mode);
        break;
      case 2:
        tripleLoop<Vectors2, Vectors0, S>(count, terms, values, index, valueRowStride, valueStep, r, rowStride, o, outStride, scale, b, mode);
        break;
      case 3:
        tripleLoop<Vectors3, Vectors0, S>(count, terms, values, index, valueRowStride, valueStep, r, rowStride, o, outStride, scale, b, mode);
        break;
      case 4:
        tripleLoop<Vectors2, Vectors2, S>(count, terms, values, index, valueRowStride, valueStep, r, rowStride, o, outStride, scale, b, mode);
        break;
      case 5:
        tripleLoop<Vectors3, Vectors2, S>(count, terms, values, index, valueRowStride, valueStep, r, rowStride, o, outStride, scale, b, mode);
        break;
      default:
        tripleLoop<Vectors3, Vectors3, S>(count, terms, values, index, valueRowStride, valueStep, r, rowStride, o, outStride, scale, b, mode);
    }
    v += n;
  }
}

/**
 * Rows r < count of out (outStride bytes apart), three at a time, each over a chunk of V vectors
 * then one of W (none for Vectors0), while the rows' values are still in L1: out[r] =
 * Σ_{t < terms} value_r(t) · row(t), row(t) at rows + t·rowStride and value_r(t) at values +
 * i_r·valueRowStride + t·valueStep, where i_r = index[r] (i32) for the mixing (S = void), or r for
 * the scores (S = f32), whose rows become bias[r] + scale · out[r] (bias rows outStride apart).
 * The mixing's `mode` (attentionMix) adds out's values and finishes with bias[r] (f32, 4 bytes apart).
 * When 3 does not divide count the last row is repeated to fill the last triple.
 */
function tripleLoop<V, W, S>(
  count: i32,
  terms: i32,
  values: usize,
  index: usize,
  valueRowStride: usize,
  valueStep: usize,
  rows: usize,
  rowStride: usize,
  out: usize,
  outStride: usize,
  scale: f32,
  bias: usize,
  mode: i32,
): void {
  const scores = !isVoid<S>();
  const scaleV = f32x4.splat(scale);
  const last = count - 1;
  const second = <usize>countOf<V>() * 16;
  for (let r = 0; r < count; r += 3) {
    const r1 = min(r + 1, last);
    const r2 = min(r + 2, last);
    const v0 = values + (scores ? <usize>r : <usize>load<i32>(index + <usize>r * 4)) * valueRowStride;
    const v1 = values + (scores ? <usize>r1 : <usize>load<i32>(index + <usize>r1 * 4)) * valueRowStride;
    const v2 = values + (scores ? <usize>r2 : <usize>load<i32>(index + <usize>r2 * 4)) * valueRowStride;
    const o0 = <usize>r * outStride;
    const o1 = <usize>r1 * outStride;
    const o2 = <usize>r2 * outStride;
    const b0 = bias + (scores ? o0 : <usize>r * 4);
    const b1 = bias + (scores ? o1 : <usize>r1 * 4);
    const b2 = bias + (scores ? o2 : <usize>r2 * 4);
    tripleChunk<V, S>(terms, v0, v1, v2, valueStep, rows, rowStride, out + o0, out + o1, out + o2, scaleV, b0, b1, b2, mode);
    if (countOf<W>() > 0) {
      const r = rows + second;
      const o = out + second;
      const b = scores ? second : 0;
      tripleChunk<W, S>(terms, v0, v1, v2, valueStep, r, rowStride, o + o0, o + o1, o + o2, scaleV, b0 + b, b1 + b, b2 + b, mode);
    }
  }
}

/**
 * Three rows at once over V (≤ 3) vectors: out_r[0..4·V) = Σ_{t < terms} value_r(t) · row(t) for
 * r < 3, value_r(t) at value_r + t·valueStep and row(t) at rows + t·rowStride. Each vector of row(t)
 * is loaded once for the three rows: 3·V independent multiply-add chains, 9 at V = 3, more than
 * the FMA latency times the FMAs issued per cycle (4 × 2), while the accumulators, the three
 * splatted values and the V vectors (V8 loads them all before the multiply-adds) stay within the 15
 * registers V8 allocates. For the scores (S = f32) the rows become bias_r + scale · out_r; for the
 * mixing, `mode` adds out_r's values (MIX_ADD), then the value at bias_r, with relu (MIX_FINISH).
 */
@inline
function tripleChunk<V, S>(
  terms: i32,
  value0: usize,
  value1: usize,
  value2: usize,
  valueStep: usize,
  rows: usize,
  rowStride: usize,
  out0: usize,
  out1: usize,
  out2: usize,
  scale: v128,
  bias0: usize,
  bias1: usize,
  bias2: usize,
  mode: i32,
): void {
  const vectors = countOf<V>();
  let a0 = f32x4.splat(0);
  let a1 = a0;
  let a2 = a0;
  let b0 = a0;
  let b1 = a0;
  let b2 = a0;
  let c0 = a0;
  let c1 = a0;
  let c2 = a0;
  for (let t = 0; t < terms; t++) {
    const s0 = v128.load32_splat(value0);
    const s1 = v128.load32_splat(value1);
    const s2 = v128.load32_splat(value2);
    value0 += valueStep;
    value1 += valueStep;
    value2 += valueStep;
    if (vectors > 0) {
      const x = v128.load(rows);
      a0 = madd(s0, x, a0);
      b0 = madd(s1, x, b0);
      c0 = madd(s2, x, c0);
    }
    if (vectors > 1) {
      const x = v128.load(rows, 16);
      a1 = madd(s0, x, a1);
      b1 = madd(s1, x, b1);
      c1 = madd(s2, x, c1);
    }
    if (vectors > 2) {
      const x = v128.load(rows, 32);
      a2 = madd(s0, x, a2);
      b2 = madd(s1, x, b2);
      c2 = madd(s2, x, c2);
    }
    rows += rowStride;
  }
  if (!isVoid<S>()) {
    if (vectors > 0) {
      a0 = madd(scale, a0, v128.load(bias0));
      b0 = madd(scale, b0, v128.load(bias1));
      c0 = madd(scale, c0, v128.load(bias2));
    }
    if (vectors > 1) {
      a1 = madd(scale, a1, v128.load(bias0, 16));
      b1 = madd(scale, b1, v128.load(bias1, 16));
      c1 = madd(scale, c1, v128.load(bias2, 16));
    }
    if (vectors > 2) {
      a2 = madd(scale, a2, v128.load(bias0, 32));
      b2 = madd(scale, b2, v128.load(bias1, 32));
      c2 = madd(scale, c2, v128.load(bias2, 32));
    }
  }
  if (mode & MIX_ADD) {
    // Every load before any store: a repeated last row adds its old values once.
    if (vectors > 0) {
      a0 = f32x4.add(a0, v128.load(out0));
      b0 = f32x4.add(b0, v128.load(out1));
      c0 = f32x4.add(c0, v128.load(out2));
    }
    if (vectors > 1) {
      a1 = f32x4.add(a1, v128.load(out0, 16));
      b1 = f32x4.add(b1, v128.load(out1, 16));
      c1 = f32x4.add(c1, v128.load(out2, 16));
    }
    if (vectors > 2) {
      a2 = f32x4.add(a2, v128.load(out0, 32));
      b2 = f32x4.add(b2, v128.load(out1, 32));
      c2 = f32x4.add(c2, v128.load(out2, 32));
    }
  }
  if (mode & MIX_FINISH) {
    const d0 = v128.load32_splat(bias0);
    const d1 = v128.load32_splat(bias1);
    const d2 = v128.load32_splat(bias2);
    if (vectors > 0) {
      a0 = relu4(f32x4.add(a0, d0));
      b0 = relu4(f32x4.add(b0, d1));
      c0 = relu4(f32x4.add(c0, d2));
    }
    if (vectors > 1) {
      a1 = relu4(f32x4.add(a1, d0));
      b1 = relu4(f32x4.add(b1, d1));
      c1 = relu4(f32x4.add(c1, d2));
    }
    if (vectors > 2) {
      a2 = relu4(f32x4.add(a2, d0));
      b2 = relu4(f32x4.add(b2, d1));
      c2 = relu4(f32x4.add(c2, d2));
    }
  }
  // A repeated last row (out2 = out1 or out0) stores the same values twice.
  if (vectors > 0) {
    v128.store(out0, a0);
    v128.store(out1, b0);
    v128.store(out2, c0);
  }
  if (vectors > 1) {
    v128.store(out0, a1, 16);
    v128.store(out1, b1, 16);
    v128.store(out2, c1, 16);
  }
  if (vectors > 2) {
    v128.store(out0, a2, 32);
    v128.store(out1, b2, 32);
    v128.store(out2, c2, 32);
  }
}


/**
 * In place over [nodes, 4·vectors]: each column's softmax over the rows (row j is the key node,
 * lane i the query node). Even and odd rows keep separate maxima and sums: two dependency chains.
 */
function columnSoftmax(scores: usize, nodes: i32, vectors: i32): void {
  const rowBytes = <usize>vectors * 16;
  const pairBytes = 2 * rowBytes;
  const pairs = nodes >> 1;
  for (let v = 0; v < vectors; v++) {
    const column = scores + <usize>v * 16;
    const last = column + <usize>(nodes - 1) * rowBytes;
    let top0 = f32x4.splat(-Infinity);
    let top1 = top0;
    let at = column;
    for (let j = 0; j < pairs; j++) {
      top0 = f32x4.pmax(top0, v128.load(at));
      top1 = f32x4.pmax(top1, v128.load(at + rowBytes));
      at += pairBytes;
    }
    if (nodes & 1) top0 = f32x4.pmax(top0, v128.load(last));
    const top = f32x4.pmax(top0, top1);
    let total0 = f32x4.splat(0);
    let total1 = total0;
    at = column;
    for (let j = 0; j < pairs; j++) {
      const e0 = expNonPositiveV(f32x4.sub(v128.load(at), top));
      const e1 = expNonPositiveV(f32x4.sub(v128.load(at + rowBytes), top));
      v128.store(at, e0);
      v128.store(at + rowBytes, e1);
      total0 = f32x4.add(total0, e0);
      total1 = f32x4.add(total1, e1);
      at += pairBytes;
    }
    if (nodes & 1) {
      const e = expNonPositiveV(f32x4.sub(v128.load(last), top));
      v128.store(last, e);
      total0 = f32x4.add(total0, e);
    }
    const inverse = f32x4.div(f32x4.splat(1), f32x4.add(total0, total1));
    at = column;
    for (let j = 0; j < nodes; j++) {
      v128.store(at, f32x4.mul(v128.load(at), inverse));
      at += rowBytes;
    }
  }
}

/**
 * dst[dstOffsets[r] + o·dstOuter + i] = src[srcOffsets[r] + o·srcOuter + i·srcInner] for r < count,
 * o < outer, i < inner (offset tables are i32). Single elements (inner = 1) go row by row, runs of
 * `inner` elements sample by sample (o outermost): one sample's source rows are then read while
 * still in L1, where row by row every row came back for all the samples (1.3 ns per element at 32
 * samples of the FPHA input).
 */
export function gatherRows(
  src: usize,
  srcOffsets: usize,
  dst: usize,
  dstOffsets: usize,
  count: i32,
  outer: i32,
  srcOuter: i32,
  dstOuter: i32,
  inner: i32,
  srcInner: i32,
): void {
  const srcOuterBytes = <usize>srcOuter * 4;
  const dstOuterBytes = <usize>dstOuter * 4;
  if (inner == 1) {
    for (let r: usize = 0; r < <usize>count; r++) {
      const from = src + <usize>load<i32>(srcOffsets + r * 4) * 4;
      const to = dst + <usize>load<i32>(dstOffsets + r * 4) * 4;
      if (outer == 1) store<f32>(to, load<f32>(from));
      else for (let o: usize = 0; o < <usize>outer; o++) store<f32>(to + o * dstOuterBytes, load<f32>(from + o * srcOuterBytes));
    }
    return;
  }
  for (let o: usize = 0; o < <usize>outer; o++) {
    gatherRuns(src + o * srcOuterBytes, srcOffsets, dst + o * dstOuterBytes, dstOffsets, count, inner, <usize>srcInner * 4);
  }
}

/**
 * One sample of gatherRows: runs of `inner` elements `step` bytes apart. Four rows whose sources are
 * consecutive elements (the features of a node) are gathered as a 4×4 transpose: a vector load per
 * run element, four shuffles each way (transpose4x4To).
 */
@inline
function gatherRuns(src: usize, srcOffsets: usize, dst: usize, dstOffsets: usize, count: i32, inner: i32, step: usize): void {
  const quads = inner & ~3;
  let r = 0;
  while (r < count) {
    const offsets = srcOffsets + <usize>r * 4;
    const from = src + <usize>load<i32>(offsets) * 4;
    if (r + 4 > count || !consecutive(offsets)) {
      gatherRun(from, dst + <usize>load<i32>(dstOffsets + <usize>r * 4) * 4, inner, step);
      r++;
      continue;
    }
    const targets = dstOffsets + <usize>r * 4;
    const to0 = dst + <usize>load<i32>(targets) * 4;
    const to1 = dst + <usize>load<i32>(targets, 4) * 4;
    const to2 = dst + <usize>load<i32>(targets, 8) * 4;
    const to3 = dst + <usize>load<i32>(targets, 12) * 4;
    let s = from;
    for (let i = 0; i < quads; i += 4) {
      const at = <usize>i * 4;
      transpose4x4To(s, step, to0 + at, to1 + at, to2 + at, to3 + at);
      s += 4 * step;
    }
    for (let i = quads; i < inner; i++) {
      const at = <usize>i * 4;
      store<f32>(to0 + at, load<f32>(s));
      store<f32>(to1 + at, load<f32>(s, 4));
      store<f32>(to2 + at, load<f32>(s, 8));
      store<f32>(to3 + at, load<f32>(s, 12));
      s += step;
    }
    r += 4;
  }
}

/** Whether the four i32 offsets at `offsets` are n, n + 1, n + 2, n + 3. */
@inline
function consecutive(offsets: usize): bool {
  const first = i32x4.splat(load<i32>(offsets));
  return i32x4.all_true(i32x4.eq(v128.load(offsets), i32x4.add(first, i32x4(0, 1, 2, 3))));
}

/** `inner` elements `step` bytes apart from `from` to consecutive floats at `to`, four per store. */
@inline
function gatherRun(from: usize, to: usize, inner: i32, step: usize): void {
  let s = from;
  let i = 0;
  for (; i + 4 <= inner; i += 4) {
    let v = v128.load32_zero(s);
    v = v128.load32_lane(s + step, v, 1);
    v = v128.load32_lane(s + 2 * step, v, 2);
    v = v128.load32_lane(s + 3 * step, v, 3);
    v128.store(to + <usize>i * 4, v);
    s += 4 * step;
  }
  for (; i < inner; i++) {
    store<f32>(to + <usize>i * 4, load<f32>(s));
    s += step;
  }
}
