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
// The masked-weight variants (ctfMaskedWeight*) fuse the effective weight w·ψ and each row's Σψ into
// the forward element pass, and take the gradient of ψ as g·w + massGrad (g that of w·ψ, massGrad
// that of Σψ) in the backward ones, whose element pass also adds g·ψ.
// Pointers are byte addresses; sizes, rows and columns are in elements.
import { horizontalSum, loadChunk, storeChunk, tanhV } from './math';

// Variant codes, shared with wasm.ts.
const FULL = 0;
const FINE = 1;
const COARSE = 2;

// How expand() combines a block's value b with a column vector entry v.
const PRODUCT = 1;
const SUM = 2;

// Where a backward pass takes the gradient dψ of ψ from.
/** g is dψ (ctfMask). */
const PSI_GRAD = 0;
/** g is the gradient of w·ψ: dψ = g·w + massGrad (ctfMaskedWeight). */
const WEIGHT_GRAD = 1;
/** No g: dψ = massGrad (ctfMaskedWeight whose w·ψ got no gradient). */
const MASS_GRAD = 2;

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
      FULL, true, false, rowsPerBlock, blockCols, colsPerBlock, gain, w, rowFactor, colFactor, blockFactor,
      scratch, psi, entry, 0, rowStart, rowEnd
    );
  } else if (variant == FULL) {
    maskRows(
      FULL, false, false, rowsPerBlock, blockCols, colsPerBlock, gain, w, rowFactor, colFactor, blockFactor,
      scratch, psi, entry, 0, rowStart, rowEnd
    );
  } else if (variant == FINE) {
    maskRows(
      FINE, false, false, rowsPerBlock, blockCols, colsPerBlock, gain, w, rowFactor, colFactor, blockFactor,
      scratch, psi, entry, 0, rowStart, rowEnd
    );
  } else {
    maskRows(
      COARSE, false, false, rowsPerBlock, blockCols, colsPerBlock, gain, w, rowFactor, colFactor, blockFactor,
      scratch, psi, entry, 0, rowStart, rowEnd
    );
  }
}

/**
 * The effective weight w·ψ of rows [rowStart, rowEnd) into `out`, and each row's Σ_j ψ_ij into
 * rowSums[i], from w and the factors of ctfMaskStats; for FULL and FINE also the entry factor e into
 * `entry` unless it is 0 (what ctfMaskedWeightBackward reads). scratch: cols floats.
 */
export function ctfMaskedWeight(
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
  out: usize,
  entry: usize,
  rowSums: usize,
  rowStart: i32,
  rowEnd: i32,
): void {
  if (variant == FULL && entry != 0) {
    maskRows(
      FULL, true, true, rowsPerBlock, blockCols, colsPerBlock, gain, w, rowFactor, colFactor, blockFactor,
      scratch, out, entry, rowSums, rowStart, rowEnd
    );
  } else if (variant == FULL) {
    maskRows(
      FULL, false, true, rowsPerBlock, blockCols, colsPerBlock, gain, w, rowFactor, colFactor, blockFactor,
      scratch, out, entry, rowSums, rowStart, rowEnd
    );
  } else if (variant == FINE && entry != 0) {
    maskRows(
      FINE, true, true, rowsPerBlock, blockCols, colsPerBlock, gain, w, rowFactor, colFactor, blockFactor,
      scratch, out, entry, rowSums, rowStart, rowEnd
    );
  } else if (variant == FINE) {
    maskRows(
      FINE, false, true, rowsPerBlock, blockCols, colsPerBlock, gain, w, rowFactor, colFactor, blockFactor,
      scratch, out, entry, rowSums, rowStart, rowEnd
    );
  } else {
    maskRows(
      COARSE, false, true, rowsPerBlock, blockCols, colsPerBlock, gain, w, rowFactor, colFactor, blockFactor,
      scratch, out, entry, rowSums, rowStart, rowEnd
    );
  }
}

/** ψ (or, when `masked`, w·ψ and the row sums of ψ) of rows [rowStart, rowEnd) into `out`. */
@inline
function maskRows(
  variant: i32,
  storeEntry: bool,
  masked: bool,
  rowsPerBlock: i32,
  blockCols: i32,
  colsPerBlock: i32,
  gain: f32,
  w: usize,
  rowFactor: usize,
  colFactor: usize,
  blockFactor: usize,
  scratch: usize,
  out: usize,
  entry: usize,
  rowSums: usize,
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
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const s = <usize>j * 4;
      const o = base + s;
      acc = maskStep(variant, storeEntry, masked, 4, w + o, scratch + s, out + o, entry + o, row, g, acc);
    }
    if (j < cols) {
      const s = <usize>j * 4;
      const o = base + s;
      acc = maskStep(variant, storeEntry, masked, cols - j, w + o, scratch + s, out + o, entry + o, row, g, acc);
    }
    if (masked) store<f32>(rowSums + <usize>i * 4, horizontalSum(acc));
  }
}

/**
 * ψ of min(count, 4) elements (w·ψ when `masked`); bc points at B·C of their columns, row is R_i
 * splatted. Returns acc + ψ when `masked` (lanes past count add 0: their w and bc load as 0).
 */
@inline
function maskStep(
  variant: i32,
  storeEntry: bool,
  masked: bool,
  count: i32,
  w: usize,
  bc: usize,
  out: usize,
  entry: usize,
  row: v128,
  g: v128,
  acc: v128,
): v128 {
  let psi: v128;
  const v = variant != COARSE || masked ? loadChunk(w, count) : f32x4.splat(0);
  if (variant == COARSE) {
    psi = f32x4.mul(loadChunk(bc, count), row);
  } else {
    const e = tanhV(f32x4.mul(f32x4.mul(v, v), g));
    if (storeEntry) storeChunk(entry, e, count);
    psi = variant == FINE ? e : f32x4.mul(e, f32x4.mul(loadChunk(bc, count), row));
  }
  if (!masked) {
    storeChunk(out, psi, count);
    return acc;
  }
  storeChunk(out, f32x4.mul(v, psi), count);
  return f32x4.add(acc, psi);
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
  backwardStats(
    PSI_GRAD, blockRows, rowsPerBlock, blockCols, colsPerBlock, gain, variant, g, 0, 0, entry, rowFactor,
    colFactor, blockFactor, rowGrad, colGrad, blockGrad, scratch
  );
}

/**
 * ctfMaskBackwardStats for the effective weight w·ψ of ctfMaskedWeight: the gradient of ψ is
 * g·w + massGrad, from the gradient g of w·ψ (0: none, the gradient of ψ is massGrad alone) and
 * massGrad, the gradient of Σψ. entry: e for FULL, unused for COARSE.
 */
export function ctfMaskedWeightBackwardStats(
  blockRows: i32,
  rowsPerBlock: i32,
  blockCols: i32,
  colsPerBlock: i32,
  gain: f32,
  variant: i32,
  g: usize,
  massGrad: f32,
  w: usize,
  entry: usize,
  rowFactor: usize,
  colFactor: usize,
  blockFactor: usize,
  rowGrad: usize,
  colGrad: usize,
  blockGrad: usize,
  scratch: usize,
): void {
  if (g != 0) {
    backwardStats(
      WEIGHT_GRAD, blockRows, rowsPerBlock, blockCols, colsPerBlock, gain, variant, g, massGrad, w, entry,
      rowFactor, colFactor, blockFactor, rowGrad, colGrad, blockGrad, scratch
    );
  } else {
    backwardStats(
      MASS_GRAD, blockRows, rowsPerBlock, blockCols, colsPerBlock, gain, variant, g, massGrad, w, entry,
      rowFactor, colFactor, blockFactor, rowGrad, colGrad, blockGrad, scratch
    );
  }
}

@inline
function backwardStats(
  source: i32,
  blockRows: i32,
  rowsPerBlock: i32,
  blockCols: i32,
  colsPerBlock: i32,
  gain: f32,
  variant: i32,
  g: usize,
  massGrad: f32,
  w: usize,
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
      source, true, blockRows, rowsPerBlock, blockCols, colsPerBlock, g, massGrad, w, entry, rowFactor,
      colFactor, blockFactor, rowGrad, colGrad, blockGrad, scratch
    );
  } else if (variant == COARSE) {
    gradStats(
      source, false, blockRows, rowsPerBlock, blockCols, colsPerBlock, g, massGrad, w, entry, rowFactor,
      colFactor, blockFactor, rowGrad, colGrad, blockGrad, scratch
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

/** The raw sums of the backward statistics: Σ dψ·∂ψ/∂F for every row, column and block factor F. */
@inline
function gradStats(
  source: i32,
  useEntry: bool,
  blockRows: i32,
  rowsPerBlock: i32,
  blockCols: i32,
  colsPerBlock: i32,
  g: usize,
  massGrad: f32,
  w: usize,
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
  const a = f32x4.splat(massGrad);
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
        const o = base + s;
        acc = gradStatsStep(source, useEntry, 4, g + o, w + o, entry + o, a, bc + s, partial + s, row, acc);
        const t = s + 16;
        const u = base + t;
        acc1 = gradStatsStep(source, useEntry, 4, g + u, w + u, entry + u, a, bc + t, partial + t, row, acc1);
      }
      for (; j < cols; j += 4) {
        const s = <usize>j * 4;
        const o = base + s;
        acc = gradStatsStep(
          source, useEntry, min(4, cols - j), g + o, w + o, entry + o, a, bc + s, partial + s, row, acc
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

/** dψ of min(count, 4) elements (lanes past count: massGrad, so callers weight them by a 0). */
@inline
function psiGrad(source: i32, count: i32, g: usize, w: usize, a: v128): v128 {
  if (source == PSI_GRAD) return loadChunk(g, count);
  if (source == MASS_GRAD) return a;
  return f32x4.add(f32x4.mul(loadChunk(g, count), loadChunk(w, count)), a);
}

/**
 * One chunk of the backward statistics, q = dψ·e (dψ alone for COARSE): partial (this block row's
 * per-column sums) += q·R; returns acc + q·B·C (the row's sum).
 */
@inline
function gradStatsStep(
  source: i32,
  useEntry: bool,
  count: i32,
  g: usize,
  w: usize,
  e: usize,
  a: v128,
  bc: usize,
  partial: usize,
  row: v128,
  acc: v128,
): v128 {
  let q = psiGrad(source, count, g, w, a);
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
  backwardRows(
    PSI_GRAD, rowsPerBlock, blockCols, colsPerBlock, gain, variant, g, 0, w, entry, rowFactor, colFactor,
    blockFactor, rowGrad, colGrad, blockGrad, scratch, dw, rowStart, rowEnd
  );
}

/**
 * dw of rows [rowStart, rowEnd) for the effective weight w·ψ of ctfMaskedWeight: g·ψ + the mask's
 * term of ctfMaskBackward with dψ = g·w + massGrad, and the coefficients of
 * ctfMaskedWeightBackwardStats. g: the gradient of w·ψ, or 0 for none (dw is then the mask's term
 * with dψ = massGrad). entry: e for FULL and FINE, unused for COARSE. scratch: 2 · cols floats.
 */
export function ctfMaskedWeightBackward(
  blockRows: i32,
  rowsPerBlock: i32,
  blockCols: i32,
  colsPerBlock: i32,
  gain: f32,
  variant: i32,
  g: usize,
  massGrad: f32,
  w: usize,
  entry: usize,
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
  if (g != 0) {
    backwardRows(
      WEIGHT_GRAD, rowsPerBlock, blockCols, colsPerBlock, gain, variant, g, massGrad, w, entry, rowFactor,
      colFactor, blockFactor, rowGrad, colGrad, blockGrad, scratch, dw, rowStart, rowEnd
    );
  } else {
    backwardRows(
      MASS_GRAD, rowsPerBlock, blockCols, colsPerBlock, gain, variant, g, massGrad, w, entry, rowFactor,
      colFactor, blockFactor, rowGrad, colGrad, blockGrad, scratch, dw, rowStart, rowEnd
    );
  }
}

@inline
function backwardRows(
  source: i32,
  rowsPerBlock: i32,
  blockCols: i32,
  colsPerBlock: i32,
  gain: f32,
  variant: i32,
  g: usize,
  massGrad: f32,
  w: usize,
  entry: usize,
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
      source, FULL, rowsPerBlock, blockCols, colsPerBlock, gain, g, massGrad, entry, w, rowFactor, colFactor,
      blockFactor, rowGrad, colGrad, blockGrad, scratch, dw, rowStart, rowEnd
    );
  } else if (variant == FINE) {
    gradRows(
      source, FINE, rowsPerBlock, blockCols, colsPerBlock, gain, g, massGrad, entry, w, rowFactor, colFactor,
      blockFactor, rowGrad, colGrad, blockGrad, scratch, dw, rowStart, rowEnd
    );
  } else {
    gradRows(
      source, COARSE, rowsPerBlock, blockCols, colsPerBlock, gain, g, massGrad, entry, w, rowFactor,
      colFactor, blockFactor, rowGrad, colGrad, blockGrad, scratch, dw, rowStart, rowEnd
    );
  }
}

@inline
function gradRows(
  source: i32,
  variant: i32,
  rowsPerBlock: i32,
  blockCols: i32,
  colsPerBlock: i32,
  gain: f32,
  g: usize,
  massGrad: f32,
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
  const a = f32x4.splat(massGrad);
  // B·C is needed for the entry term (FULL) and for ψ itself in g·ψ (COARSE, from the weight's gradient).
  const needsBc = variant == FULL || (variant == COARSE && source == WEIGHT_GRAD);
  let row = f32x4.splat(1);
  let rowTerm = f32x4.splat(0);
  for (let i = rowStart; i < rowEnd; i++) {
    if (variant != FINE) {
      // bc[j] = B·C_j and terms[j] = blockGrad_b + colGrad_j of this block row.
      if (i == rowStart || i % rowsPerBlock == 0) {
        const blocks = <usize>((i / rowsPerBlock) * blockCols) * 4;
        if (needsBc) expand(PRODUCT, blockFactor + blocks, colFactor, bc, blockCols, colsPerBlock);
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
      gradStep(source, variant, 4, g + o, entry + o, w + o, bc + s, terms + s, dw + o, row, rowTerm, gv, a);
    }
    if (j < cols) {
      const s = <usize>j * 4;
      const o = base + s;
      gradStep(
        source, variant, cols - j, g + o, entry + o, w + o, bc + s, terms + s, dw + o, row, rowTerm, gv, a
      );
    }
  }
}

/**
 * dw of min(count, 4) elements: 2w·(dψ·∂ψ/∂e·gain·(1 − e²) + the factors' terms), plus g·ψ
 * where g is the gradient of w·ψ (WEIGHT_GRAD).
 */
@inline
function gradStep(
  source: i32,
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
  a: v128,
): void {
  const zero = f32x4.splat(0);
  const wv = loadChunk(w, count);
  const gv = source == MASS_GRAD ? zero : loadChunk(g, count);
  let d: v128;
  // ψ, for the term g·ψ of WEIGHT_GRAD.
  let psi = zero;
  if (variant == COARSE) {
    d = f32x4.add(loadChunk(terms, count), rowTerm);
    if (source == WEIGHT_GRAD) psi = f32x4.mul(loadChunk(bc, count), row);
  } else {
    const ev = loadChunk(e, count);
    const slope = f32x4.mul(gain, f32x4.sub(f32x4.splat(1), f32x4.mul(ev, ev)));
    if (source == PSI_GRAD) d = f32x4.mul(gv, slope);
    else if (source == MASS_GRAD) d = f32x4.mul(a, slope);
    else d = f32x4.mul(f32x4.add(f32x4.mul(gv, wv), a), slope);
    psi = ev;
    if (variant == FULL) {
      const p = f32x4.mul(loadChunk(bc, count), row);
      psi = f32x4.mul(ev, p);
      d = f32x4.add(f32x4.mul(d, p), f32x4.add(loadChunk(terms, count), rowTerm));
    }
  }
  let result = f32x4.mul(f32x4.add(wv, wv), d);
  if (source == WEIGHT_GRAD) result = f32x4.add(result, f32x4.mul(gv, psi));
  storeChunk(dw, result, count);
}
