// Inference kernels over channels-major activations: x[i·ld + c] holds input channel i at column c
// (a node of a sample, or a sample). Products y = act(bias + W·x) with W stored dense, CSR or as 4×4
// blocks, where every stored weight drives a contiguous f32x4 axpy along a row of x; the attention of
// a graph layer (scores, softmax, mixing) for all heads and samples in one call; and the strided
// gathers that bring inputs into that layout.
//
// A product with more than one column writes whole vectors: ⌈columns/4⌉·4 lanes of every output row
// (the caller's rows are that long). With exactly one column x and y are plain vectors and the kernels
// vectorise along the reduction instead. Pointers are byte addresses, strides and offsets elements.
import { expV, horizontalSum } from './math';

/** How rowChunk finds the scalar and the row of its t-th term. */
/** CSR with u16 column indices: value t, row index[t]. */
const CSR_NARROW = 0;
/** CSR with i32 column indices. */
const CSR_WIDE = 1;
/** Every row in order: value t, row t (the mixing A·u). */
const SEQUENTIAL = 2;
/** An i32 list d = index[t] picks both the value and the row (attention scores over a head's dims). */
const GATHERED = 3;

/** Vectors (of 4 columns) kept in registers per output row: 8 accumulators plus operands fit 16. */
const MAX_VECTORS = 8;
/** Vectors per output row of the 4-row block kernel: 4 rows × 2 accumulators plus operands. */
const BLOCK_VECTORS = 2;

/**
 * out[0..4·vectors) = act(init + Σ over terms t in [begin, end) of value(t) · row(t)[0..4·vectors)).
 * `terms` and `vectors` are compile-time constants at every call, so each use is a specialised loop.
 */
@inline
function rowChunk(
  terms: i32,
  vectors: i32,
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
  let a0 = init;
  let a1 = init;
  let a2 = init;
  let a3 = init;
  let a4 = init;
  let a5 = init;
  let a6 = init;
  let a7 = init;
  for (let t = begin; t < end; t++) {
    let value: v128;
    let row: usize;
    if (terms == CSR_NARROW) {
      value = v128.load32_splat(values + <usize>t * 4);
      row = rows + <usize>load<u16>(index + <usize>t * 2) * rowStride;
    } else if (terms == CSR_WIDE) {
      value = v128.load32_splat(values + <usize>t * 4);
      row = rows + <usize>load<i32>(index + <usize>t * 4) * rowStride;
    } else if (terms == SEQUENTIAL) {
      value = v128.load32_splat(values + <usize>t * 4);
      row = rows + <usize>t * rowStride;
    } else {
      const d = <usize>load<i32>(index + <usize>t * 4);
      value = v128.load32_splat(values + d * valueStride);
      row = rows + d * rowStride;
    }
    if (vectors > 0) a0 = f32x4.add(a0, f32x4.mul(value, v128.load(row)));
    if (vectors > 1) a1 = f32x4.add(a1, f32x4.mul(value, v128.load(row, 16)));
    if (vectors > 2) a2 = f32x4.add(a2, f32x4.mul(value, v128.load(row, 32)));
    if (vectors > 3) a3 = f32x4.add(a3, f32x4.mul(value, v128.load(row, 48)));
    if (vectors > 4) a4 = f32x4.add(a4, f32x4.mul(value, v128.load(row, 64)));
    if (vectors > 5) a5 = f32x4.add(a5, f32x4.mul(value, v128.load(row, 80)));
    if (vectors > 6) a6 = f32x4.add(a6, f32x4.mul(value, v128.load(row, 96)));
    if (vectors > 7) a7 = f32x4.add(a7, f32x4.mul(value, v128.load(row, 112)));
  }
  if (relu) {
    const zero = f32x4.splat(0);
    a0 = f32x4.max(a0, zero);
    a1 = f32x4.max(a1, zero);
    a2 = f32x4.max(a2, zero);
    a3 = f32x4.max(a3, zero);
    a4 = f32x4.max(a4, zero);
    a5 = f32x4.max(a5, zero);
    a6 = f32x4.max(a6, zero);
    a7 = f32x4.max(a7, zero);
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

/** rowChunk with a run-time vector count (1..MAX_VECTORS) dispatched to its specialised loops. */
@inline
function rowChunkOf(
  terms: i32,
  vectors: i32,
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
  switch (vectors) {
    case 1:
      rowChunk(terms, 1, begin, end, index, values, valueStride, rows, rowStride, init, relu, out);
      break;
    case 2:
      rowChunk(terms, 2, begin, end, index, values, valueStride, rows, rowStride, init, relu, out);
      break;
    case 3:
      rowChunk(terms, 3, begin, end, index, values, valueStride, rows, rowStride, init, relu, out);
      break;
    case 4:
      rowChunk(terms, 4, begin, end, index, values, valueStride, rows, rowStride, init, relu, out);
      break;
    case 5:
      rowChunk(terms, 5, begin, end, index, values, valueStride, rows, rowStride, init, relu, out);
      break;
    case 6:
      rowChunk(terms, 6, begin, end, index, values, valueStride, rows, rowStride, init, relu, out);
      break;
    case 7:
      rowChunk(terms, 7, begin, end, index, values, valueStride, rows, rowStride, init, relu, out);
      break;
    default:
      rowChunk(terms, 8, begin, end, index, values, valueStride, rows, rowStride, init, relu, out);
  }
}

/** A whole output row, chunk by chunk of at most MAX_VECTORS vectors. */
@inline
function outputRow(
  terms: i32,
  vectors: i32,
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
  for (let v = 0; v < vectors; v += MAX_VECTORS) {
    const offset = <usize>v * 16;
    const count = min(MAX_VECTORS, vectors - v);
    rowChunkOf(terms, count, begin, end, index, values, valueStride, rows + offset, rowStride, init, relu, out + offset);
  }
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
  if (columns == 1) {
    if (wide) csrVector(CSR_WIDE, rows, rowPtr, index, values, x, bias, relu, y);
    else csrVector(CSR_NARROW, rows, rowPtr, index, values, x, bias, relu, y);
    return;
  }
  const vectors = (columns + 3) >> 2;
  const ldBytes = <usize>ld * 4;
  // Column chunks outermost: the chunk of x every row reads stays in cache across the rows.
  for (let v = 0; v < vectors; v += MAX_VECTORS) {
    const offset = <usize>v * 16;
    const count = min(MAX_VECTORS, vectors - v);
    if (wide) csrChunk(CSR_WIDE, count, rows, rowPtr, index, values, x + offset, ldBytes, bias, relu, y + offset);
    else csrChunk(CSR_NARROW, count, rows, rowPtr, index, values, x + offset, ldBytes, bias, relu, y + offset);
  }
}

@inline
function csrChunk(
  terms: i32,
  vectors: i32,
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
  switch (vectors) {
    case 1:
      csrRows(terms, 1, rows, rowPtr, index, values, x, ldBytes, bias, relu, y);
      break;
    case 2:
      csrRows(terms, 2, rows, rowPtr, index, values, x, ldBytes, bias, relu, y);
      break;
    case 3:
      csrRows(terms, 3, rows, rowPtr, index, values, x, ldBytes, bias, relu, y);
      break;
    case 4:
      csrRows(terms, 4, rows, rowPtr, index, values, x, ldBytes, bias, relu, y);
      break;
    case 5:
      csrRows(terms, 5, rows, rowPtr, index, values, x, ldBytes, bias, relu, y);
      break;
    case 6:
      csrRows(terms, 6, rows, rowPtr, index, values, x, ldBytes, bias, relu, y);
      break;
    case 7:
      csrRows(terms, 7, rows, rowPtr, index, values, x, ldBytes, bias, relu, y);
      break;
    default:
      csrRows(terms, 8, rows, rowPtr, index, values, x, ldBytes, bias, relu, y);
  }
}

@inline
function csrRows(
  terms: i32,
  vectors: i32,
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
    rowChunk(terms, vectors, begin, end, index, values, 0, x, ldBytes, init, relu, y + <usize>o * ldBytes);
    begin = end;
  }
}

/** Four gathered floats x[index[t..t+3]]. */
@inline
function gather4(terms: i32, x: usize, index: usize, t: i32): v128 {
  const width: usize = terms == CSR_WIDE ? 4 : 2;
  const at = index + <usize>t * width;
  const i0 = terms == CSR_WIDE ? <usize>load<i32>(at) : <usize>load<u16>(at);
  const i1 = terms == CSR_WIDE ? <usize>load<i32>(at, 4) : <usize>load<u16>(at, 2);
  const i2 = terms == CSR_WIDE ? <usize>load<i32>(at, 8) : <usize>load<u16>(at, 4);
  const i3 = terms == CSR_WIDE ? <usize>load<i32>(at, 12) : <usize>load<u16>(at, 6);
  let v = v128.load32_zero(x + i0 * 4);
  v = v128.load32_lane(x + i1 * 4, v, 1);
  v = v128.load32_lane(x + i2 * 4, v, 2);
  return v128.load32_lane(x + i3 * 4, v, 3);
}

/** The single-column CSR product: four stored weights at a time against four gathered inputs. */
@inline
function csrVector(
  terms: i32,
  rows: i32,
  rowPtr: usize,
  index: usize,
  values: usize,
  x: usize,
  bias: usize,
  relu: bool,
  y: usize,
): void {
  let begin = load<i32>(rowPtr);
  for (let o = 0; o < rows; o++) {
    const end = load<i32>(rowPtr + <usize>(o + 1) * 4);
    let acc0 = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    let t = begin;
    for (; t + 8 <= end; t += 8) {
      acc0 = f32x4.add(acc0, f32x4.mul(v128.load(values + <usize>t * 4), gather4(terms, x, index, t)));
      acc1 = f32x4.add(acc1, f32x4.mul(v128.load(values + <usize>t * 4, 16), gather4(terms, x, index, t + 4)));
    }
    if (t + 4 <= end) {
      acc0 = f32x4.add(acc0, f32x4.mul(v128.load(values + <usize>t * 4), gather4(terms, x, index, t)));
      t += 4;
    }
    let sum = load<f32>(bias + <usize>o * 4) + horizontalSum(f32x4.add(acc0, acc1));
    for (; t < end; t++) {
      const i = terms == CSR_WIDE ? <usize>load<i32>(index + <usize>t * 4) : <usize>load<u16>(index + <usize>t * 2);
      sum += load<f32>(values + <usize>t * 4) * load<f32>(x + i * 4);
    }
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
  if (denseBlockCols > 0) blockLayout(true, false, blockRows, rowPtr, index, values, denseBlockCols, x, ld, columns, bias, relu, y);
  else if (wide) blockLayout(false, true, blockRows, rowPtr, index, values, 0, x, ld, columns, bias, relu, y);
  else blockLayout(false, false, blockRows, rowPtr, index, values, 0, x, ld, columns, bias, relu, y);
}

/** Addressing of one layout (constant `dense` and `wide`), then the vector or the column passes. */
@inline
function blockLayout(
  dense: bool,
  wide: bool,
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
    blockRowsPass(dense, wide, 0, blockRows, rowPtr, index, values, denseBlockCols, x, 4, bias, relu, y);
    return;
  }
  const vectors = (columns + 3) >> 2;
  const ldBytes = <usize>ld * 4;
  let v = 0;
  for (; v + BLOCK_VECTORS <= vectors; v += BLOCK_VECTORS) {
    const offset = <usize>v * 16;
    blockRowsPass(dense, wide, BLOCK_VECTORS, blockRows, rowPtr, index, values, denseBlockCols, x + offset, ldBytes, bias, relu, y + offset);
  }
  if (v < vectors) {
    const offset = <usize>v * 16;
    blockRowsPass(dense, wide, 1, blockRows, rowPtr, index, values, denseBlockCols, x + offset, ldBytes, bias, relu, y + offset);
  }
}

/**
 * Every block row over `vectors` (1 or 2) vectors of columns, or, with vectors = 0, the single-column
 * product: each block's four rows multiply the four inputs it covers as one vector, and the four row
 * sums are reduced together at the end of the block row.
 */
@inline
function blockRowsPass(
  dense: bool,
  wide: bool,
  vectors: i32,
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
  // Bytes between the rows of one block, and from one block to the next along a block row.
  const rowBytes: usize = dense ? <usize>denseBlockCols * 16 : 16;
  const blockBytes: usize = dense ? 16 : 64;
  const zero = f32x4.splat(0);
  for (let r = 0; r < blockRows; r++) {
    const begin = dense ? r * denseBlockCols : load<i32>(rowPtr + <usize>r * 4);
    const end = dense ? begin + denseBlockCols : load<i32>(rowPtr + <usize>(r + 1) * 4);
    let w = dense ? values + <usize>r * 4 * rowBytes : values + <usize>begin * 64;
    const b = bias + <usize>r * 16;
    const single = vectors == 0;
    let a00 = single ? zero : v128.load32_splat(b);
    let a10 = single ? zero : v128.load32_splat(b, 4);
    let a20 = single ? zero : v128.load32_splat(b, 8);
    let a30 = single ? zero : v128.load32_splat(b, 12);
    let a01 = a00;
    let a11 = a10;
    let a21 = a20;
    let a31 = a30;
    for (let t = begin; t < end; t++) {
      const col = dense ? t - begin : wide ? load<i32>(index + <usize>t * 4) : <i32>load<u16>(index + <usize>t * 2);
      const xb = x + <usize>col * 4 * ldBytes;
      if (single) {
        const input = v128.load(xb);
        a00 = f32x4.add(a00, f32x4.mul(v128.load(w), input));
        a10 = f32x4.add(a10, f32x4.mul(v128.load(w + rowBytes), input));
        a20 = f32x4.add(a20, f32x4.mul(v128.load(w + 2 * rowBytes), input));
        a30 = f32x4.add(a30, f32x4.mul(v128.load(w + 3 * rowBytes), input));
      } else {
        for (let c: usize = 0; c < 4; c++) {
          const xr = xb + c * ldBytes;
          const x0 = v128.load(xr);
          const x1 = vectors > 1 ? v128.load(xr, 16) : zero;
          const wc = w + c * 4;
          let s = v128.load32_splat(wc);
          a00 = f32x4.add(a00, f32x4.mul(s, x0));
          if (vectors > 1) a01 = f32x4.add(a01, f32x4.mul(s, x1));
          s = v128.load32_splat(wc + rowBytes);
          a10 = f32x4.add(a10, f32x4.mul(s, x0));
          if (vectors > 1) a11 = f32x4.add(a11, f32x4.mul(s, x1));
          s = v128.load32_splat(wc + 2 * rowBytes);
          a20 = f32x4.add(a20, f32x4.mul(s, x0));
          if (vectors > 1) a21 = f32x4.add(a21, f32x4.mul(s, x1));
          s = v128.load32_splat(wc + 3 * rowBytes);
          a30 = f32x4.add(a30, f32x4.mul(s, x0));
          if (vectors > 1) a31 = f32x4.add(a31, f32x4.mul(s, x1));
        }
      }
      w += blockBytes;
    }
    const out = single ? y + <usize>r * 16 : y + <usize>r * 4 * ldBytes;
    if (single) {
      // Row sums of a00..a30 as one vector: pairwise across lanes, then across pairs.
      const s01 = f32x4.add(v128.shuffle<f32>(a00, a10, 0, 1, 4, 5), v128.shuffle<f32>(a00, a10, 2, 3, 6, 7));
      const s23 = f32x4.add(v128.shuffle<f32>(a20, a30, 0, 1, 4, 5), v128.shuffle<f32>(a20, a30, 2, 3, 6, 7));
      let sums = f32x4.add(v128.shuffle<f32>(s01, s23, 0, 2, 4, 6), v128.shuffle<f32>(s01, s23, 1, 3, 5, 7));
      sums = f32x4.add(sums, v128.load(b));
      v128.store(out, relu ? f32x4.max(sums, zero) : sums);
    } else {
      storeRow(out, a00, a01, vectors, relu);
      storeRow(out + ldBytes, a10, a11, vectors, relu);
      storeRow(out + 2 * ldBytes, a20, a21, vectors, relu);
      storeRow(out + 3 * ldBytes, a30, a31, vectors, relu);
    }
  }
}

@inline
function storeRow(out: usize, lo: v128, hi: v128, vectors: i32, relu: bool): void {
  const zero = f32x4.splat(0);
  v128.store(out, relu ? f32x4.max(lo, zero) : lo);
  if (vectors > 1) v128.store(out, relu ? f32x4.max(hi, zero) : hi, 16);
}

// Head table of attentionMix: HEAD_FIELDS i32 per alive head.
/** Offset of the head's dims (rows of q and k) in `indices`, and their count (0: a static head). */
const HEAD_DIMS = 0;
const HEAD_DIM_COUNT = 1;
/** Offset of the head's channels (rows of u) in `indices`, and their count. */
const HEAD_CHANNELS = 2;
const HEAD_CHANNEL_COUNT = 3;
/** Float index of the head's [nodes, paddedNodes] matrix: static adjacency Aᵀ, or attention bias Bᵀ. */
const HEAD_MATRIX = 4;
/** First output row of the head's mixed channels. */
const HEAD_OUT_ROW = 5;
const HEAD_FIELDS = 6;

/**
 * The attention of a graph layer for every sample and alive head. Samples occupy `paddedNodes`
 * columns each (nodes of them used) in q, k, u and out, all with leading dimension ld. A dynamic head
 * computes Aᵀ[j, i] = softmax over j of (Bᵀ[j, i] + scale · Σ_d k[d, j]·q[d, i]) into `scratch`
 * ([nodes, paddedNodes]); a static head's Aᵀ is given. Then out[outRow + r, i] = Σ_j u[channel_r, j] · Aᵀ[j, i].
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
): void {
  const ldBytes = <usize>ld * 4;
  const nodeBytes = <usize>paddedNodes * 4;
  const vectors = paddedNodes >> 2;
  const zero = f32x4.splat(0);
  for (let b = 0; b < batch; b++) {
    const sample = <usize>b * nodeBytes;
    for (let h = 0; h < heads; h++) {
      const entry = table + <usize>(h * HEAD_FIELDS) * 4;
      const dimCount = load<i32>(entry, HEAD_DIM_COUNT * 4);
      let adjacency = <usize>load<i32>(entry, HEAD_MATRIX * 4) * 4;
      if (dimCount > 0) {
        const dims = indices + <usize>load<i32>(entry, HEAD_DIMS * 4) * 4;
        for (let j = 0; j < nodes; j++) {
          const keyColumn = k + sample + <usize>j * 4;
          const row = scratch + <usize>j * nodeBytes;
          outputRow(GATHERED, vectors, 0, dimCount, dims, keyColumn, ldBytes, q + sample, ldBytes, zero, false, row);
        }
        columnSoftmax(scratch, adjacency, scale, nodes, vectors);
        adjacency = scratch;
      }
      const channels = indices + <usize>load<i32>(entry, HEAD_CHANNELS * 4) * 4;
      const channelCount = load<i32>(entry, HEAD_CHANNEL_COUNT * 4);
      const outRow = out + <usize>load<i32>(entry, HEAD_OUT_ROW * 4) * ldBytes + sample;
      for (let r = 0; r < channelCount; r++) {
        const channel = u + <usize>load<i32>(channels + <usize>r * 4) * ldBytes + sample;
        outputRow(SEQUENTIAL, vectors, 0, nodes, 0, channel, 4, adjacency, nodeBytes, zero, false, outRow + <usize>r * ldBytes);
      }
    }
  }
}

/**
 * In place over [nodes, 4·vectors]: s = bias + scale · s, then each column's softmax over the rows
 * (row j is the key node, lane i the query node).
 */
function columnSoftmax(scores: usize, bias: usize, scale: f32, nodes: i32, vectors: i32): void {
  const rowBytes = <usize>vectors * 16;
  const scaleV = f32x4.splat(scale);
  for (let v = 0; v < vectors; v++) {
    const lane = <usize>v * 16;
    let top = f32x4.splat(-Infinity);
    for (let j = 0; j < nodes; j++) {
      const at = <usize>j * rowBytes + lane;
      const s = f32x4.add(v128.load(bias + at), f32x4.mul(scaleV, v128.load(scores + at)));
      v128.store(scores + at, s);
      top = f32x4.max(top, s);
    }
    let total = f32x4.splat(0);
    for (let j = 0; j < nodes; j++) {
      const at = scores + <usize>j * rowBytes + lane;
      const e = expV(f32x4.sub(v128.load(at), top));
      v128.store(at, e);
      total = f32x4.add(total, e);
    }
    for (let j = 0; j < nodes; j++) {
      const at = scores + <usize>j * rowBytes + lane;
      v128.store(at, f32x4.div(v128.load(at), total));
    }
  }
}

/**
 * dst[dstOffsets[r] + o·dstOuter + i] = src[srcOffsets[r] + o·srcOuter + i·srcInner] for r < count,
 * o < outer, i < inner (offset tables are i32).
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
  const srcInnerBytes = <usize>srcInner * 4;
  for (let r = 0; r < count; r++) {
    let from = src + <usize>load<i32>(srcOffsets + <usize>r * 4) * 4;
    let to = dst + <usize>load<i32>(dstOffsets + <usize>r * 4) * 4;
    for (let o = 0; o < outer; o++) {
      let s = from;
      for (let i = 0; i < inner; i++) {
        store<f32>(to + <usize>i * 4, load<f32>(s));
        s += srcInnerBytes;
      }
      from += srcOuterBytes;
      to += dstOuterBytes;
    }
  }
}
