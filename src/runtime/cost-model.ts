/**
 * Which storage format runs a product y = Wᵀ·x fastest, from a linear time model per format fitted
 * to measurements of the wasm SIMD kernels (see COSTS for how).
 */
import { BLOCK, type MatrixShape, STORAGE_FORMATS, type StorageFormat } from './storage.js';

/** Vectors (of 4 columns) a CSR pass and a block pass keep in registers (assembly/sparse.ts). */
const CSR_PASS_VECTORS = 8;
const BLOCK_PASS_VECTORS = 2;

/**
 * Nanoseconds per unit of work, for the multi-column kernels (columns ≥ 2) and the single-column
 * ones (columns = 1, a matrix-vector product). Units: `row` = an output row (csr) or block row
 * (dense, bsr) per pass over the columns; `entry` = a stored weight (csr) or block per pass;
 * `vector` = a stored weight or block times 4 columns.
 */
interface FormatCost {
  call: number;
  row: number;
  entry: number;
  vector: number;
}

/**
 * Fitted by `node dist/bench/runtime.js --calibrate` (bench/runtime.ts, calibrateCostModel):
 * random matrices of 32–2048 rows and columns at 2–100% density (uniform, and in 4×4 blocks), at
 * 1, 4, 8, 24, 96 and 768 columns; median time per call of the wasm kernels after warm-up, and a
 * least-squares fit of each format's four constants. Measured on the project machine (2 vCPU AMD
 * EPYC, Node 20), single-threaded.
 */
export const COSTS: Record<'columns' | 'vector', Record<StorageFormat, FormatCost>> = {
  columns: {
    dense: { call: 100, row: 5, entry: 1, vector: 2 },
    csr: { call: 100, row: 2, entry: 0.5, vector: 0.3 },
    bsr: { call: 100, row: 5, entry: 1.5, vector: 2 },
  },
  vector: {
    dense: { call: 100, row: 5, entry: 1, vector: 0 },
    csr: { call: 100, row: 2, entry: 0.5, vector: 0 },
    bsr: { call: 100, row: 5, entry: 1.5, vector: 0 },
  },
};

/** Work of one product in the model's units. */
export function workUnits(
  format: StorageFormat,
  shape: MatrixShape,
  columns: number,
): Omit<FormatCost, 'call'> {
  const vectors = columns === 1 ? 1 : Math.ceil(columns / 4);
  const blockRows = Math.ceil(shape.rows / BLOCK);
  if (format === 'csr') {
    const passes = columns === 1 ? 1 : Math.ceil(vectors / CSR_PASS_VECTORS);
    return { row: shape.rows * passes, entry: shape.nonzeros * passes, vector: shape.nonzeros * vectors };
  }
  const blocks = format === 'dense' ? blockRows * Math.ceil(shape.cols / BLOCK) : shape.blocks;
  const passes = columns === 1 ? 1 : Math.ceil(vectors / BLOCK_PASS_VECTORS);
  return { row: blockRows * passes, entry: blocks * passes, vector: blocks * vectors };
}

/** Predicted nanoseconds of one product y = Wᵀ·x over `columns` columns. */
export function estimateNanos(format: StorageFormat, shape: MatrixShape, columns: number): number {
  const cost = COSTS[columns === 1 ? 'vector' : 'columns'][format];
  const units = workUnits(format, shape, columns);
  return cost.call + cost.row * units.row + cost.entry * units.entry + cost.vector * units.vector;
}

/** The format predicted fastest; ties go to the earlier of dense, csr, bsr (the simpler storage). */
export function chooseFormat(shape: MatrixShape, columns: number): StorageFormat {
  let best = STORAGE_FORMATS[0];
  for (const format of STORAGE_FORMATS) {
    if (estimateNanos(format, shape, columns) < estimateNanos(best, shape, columns)) best = format;
  }
  return best;
}
