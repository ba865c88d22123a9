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

/** Wᵀ[o, i] of a layer's W [in, out]. */
const transposedAt = (w: Matrix, o: number, i: number) => w.data[i * w.cols + o];

/** Nonzeros and nonempty 4×4 blocks of a rows × cols matrix given by its entries. */
function shapeOf(rows: number, cols: number, at: (o: number, i: number) => number): MatrixShape {
  const blockCols = blocksAlong(cols);
  const live = new Uint8Array(blocksAlong(rows) * blockCols);
  let nonzeros = 0;
  for (let o = 0; o < rows; o++) {
    for (let i = 0; i < cols; i++) {
      if (at(o, i) === 0) continue;
      nonzeros++;
      live[Math.floor(o / BLOCK) * blockCols + Math.floor(i / BLOCK)] = 1;
    }
  }
  return { rows, cols, nonzeros, blocks: live.reduce((n, v) => n + v, 0) };
}

/** Rows, columns, nonzeros and nonempty 4×4 blocks of Wᵀ for a layer weight W [in, out]. */
export function matrixShape(w: Matrix): MatrixShape {
  return shapeOf(w.cols, w.rows, (o, i) => transposedAt(w, o, i));
}

function indexArray(values: readonly number[], limit: number): Uint16Array | Int32Array {
  return limit < U16_LIMIT ? Uint16Array.from(values) : Int32Array.from(values);
}

/** Wᵀ of a layer weight W [in, out] in the given format. */
export function storeMatrix(w: Matrix, format: StorageFormat): StoredMatrix {
  return storeEntries(w.cols, w.rows, (o, i) => transposedAt(w, o, i), format);
}

/** Wᵀ given as dense row-major [rows, cols] values, stored in `format` (the inverse of denseValues). */
export function storeTransposed(
  values: Float32Array,
  rows: number,
  cols: number,
  format: StorageFormat,
): StoredMatrix {
  return storeEntries(rows, cols, (o, i) => values[o * cols + i], format);
}

/** A rows × cols matrix given by its entries `at(o, i)`, in the given format. */
function storeEntries(
  rows: number,
  cols: number,
  at: (o: number, i: number) => number,
  format: StorageFormat,
): StoredMatrix {
  if (format === 'dense') {
    const values = new Float32Array(rows * cols);
    for (let o = 0; o < rows; o++) for (let i = 0; i < cols; i++) values[o * cols + i] = at(o, i);
    return { format, rows, cols, values };
  }
  if (format === 'csr') {
    const rowPtr = new Int32Array(rows + 1);
    const index: number[] = [];
    const values: number[] = [];
    for (let o = 0; o < rows; o++) {
      for (let i = 0; i < cols; i++) {
        const value = at(o, i);
        if (value === 0) continue;
        index.push(i);
        values.push(value);
      }
      rowPtr[o + 1] = index.length;
    }
    return { format, rows, cols, rowPtr, index: indexArray(index, cols), values: Float32Array.from(values) };
  }
  const blockRows = blocksAlong(rows);
  const blockCols = blocksAlong(cols);
  const rowPtr = new Int32Array(blockRows + 1);
  const index: number[] = [];
  const values: number[] = [];
  const block = new Float32Array(BLOCK * BLOCK);
  for (let r = 0; r < blockRows; r++) {
    for (let c = 0; c < blockCols; c++) {
      block.fill(0);
      for (let o = r * BLOCK; o < Math.min(rows, (r + 1) * BLOCK); o++) {
        for (let i = c * BLOCK; i < Math.min(cols, (c + 1) * BLOCK); i++) {
          block[(o - r * BLOCK) * BLOCK + (i - c * BLOCK)] = at(o, i);
        }
      }
      if (block.every((v) => v === 0)) continue;
      index.push(c);
      values.push(...block);
    }
    rowPtr[r + 1] = index.length;
  }
  return {
    format,
    rows,
    cols,
    rowPtr,
    index: indexArray(index, blockCols),
    values: Float32Array.from(values),
  };
}

/** Wᵀ as a dense row-major [rows, cols] array, whatever the format (for tests and exporters). */
export function denseValues(m: StoredMatrix): Float32Array {
  if (m.format === 'dense') return m.values;
  const out = new Float32Array(m.rows * m.cols);
  if (m.format === 'csr') {
    for (let o = 0; o < m.rows; o++) {
      for (let t = m.rowPtr[o]; t < m.rowPtr[o + 1]; t++) out[o * m.cols + m.index[t]] = m.values[t];
    }
    return out;
  }
  for (let r = 0; r + 1 < m.rowPtr.length; r++) {
    for (let t = m.rowPtr[r]; t < m.rowPtr[r + 1]; t++) {
      for (let e = 0; e < BLOCK * BLOCK; e++) {
        const o = r * BLOCK + Math.floor(e / BLOCK);
        const i = m.index[t] * BLOCK + (e % BLOCK);
        if (o < m.rows && i < m.cols) out[o * m.cols + i] = m.values[t * BLOCK * BLOCK + e];
      }
    }
  }
  return out;
}

/** Format, shape, nonzeros, nonempty blocks and bytes of a stored matrix. */
export function summarizeStorage(m: StoredMatrix): StorageSummary {
  const dense = denseValues(m);
  const bytes =
    m.format === 'dense'
      ? m.values.byteLength
      : m.rowPtr.byteLength + m.index.byteLength + m.values.byteLength;
  return { format: m.format, ...shapeOf(m.rows, m.cols, (o, i) => dense[o * m.cols + i]), bytes };
}
