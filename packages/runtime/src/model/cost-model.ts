/**
 * Which storage format runs a product y = Wᵀ·x fastest, from a linear time model per format and
 * kernel regime fitted to measurements of the wasm SIMD kernels (see COSTS for how).
 */
import { denseProductUsesGemm } from '../kernels/wasm.js';
import { BLOCK, type MatrixShape, STORAGE_FORMATS, type StorageFormat } from './storage.js';

/**
 * Vectors (of 4 columns) a CSR pass and a block pass keep in registers: MAX_VECTORS and the block
 * passes of assembly/sparse.ts.
 */
const CSR_PASS_VECTORS = 7;
const BLOCK_PASS_VECTORS = 2;

/**
 * Nanoseconds per call and per unit of work. Units: `row` = an output row (csr) or block row (dense,
 * bsr) per pass over the columns; `entry` = a stored weight (csr) or 4×4 block (dense: all of them)
 * per pass; `vector` = a stored weight or block times 4 columns.
 */
export interface FormatCost {
  call: number;
  row: number;
  entry: number;
  vector: number;
}

/**
 * The kernels' regimes: `vector` one column (a matrix-vector product, vectorised along the
 * reduction), `columns` 2 or more columns (vectorised along them), `gemm` a dense product large
 * enough for the packed gemm (kernels/wasm.ts denseProductUsesGemm).
 */
export type CostRegime = 'vector' | 'columns' | 'gemm';

export function costRegime(format: StorageFormat, shape: MatrixShape, columns: number): CostRegime {
  if (columns === 1) return 'vector';
  const blocks = (n: number) => Math.ceil(n / BLOCK);
  return format === 'dense' && denseProductUsesGemm(blocks(shape.rows), blocks(shape.cols), columns)
    ? 'gemm'
    : 'columns';
}

/**
 * Fitted by `node dist/bench/runtime.js --calibrate` (bench/runtime.ts calibrateCostModel): random
 * matrices of 24×64, 96×512 and 512×1408 at 2–100% density, uniform and in 4×4 blocks, at 1, 4, 8,
 * 24, 32, 96 and 768 columns (batch 1: 24 node columns, 1 FC column; batch 32: 768 and 32); the
 * 25th-percentile time per call of the wasm kernels after warm-up, single-threaded, and a
 * non-negative least-squares fit of relative error per format and regime (median error 4–17%, worst
 * 30–67%: enough to separate formats, which differ by 2–5× where it matters). Measured on the
 * project machine (2 vCPU AMD EPYC at 2.45 GHz, Node 20, shared with other jobs).
 */
export const COSTS: Record<CostRegime, Partial<Record<StorageFormat, FormatCost>>> = {
  vector: {
    dense: { call: 52.3, row: 0, entry: 1.5, vector: 0 },
    csr: { call: 23.6, row: 4.04, entry: 0.411, vector: 0 },
    bsr: { call: 34.5, row: 2.89, entry: 1.44, vector: 0 },
  },
  columns: {
    dense: { call: 0, row: 10.9, entry: 3.82, vector: 2.75 },
    csr: { call: 0, row: 3.09, entry: 0.313, vector: 0.406 },
    bsr: { call: 2.77, row: 7.66, entry: 4.2, vector: 3.03 },
  },
  gemm: {
    dense: { call: 0, row: 0, entry: 0, vector: 4.44 },
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
  const cost = COSTS[costRegime(format, shape, columns)][format]!;
  const units = workUnits(format, shape, columns);
  return cost.call + cost.row * units.row + cost.entry * units.entry + cost.vector * units.vector;
}

/** Predictions this close to the fastest count as ties: below the model's error. */
const TIE = 1.05;

/**
 * The format predicted fastest, preferring the simpler storage (dense, then csr, then bsr) among
 * those within 5% of it: a fully dense matrix stays dense rather than becoming bsr with every block.
 */
export function chooseFormat(shape: MatrixShape, columns: number): StorageFormat {
  return STORAGE_FORMATS.find((format) => withinTie(format, shape, columns))!;
}

/** Whether `format` is predicted within the tie margin of the fastest format. */
function withinTie(format: StorageFormat, shape: MatrixShape, columns: number): boolean {
  const fastest = Math.min(...STORAGE_FORMATS.map((f) => estimateNanos(f, shape, columns)));
  return estimateNanos(format, shape, columns) <= TIE * fastest;
}

/**
 * The format a product over `columns` columns should run in when its weight is stored as `stored`:
 * the stored one unless another is predicted faster beyond the tie margin (a conversion must pay).
 */
export function preferredFormat(shape: MatrixShape, columns: number, stored: StorageFormat): StorageFormat {
  return withinTie(stored, shape, columns) ? stored : chooseFormat(shape, columns);
}
