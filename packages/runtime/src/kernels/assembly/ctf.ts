// The coarse-to-fine (CTF) pruning mask ψ(W) and its gradient, fused (the math is in
// src/prune/ctf.ts of the toolkit). W [rows, cols] is tiled into blockRows × blockCols blocks of
// rowsPerBlock × colsPerBlock; with x = W² and φ(v) = tanh(gain·v) the factors are
//   entry e_ij = φ(x_ij), row R_i = φ(mean_j x_ij), column C_j = φ(mean_i x_ij), block B_b = φ(mean_b x)
// and ψ = e·B·R·C (full), e (fine) or B·R·C (coarse).
//
// Each direction is two passes. A statistics pass walks the whole matrix once, row by row and
// vectorised across columns: a row's sum by horizontal add, and per column the sum over the current
// block row, which at the end of the block row is added into the column sums and reduced over each
// block's columns into the block sums (the backward weights both by the factors they multiply). An
// element-wise pass over a row range then needs per element only a row scalar and column-vector
// entries: the block and column terms are expanded once per block row into scratch (B·C, and in the
// backward also the block and column gradient terms summed), so a row is one straight SIMD loop.
// Pointers are byte addresses; sizes, rows and columns are in elements.
import { horizontalSum, loadChunk, storeChunk, tanhV } from './math';

// Variant codes, shared with wasm.ts.
const FULL = 0;
const FINE = 1;
const COARSE = 2;

// How expand() combines a block's value b with a column vector entry v.
const PRODUCT = 1;
const SUM = 2;

/** dst[j] = 0 for j < n. */
@inline
function clear(dst: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(dst + <usize>j * 4, zero);
  if (j < n) storeChunk(dst + <usize>j * 4, zero, n - j);
}

/**
 * dst[j] = blocks[j / colsPerBlock] combined with src[j] (mode PRODUCT: times src[j], SUM: plus
 * src[j]), for the blockCols · colsPerBlock columns of one block row.
 */
@inline
function expand(mode: i32, blocks: usize, src: usize, dst: usize, blockCols: i32, colsPerBlock: i32): void {
  // Blocks of whole vectors (the common 4-column blocks) take a branch-free loop.
  if ((colsPerBlock & 3) == 0) expandBlocks(mode, true, blocks, src, dst, blockCols, colsPerBlock);
  else expandBlocks(mode, false, blocks, src, dst, blockCols, colsPerBlock);
}

@inline
function expandBlocks(
  mode: i32,
  wholeVectors: bool,
  blocks: usize,
  src: usize,
  dst: usize,
  blockCols: i32,
  colsPerBlock: i32,
): void {
  let offset: usize = 0;
  for (let bj = 0; bj < blockCols; bj++) {
    const b = v128.load32_splat(blocks + <usize>bj * 4);
    for (let k = 0; k < colsPerBlock; k += 4) {
      const count = wholeVectors ? 4 : min(4, colsPerBlock - k);
      const v = loadChunk(src + offset, count);
      storeChunk(dst + offset, mode == PRODUCT ? f32x4.mul(b, v) : f32x4.add(b, v), count);
      offset += <usize>count * 4;
    }
  }
}

/**
 * Ends one block row of a statistics pass from its per-column sums `partial`: cols[j] += b·partial[j]
 * and blocks[bj] = Σ over the columns j of block column bj of c[j]·partial[j], where b is the block's
 * entry in `blockWeights` and c[j] the entry of `colWeights` when `weighted`, else both are 1.
 */
@inline
function finishBlockRow(
  weighted: bool,
  partial: usize,
  cols: usize,
  blocks: usize,
  blockWeights: usize,
  colWeights: usize,
  blockCols: i32,
  colsPerBlock: i32,
): void {
  if (colsPerBlock == 4) {
    // Four blocks of one vector each at a time, their sums by a transposing add.
    let bj = 0;
    for (; bj + 4 <= blockCols; bj += 4) {
      const p = partial + <usize>bj * 16;
      const c = cols + <usize>bj * 16;
      const b = blockWeights + <usize>bj * 4;
      const w = colWeights + <usize>bj * 16;
      const t0 = finishVector(weighted, p, c, b, w);
      const t1 = finishVector(weighted, p + 16, c + 16, b + 4, w + 16);
      const t2 = finishVector(weighted, p + 32, c + 32, b + 8, w + 32);
      const t3 = finishVector(weighted, p + 48, c + 48, b + 12, w + 48);
      v128.store(blocks + <usize>bj * 4, sumsOfFour(t0, t1, t2, t3));
    }
    const offset = <usize>bj * 16;
    const at = <usize>bj * 4;
    finishBlocks(
      weighted, true, partial + offset, cols + offset, blocks + at, blockWeights + at, colWeights + offset,
      blockCols - bj, 4
    );
  } else if ((colsPerBlock & 3) == 0) {
    finishBlocks(weighted, true, partial, cols, blocks, blockWeights, colWeights, blockCols, colsPerBlock);
  } else {
    finishBlocks(weighted, false, partial, cols, blocks, blockWeights, colWeights, blockCols, colsPerBlock);
  }
}

/** [Σ lanes of t0, Σ t1, Σ t2, Σ t3]. */
@inline
function sumsOfFour(t0: v128, t1: v128, t2: v128, t3: v128): v128 {
  const a = f32x4.add(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  const b = f32x4.add(v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
  return f32x4.add(v128.shuffle<f32>(a, b, 0, 2, 4, 6), v128.shuffle<f32>(a, b, 1, 3, 5, 7));
}

/** finishBlockRow for one vector of partial sums in one block: updates cols, returns the terms to sum. */
@inline
function finishVector(
  weighted: bool,
  partial: usize,
  cols: usize,
  blockWeight: usize,
  colWeights: usize,
): v128 {
  const v = v128.load(partial);
  if (!weighted) {
    v128.store(cols, f32x4.add(v128.load(cols), v));
    return v;
  }
  v128.store(cols, f32x4.add(v128.load(cols), f32x4.mul(v128.load32_splat(blockWeight), v)));
  return f32x4.mul(v128.load(colWeights), v);
}

@inline
function finishBlocks(
  weighted: bool,
  wholeVectors: bool,
  partial: usize,
  cols: usize,
  blocks: usize,
  blockWeights: usize,
  colWeights: usize,
  blockCols: i32,
  colsPerBlock: i32,
): void {
  let offset: usize = 0;
  for (let bj = 0; bj < blockCols; bj++) {
    const b = weighted ? v128.load32_splat(blockWeights + <usize>bj * 4) : f32x4.splat(1);
    let acc = f32x4.splat(0);
    for (let k = 0; k < colsPerBlock; k += 4) {
      const count = wholeVectors ? 4 : min(4, colsPerBlock - k);
      const v = loadChunk(partial + offset, count);
      const col = cols + offset;
      storeChunk(col, f32x4.add(loadChunk(col, count), weighted ? f32x4.mul(b, v) : v), count);
      acc = f32x4.add(acc, weighted ? f32x4.mul(loadChunk(colWeights + offset, count), v) : v);
      offset += <usize>count * 4;
    }
    store<f32>(blocks + <usize>bj * 4, horizontalSum(acc));
  }
}

/** v[i] = tanh(gain · (v[i] · inverseCount)): sums become factors. */
@inline
function toFactors(v: usize, n: i32, inverseCount: f32, gain: f32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) factorStep(4, v + <usize>i * 4, inverseCount, gain);
  if (i < n) factorStep(n - i, v + <usize>i * 4, inverseCount, gain);
}

@inline
function factorStep(count: i32, p: usize, inverseCount: f32, gain: f32): void {
  const mean = f32x4.mul(loadChunk(p, count), f32x4.splat(inverseCount));
  storeChunk(p, tanhV(f32x4.mul(mean, f32x4.splat(gain))), count);
}

/** d[i] = gain · (1 − f[i]²) · (d[i] · inverseCount): a factor's gradient becomes its mean's. */
@inline
function toCoefficients(d: usize, f: usize, n: i32, inverseCount: f32, gain: f32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) coefficientStep(4, d + <usize>i * 4, f + <usize>i * 4, inverseCount, gain);
  if (i < n) coefficientStep(n - i, d + <usize>i * 4, f + <usize>i * 4, inverseCount, gain);
}

@inline
function coefficientStep(count: i32, d: usize, f: usize, inverseCount: f32, gain: f32): void {
  const factor = loadChunk(f, count);
  const slope = f32x4.mul(f32x4.splat(gain), f32x4.sub(f32x4.splat(1), f32x4.mul(factor, factor)));
  storeChunk(d, f32x4.mul(slope, f32x4.mul(loadChunk(d, count), f32x4.splat(inverseCount))), count);
}

/**
 * The factors R (rows), C (cols) and B (blockRows · blockCols) of ψ from w, whole matrix; nothing
 * for FINE, which has none. scratch: cols floats.
 */
export function ctfMaskStats(
  blockRows: i32,
  rowsPerBlock: i32,
  blockCols: i32,
  colsPerBlock: i32,
  gain: f32,
  variant: i32,
  w: usize,
  rowFactor: usize,
  colFactor: usize,
  blockFactor: usize,
  scratch: usize,
): void {
  if (variant == FINE) return;
  const rows = blockRows * rowsPerBlock;
  const cols = blockCols * colsPerBlock;
  clear(colFactor, cols);
  let row = w;
  for (let bi = 0; bi < blockRows; bi++) {
    clear(scratch, cols);
    for (let r = 0; r < rowsPerBlock; r++) {
      // Two accumulators, so consecutive vectors do not wait on each other's add.
      let acc = f32x4.splat(0);
      let acc1 = acc;
      let j = 0;
      for (; j + 8 <= cols; j += 8) {
        acc = squareStep(4, row + <usize>j * 4, scratch + <usize>j * 4, acc);
        acc1 = squareStep(4, row + <usize>j * 4 + 16, scratch + <usize>j * 4 + 16, acc1);
      }
      for (; j < cols; j += 4) {
        acc = squareStep(min(4, cols - j), row + <usize>j * 4, scratch + <usize>j * 4, acc);
      }
      store<f32>(rowFactor + <usize>(bi * rowsPerBlock + r) * 4, horizontalSum(f32x4.add(acc, acc1)));
      row += <usize>cols * 4;
    }
    finishBlockRow(
      false, scratch, colFactor, blockFactor + <usize>(bi * blockCols) * 4, 0, 0, blockCols, colsPerBlock
    );
  }
  toFactors(rowFactor, rows, 1 / <f32>cols, gain);
  toFactors(colFactor, cols, 1 / <f32>rows, gain);
  toFactors(blockFactor, blockRows * blockCols, 1 / <f32>(rowsPerBlock * colsPerBlock), gain);
}

/**
 * One chunk of the forward statistics, x = w²: partial (the block row's column sums) += x; returns
 * acc + x.
 */
@inline
function squareStep(count: i32, w: usize, partial: usize, acc: v128): v128 {
  const v = loadChunk(w, count);
  const x = f32x4.mul(v, v);
  storeChunk(partial, f32x4.add(loadChunk(partial, count), x), count);
  return f32x4.add(acc, x);
}

/**
 * ψ of rows [rowStart, rowEnd) from w and the factors of ctfMaskStats, and for FULL the entry
 * factor e into `entry` unless it is 0. variant: 0 full, 1 fine, 2 coarse (fine reads no factors,
 * coarse no w). scratch: cols floats.
 */
export function ctfMask(
  blockRows: i32,
  rowsPerBlock: i32,
  blockCols: i32,
  colsPerBlock: i32,
  gain: f32,
  variant: i32,
  w: usize,
  rowFactor: usize,
  colFactor: usize,
  blockFactor: usize,
  scratch: usize,
  psi: usize,
  entry: usize,
  rowStart: i32,
  rowEnd: i32,
): void {
  if (variant == FULL && entry != 0) {
    maskRows(
      FULL, true, rowsPerBlock, blockCols, colsPerBlock, gain, w, rowFactor, colFactor, blockFactor, scratch,
      psi, entry, rowStart, rowEnd
    );
  } else if (variant == FULL) {
    maskRows(
      FULL, false, rowsPerBlock, blockCols, colsPerBlock, gain, w, rowFactor, colFactor, blockFactor,
      scratch, psi, entry, rowStart, rowEnd
    );
  } else if (variant == FINE) {
    maskRows(
      FINE, false, rowsPerBlock, blockCols, colsPerBlock, gain, w, rowFactor, colFactor, blockFactor,
      scratch, psi, entry, rowStart, rowEnd
    );
  } else {
    maskRows(
      COARSE, false, rowsPerBlock, blockCols, colsPerBlock, gain, w, rowFactor, colFactor, blockFactor,
      scratch, psi, entry, rowStart, rowEnd
    );
  }
}

@inline
function maskRows(
  variant: i32,
  storeEntry: bool,
  rowsPerBlock: i32,
  blockCols: i32,
  colsPerBlock: i32,
  gain: f32,
  w: usize,
  rowFactor: usize,
  colFactor: usize,
  blockFactor: usize,
  scratch: usize,
  psi: usize,
  entry: usize,
  rowStart: i32,
  rowEnd: i32,
): void {
  const cols = blockCols * colsPerBlock;
  const g = f32x4.splat(gain);
  let row = f32x4.splat(1);
  for (let i = rowStart; i < rowEnd; i++) {
    if (variant != FINE) {
      // scratch[j] = B·C_j of this block row.
      if (i == rowStart || i % rowsPerBlock == 0) {
        const blocks = blockFactor + <usize>((i / rowsPerBlock) * blockCols) * 4;
        expand(PRODUCT, blocks, colFactor, scratch, blockCols, colsPerBlock);
      }
      row = v128.load32_splat(rowFactor + <usize>i * 4);
    }
    const base = <usize>i * <usize>cols * 4;
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const s = <usize>j * 4;
      maskStep(variant, storeEntry, 4, w + base + s, scratch + s, psi + base + s, entry + base + s, row, g);
    }
    if (j < cols) {
      const s = <usize>j * 4;
      maskStep(
        variant, storeEntry, cols - j, w + base + s, scratch + s, psi + base + s, entry + base + s, row, g
      );
    }
  }
}

/** ψ of min(count, 4) elements; bc points at B·C of their columns, row is R_i splatted. */
@inline
function maskStep(
  variant: i32,
  storeEntry: bool,
  count: i32,
  w: usize,
  bc: usize,
  psi: usize,
  entry: usize,
  row: v128,
  g: v128,
): void {
  let result: v128;
  if (variant == COARSE) {
    result = f32x4.mul(loadChunk(bc, count), row);
  } else {
    const v = loadChunk(w, count);
    const e = tanhV(f32x4.mul(f32x4.mul(v, v), g));
    if (variant == FINE) {
      result = e;
    } else {
      if (storeEntry) storeChunk(entry, e, count);
      result = f32x4.mul(e, f32x4.mul(loadChunk(bc, count), row));
    }
  }
  storeChunk(psi, result, count);
}

/**
 * Backward statistics (FULL and COARSE; FINE has none): from the output gradient g and, for FULL,
 * the entry factor, the gradient each mean receives per element of its group, into rowGrad (rows),
 * colGrad (cols) and blockGrad (blockRows · blockCols):
 *   rowGrad_i = gain·(1 − R_i²) · Σ_j g_ij·e_ij·B_b·C_j / cols, likewise for columns (÷ rows) and
 *   blocks (÷ rowsPerBlock · colsPerBlock). scratch: 2 · cols floats.
 */
export function ctfMaskBackwardStats(
  blockRows: i32,
  rowsPerBlock: i32,
  blockCols: i32,
  colsPerBlock: i32,
  gain: f32,
  variant: i32,
  g: usize,
  entry: usize,
  rowFactor: usize,
  colFactor: usize,
  blockFactor: usize,
  rowGrad: usize,
  colGrad: usize,
  blockGrad: usize,
  scratch: usize,
): void {
  if (variant == FULL) {
    gradStats(
      true, blockRows, rowsPerBlock, blockCols, colsPerBlock, g, entry, rowFactor, colFactor, blockFactor,
      rowGrad, colGrad, blockGrad, scratch
    );
  } else if (variant == COARSE) {
    gradStats(
      false, blockRows, rowsPerBlock, blockCols, colsPerBlock, g, entry, rowFactor, colFactor, blockFactor,
      rowGrad, colGrad, blockGrad, scratch
    );
  } else {
    return;
  }
  const rows = blockRows * rowsPerBlock;
  const cols = blockCols * colsPerBlock;
  toCoefficients(rowGrad, rowFactor, rows, 1 / <f32>cols, gain);
  toCoefficients(colGrad, colFactor, cols, 1 / <f32>rows, gain);
  toCoefficients(blockGrad, blockFactor, blockRows * blockCols, 1 / <f32>(rowsPerBlock * colsPerBlock), gain);
}

/** The raw sums of ctfMaskBackwardStats: Σ g·∂ψ/∂F for every row, column and block factor F. */
@inline
function gradStats(
  useEntry: bool,
  blockRows: i32,
  rowsPerBlock: i32,
  blockCols: i32,
  colsPerBlock: i32,
  g: usize,
  entry: usize,
  rowFactor: usize,
  colFactor: usize,
  blockFactor: usize,
  rowGrad: usize,
  colGrad: usize,
  blockGrad: usize,
  scratch: usize,
): void {
  const cols = blockCols * colsPerBlock;
  const bc = scratch;
  const partial = scratch + <usize>cols * 4;
  clear(colGrad, cols);
  let base: usize = 0;
  let i = 0;
  for (let bi = 0; bi < blockRows; bi++) {
    const blocks = <usize>(bi * blockCols) * 4;
    expand(PRODUCT, blockFactor + blocks, colFactor, bc, blockCols, colsPerBlock);
    clear(partial, cols);
    for (let r = 0; r < rowsPerBlock; r++) {
      const row = v128.load32_splat(rowFactor + <usize>i * 4);
      let acc = f32x4.splat(0);
      let acc1 = acc;
      let j = 0;
      for (; j + 8 <= cols; j += 8) {
        const s = <usize>j * 4;
        acc = gradStatsStep(useEntry, 4, g + base + s, entry + base + s, bc + s, partial + s, row, acc);
        const t = s + 16;
        acc1 = gradStatsStep(useEntry, 4, g + base + t, entry + base + t, bc + t, partial + t, row, acc1);
      }
      for (; j < cols; j += 4) {
        const s = <usize>j * 4;
        acc = gradStatsStep(
          useEntry, min(4, cols - j), g + base + s, entry + base + s, bc + s, partial + s, row, acc
        );
      }
      store<f32>(rowGrad + <usize>i * 4, horizontalSum(f32x4.add(acc, acc1)));
      base += <usize>cols * 4;
      i++;
    }
    // Σ_i q·R per column, weighted by B for the columns and by C for the blocks.
    finishBlockRow(
      true, partial, colGrad, blockGrad + blocks, blockFactor + blocks, colFactor, blockCols, colsPerBlock
    );
  }
}

/**
 * One chunk of the backward statistics, q = g·e (g alone for COARSE): partial (this block row's
 * per-column sums) += q·R; returns acc + q·B·C (the row's sum).
 */
@inline
function gradStatsStep(
  useEntry: bool,
  count: i32,
  g: usize,
  e: usize,
  bc: usize,
  partial: usize,
  row: v128,
  acc: v128,
): v128 {
  let q = loadChunk(g, count);
  if (useEntry) q = f32x4.mul(q, loadChunk(e, count));
  storeChunk(partial, f32x4.add(loadChunk(partial, count), f32x4.mul(q, row)), count);
  return f32x4.add(acc, f32x4.mul(q, loadChunk(bc, count)));
}

/**
 * dw of rows [rowStart, rowEnd): 2w · (g·∂ψ/∂e·gain·(1 − e²) + rowGrad_i + colGrad_j + blockGrad_b)
 * with the coefficients of ctfMaskBackwardStats (FINE: the entry term alone, COARSE: no entry
 * term). entry: e for FULL, ψ itself for FINE, unused for COARSE. scratch: 2 · cols floats.
 */
export function ctfMaskBackward(
  blockRows: i32,
  rowsPerBlock: i32,
  blockCols: i32,
  colsPerBlock: i32,
  gain: f32,
  variant: i32,
  g: usize,
  entry: usize,
  w: usize,
  rowFactor: usize,
  colFactor: usize,
  blockFactor: usize,
  rowGrad: usize,
  colGrad: usize,
  blockGrad: usize,
  scratch: usize,
  dw: usize,
  rowStart: i32,
  rowEnd: i32,
): void {
  if (variant == FULL) {
    gradRows(
      FULL, rowsPerBlock, blockCols, colsPerBlock, gain, g, entry, w, rowFactor, colFactor, blockFactor,
      rowGrad, colGrad, blockGrad, scratch, dw, rowStart, rowEnd
    );
  } else if (variant == FINE) {
    gradRows(
      FINE, rowsPerBlock, blockCols, colsPerBlock, gain, g, entry, w, rowFactor, colFactor, blockFactor,
      rowGrad, colGrad, blockGrad, scratch, dw, rowStart, rowEnd
    );
  } else {
    gradRows(
      COARSE, rowsPerBlock, blockCols, colsPerBlock, gain, g, entry, w, rowFactor, colFactor, blockFactor,
      rowGrad, colGrad, blockGrad, scratch, dw, rowStart, rowEnd
    );
  }
}

@inline
function gradRows(
  variant: i32,
  rowsPerBlock: i32,
  blockCols: i32,
  colsPerBlock: i32,
  gain: f32,
  g: usize,
  entry: usize,
  w: usize,
  rowFactor: usize,
  colFactor: usize,
  blockFactor: usize,
  rowGrad: usize,
  colGrad: usize,
  blockGrad: usize,
  scratch: usize,
  dw: usize,
  rowStart: i32,
  rowEnd: i32,
): void {
  const cols = blockCols * colsPerBlock;
  const bc = scratch;
  const terms = scratch + <usize>cols * 4;
  const gv = f32x4.splat(gain);
  let row = f32x4.splat(1);
  let rowTerm = f32x4.splat(0);
  for (let i = rowStart; i < rowEnd; i++) {
    if (variant != FINE) {
      // bc[j] = B·C_j and terms[j] = blockGrad_b + colGrad_j of this block row.
      if (i == rowStart || i % rowsPerBlock == 0) {
        const blocks = <usize>((i / rowsPerBlock) * blockCols) * 4;
        if (variant == FULL) expand(PRODUCT, blockFactor + blocks, colFactor, bc, blockCols, colsPerBlock);
        expand(SUM, blockGrad + blocks, colGrad, terms, blockCols, colsPerBlock);
      }
      row = v128.load32_splat(rowFactor + <usize>i * 4);
      rowTerm = v128.load32_splat(rowGrad + <usize>i * 4);
    }
    const base = <usize>i * <usize>cols * 4;
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const s = <usize>j * 4;
      const o = base + s;
      gradStep(variant, 4, g + o, entry + o, w + o, bc + s, terms + s, dw + o, row, rowTerm, gv);
    }
    if (j < cols) {
      const s = <usize>j * 4;
      const o = base + s;
      gradStep(variant, cols - j, g + o, entry + o, w + o, bc + s, terms + s, dw + o, row, rowTerm, gv);
    }
  }
}

/** dw of min(count, 4) elements. */
@inline
function gradStep(
  variant: i32,
  count: i32,
  g: usize,
  e: usize,
  w: usize,
  bc: usize,
  terms: usize,
  dw: usize,
  row: v128,
  rowTerm: v128,
  gain: v128,
): void {
  let d: v128;
  if (variant == COARSE) {
    d = f32x4.add(loadChunk(terms, count), rowTerm);
  } else {
    const ev = loadChunk(e, count);
    const slope = f32x4.mul(gain, f32x4.sub(f32x4.splat(1), f32x4.mul(ev, ev)));
    d = f32x4.mul(loadChunk(g, count), slope);
    if (variant == FULL) {
      d = f32x4.add(
        f32x4.mul(d, f32x4.mul(loadChunk(bc, count), row)), f32x4.add(loadChunk(terms, count), rowTerm)
      );
    }
  }
  const wv = loadChunk(w, count);
  storeChunk(dw, f32x4.mul(f32x4.add(wv, wv), d), count);
}
