/**
 * How the runtime stores one weight matrix. The engine computes y = Wᵀ·x on channels-major
 * activations (x is [inChannels, L], y is [outChannels, L]), so every format stores the transpose of
 * a layer's W [in, out]: row o is output channel o, column i input channel i. Formats:
 *
 *  - dense: all rows × cols values, row-major;
 *  - csr: the nonzero weights row by row (u16 column indices below 65536 input channels, else i32);
 *  - bsr: 4×4 blocks of Wᵀ, a block stored (16 floats, row-major) when any of its entries is nonzero,
 *    partial edge blocks zero-padded; u16 block-column indices below 65536 block columns.
 *
 * Stored matrices are plain typed arrays and numbers, ready to serialise.
 */

/** A dense row-major matrix. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/**
 * How a product's weights are stored, which picks its kernel: `dense` (every weight), `csr`
 * (compressed sparse rows: the nonzeros of each row) or `bsr` (the nonempty 4×4 blocks).
 */
export type StorageFormat = 'dense' | 'csr' | 'bsr';
export const STORAGE_FORMATS: readonly StorageFormat[] = ['dense', 'csr', 'bsr'];

/** Side of the square blocks of the bsr format. */
export const BLOCK = 4;
/** Index arrays switch from u16 to i32 at this many columns (csr) or block columns (bsr). */
const U16_LIMIT = 65536;

export interface DenseMatrix {
  format: 'dense';
  /** Output channels. */
  rows: number;
  /** Input channels. */
  cols: number;
  /** rows × cols, row-major. */
  values: Float32Array;
}

export interface CsrMatrix {
  format: 'csr';
  rows: number;
  cols: number;
  /** rows + 1 offsets into index and values. */
  rowPtr: Int32Array;
  /** Input channel of each stored weight, ascending within a row. */
  index: Uint16Array | Int32Array;
  values: Float32Array;
}

export interface BsrMatrix {
  format: 'bsr';
  rows: number;
  cols: number;
  /** ⌈rows/4⌉ + 1 offsets into index (blocks). */
  rowPtr: Int32Array;
  /** Block column of each stored block (input channels 4c..4c+3), ascending within a block row. */
  index: Uint16Array | Int32Array;
  /** 16 floats per block, row-major within the block. */
  values: Float32Array;
}

export type StoredMatrix = DenseMatrix | CsrMatrix | BsrMatrix;

/** What a format choice needs to know about a matrix (of Wᵀ: rows = outputs). */
export interface MatrixShape {
  rows: number;
  cols: number;
  /** Nonzero weights. */
  nonzeros: number;
  /** 4×4 blocks holding at least one nonzero weight. */
  blocks: number;
}

/** The storage a layer ended up with, for reports and serialisation. */
export interface StorageSummary extends MatrixShape {
  format: StorageFormat;
  /** Bytes of the stored arrays. */
  bytes: number;
}

const blocksAlong = (n: number) => Math.ceil(n / BLOCK);

/** Wᵀ of a layer weight W [in, out], as dense row-major [out, in] values. */
function transposed(w: Matrix): Float32Array {
  const out = new Float32Array(w.rows * w.cols);
  for (let i = 0; i < w.rows; i++)
    for (let o = 0; o < w.cols; o++) out[o * w.rows + i] = w.data[i * w.cols + o];
  return out;
}

/** 1 for each 4×4 block of a dense row-major [rows, cols] matrix that holds a nonzero. */
function liveBlocks(values: Float32Array, rows: number, cols: number): Uint8Array {
  const blockCols = blocksAlong(cols);
  const live = new Uint8Array(blocksAlong(rows) * blockCols);
  for (let o = 0; o < rows; o++) {
    const base = Math.floor(o / BLOCK) * blockCols;
    for (let i = 0; i < cols; i++) if (values[o * cols + i] !== 0) live[base + Math.floor(i / BLOCK)] = 1;
  }
  return live;
}

/** Nonzero entries of values[start, end): of a stored matrix's values, its nonzero weights in any format. */
export function countNonzeros(values: Float32Array, start = 0, end = values.length): number {
  let n = 0;
  for (let k = start; k < end; k++) if (values[k] !== 0) n++;
  return n;
}

const sum = (values: Uint8Array) => values.reduce((n, v) => n + v, 0);

/** Rows, columns, nonzeros and nonempty 4×4 blocks of Wᵀ for a layer weight W [in, out]. */
export function matrixShape(w: Matrix): MatrixShape {
  const values = transposed(w);
  const blocks = sum(liveBlocks(values, w.cols, w.rows));
  return { rows: w.cols, cols: w.rows, nonzeros: countNonzeros(values), blocks };
}

/** Wᵀ of a layer weight W [in, out] in the given format. */
export function storeMatrix(w: Matrix, format: StorageFormat): StoredMatrix {
  return storeTransposed(transposed(w), w.cols, w.rows, format);
}

/** Wᵀ given as dense row-major [rows, cols] values, stored in `format` (the inverse of denseValues). */
export function storeTransposed(
  values: Float32Array,
  rows: number,
  cols: number,
  format: StorageFormat,
): StoredMatrix {
  if (format === 'dense') return { format, rows, cols, values: values.slice(0, rows * cols) };
  const positions = new Int32Array(countNonzeros(values, 0, rows * cols));
  const nonzeros = new Float32Array(positions.length);
  for (let k = 0, t = 0; t < positions.length; k++) {
    if (values[k] === 0) continue;
    positions[t] = k;
    nonzeros[t++] = values[k];
  }
  return storeNonzeros(positions, nonzeros, rows, cols, format);
}

/**
 * Wᵀ [rows, cols] given by its nonzeros: their row-major positions o·cols + i, ascending, and their
 * values; stored in `format`. Loading a model builds every layer this way (a model file's bitmap
 * lists the nonzeros so), so it works on typed arrays only and never expands a sparse layer.
 */
export function storeNonzeros(
  positions: Int32Array,
  values: Float32Array,
  rows: number,
  cols: number,
  format: StorageFormat,
): StoredMatrix {
  if (format === 'dense') {
    const dense = new Float32Array(rows * cols);
    for (let t = 0; t < positions.length; t++) dense[positions[t]] = values[t];
    return { format, rows, cols, values: dense };
  }
  if (format === 'csr') {
    const rowPtr = new Int32Array(rows + 1);
    const index = cols < U16_LIMIT ? new Uint16Array(positions.length) : new Int32Array(positions.length);
    for (let t = 0; t < positions.length; t++) {
      rowPtr[Math.floor(positions[t] / cols) + 1]++;
      index[t] = positions[t] % cols;
    }
    for (let o = 0; o < rows; o++) rowPtr[o + 1] += rowPtr[o];
    return { format, rows, cols, rowPtr, index, values: values.slice() };
  }
  // Blocks are numbered in row-major block order: the slot of each live block, then its values.
  const blockRows = blocksAlong(rows);
  const blockCols = blocksAlong(cols);
  const blockOf = (position: number) =>
    Math.floor(Math.floor(position / cols) / BLOCK) * blockCols + Math.floor((position % cols) / BLOCK);
  const slot = new Int32Array(blockRows * blockCols).fill(-1);
  for (let t = 0; t < positions.length; t++) slot[blockOf(positions[t])] = 0;
  const rowPtr = new Int32Array(blockRows + 1);
  let blocks = 0;
  for (let b = 0; b < slot.length; b++) {
    if (slot[b] < 0) continue;
    slot[b] = blocks++;
    rowPtr[Math.floor(b / blockCols) + 1]++;
  }
  for (let r = 0; r < blockRows; r++) rowPtr[r + 1] += rowPtr[r];
  const index = blockCols < U16_LIMIT ? new Uint16Array(blocks) : new Int32Array(blocks);
  // Partial edge blocks keep their zero padding.
  const stored = new Float32Array(blocks * BLOCK * BLOCK);
  for (let b = 0; b < slot.length; b++) if (slot[b] >= 0) index[slot[b]] = b % blockCols;
  for (let t = 0; t < positions.length; t++) {
    const o = Math.floor(positions[t] / cols);
    const i = positions[t] % cols;
    stored[(slot[blockOf(positions[t])] * BLOCK + (o % BLOCK)) * BLOCK + (i % BLOCK)] = values[t];
  }
  return { format, rows, cols, rowPtr, index, values: stored };
}

/**
 * Calls `visit(o·cols + i, value)` for every entry Wᵀ stores (zeros too), row by row and, within a
 * row, columns ascending; a block's padding beyond the matrix is skipped.
 */
function forEachStored(m: StoredMatrix, visit: (position: number, value: number) => void): void {
  if (m.format === 'dense') {
    for (let k = 0; k < m.values.length; k++) visit(k, m.values[k]);
    return;
  }
  if (m.format === 'csr') {
    for (let o = 0; o < m.rows; o++)
      for (let t = m.rowPtr[o]; t < m.rowPtr[o + 1]; t++) visit(o * m.cols + m.index[t], m.values[t]);
    return;
  }
  // Row o of a block row visits its blocks in column order.
  for (let o = 0; o < m.rows; o++) {
    const r = Math.floor(o / BLOCK);
    for (let t = m.rowPtr[r]; t < m.rowPtr[r + 1]; t++) {
      const start = (t * BLOCK + (o % BLOCK)) * BLOCK;
      for (let e = 0; e < BLOCK; e++) {
        const i = m.index[t] * BLOCK + e;
        if (i < m.cols) visit(o * m.cols + i, m.values[start + e]);
      }
    }
  }
}

/** The same Wᵀ in another format (the matrix itself when it already has that format). */
export function convertStorage(m: StoredMatrix, format: StorageFormat): StoredMatrix {
  if (m.format === format) return m;
  // Through its nonzeros, ascending, so that a sparse layer is never expanded.
  const positions = new Int32Array(countNonzeros(m.values));
  const values = new Float32Array(positions.length);
  let n = 0;
  forEachStored(m, (position, value) => {
    if (value === 0) return;
    positions[n] = position;
    values[n++] = value;
  });
  return storeNonzeros(positions, values, m.rows, m.cols, format);
}

/** Wᵀ as a dense row-major [rows, cols] array, whatever the format (for tests and exporters). */
export function denseValues(m: StoredMatrix): Float32Array {
  if (m.format === 'dense') return m.values;
  const out = new Float32Array(m.rows * m.cols);
  forEachStored(m, (position, value) => {
    out[position] = value;
  });
  return out;
}

/** Bytes of a stored matrix's arrays. */
export function storedBytes(m: StoredMatrix): number {
  if (m.format === 'dense') return m.values.byteLength;
  return m.rowPtr.byteLength + m.index.byteLength + m.values.byteLength;
}

/** Format, shape, nonzeros, nonempty blocks and bytes of a stored matrix (read off its storage). */
export function summarizeStorage(m: StoredMatrix): StorageSummary {
  const { format, rows, cols } = m;
  const nonzeros = countNonzeros(m.values);
  const bytes = storedBytes(m);
  if (format === 'dense')
    return { format, rows, cols, nonzeros, blocks: sum(liveBlocks(m.values, rows, cols)), bytes };
  if (format === 'bsr') {
    const size = BLOCK * BLOCK;
    let blocks = 0;
    for (let t = 0; t < m.index.length; t++)
      if (countNonzeros(m.values, t * size, (t + 1) * size) > 0) blocks++;
    return { format, rows, cols, nonzeros, blocks, bytes };
  }
  const blockCols = blocksAlong(cols);
  const live = new Uint8Array(blocksAlong(rows) * blockCols);
  for (let o = 0; o < rows; o++) {
    for (let t = m.rowPtr[o]; t < m.rowPtr[o + 1]; t++) {
      if (m.values[t] !== 0) live[Math.floor(o / BLOCK) * blockCols + Math.floor(m.index[t] / BLOCK)] = 1;
    }
  }
  return { format, rows, cols, nonzeros, blocks: sum(live), bytes };
}
