// Single-threaded blocked gemm (BLIS loop order): B is packed into K×NR column panels, A into
// MR×K row panels, and an MR×NR register tile of f32x4 accumulators runs over them. Transposed
// operands only change the strides packing reads with, so no transpose is ever materialised.
// A row-major B is not packed at all: the register tile reads its NR columns in place, row after
// row (the KC rows of a panel stay in L1 across the MC/MR tiles that reuse them), which saves a
// copy of B per block and per thread; only a ragged last panel is packed, zero-padded.
// All pointers are byte addresses; leading dimensions and strides are in elements.
import { madd, transpose4x4 } from './math';

/** Rows of the register tile. */
const MR = 4;
/** Columns of the register tile (two f32x4 vectors). */
const NR = 8;
/** Depth of a K block: one packed B panel (KC × NR) stays in L1 while the A panels stream by. */
const KC = 256;
/** Rows of A packed per block: MC × KC floats sit in L2. */
const MC = 128;
/** Columns of B packed per block. */
const NC = 1024;

const PACKED_B_BYTES: usize = KC * NC * 4;
const PACKED_A_BYTES: usize = MC * KC * 4;
const TILE_BYTES: usize = MR * NR * 4;

/** Bytes of scratch one concurrent gemm needs (packed A and B blocks plus an edge tile). */
export function gemmScratchBytes(): usize {
  return PACKED_B_BYTES + PACKED_A_BYTES + TILE_BYTES;
}

/** Rows of the register tile, so callers that split work between threads can align to it. */
export function gemmTileRows(): i32 {
  return MR;
}

/** Columns of the register tile. */
export function gemmTileCols(): i32 {
  return NR;
}

/**
 * C[i] = alpha · op(A[i]) · op(B[i]) + beta · C[i] for each batch item (see types.ts GemmParams).
 * `scratch` must hold gemmScratchBytes() and belong to this call alone.
 */
export function gemm(
  transA: bool,
  transB: bool,
  m: i32,
  n: i32,
  k: i32,
  alpha: f32,
  a: usize,
  lda: i32,
  strideA: i32,
  b: usize,
  ldb: i32,
  strideB: i32,
  beta: f32,
  c: usize,
  ldc: i32,
  strideC: i32,
  batch: i32,
  scratch: usize,
): void {
  if (m <= 0 || n <= 0) return;
  // Element (i, p) of op(A) lies at a + (i·rowA + p·depthA)·4; element (p, j) of op(B) at
  // b + (p·depthB + j·colB)·4.
  const rowA = transA ? 1 : lda;
  const depthA = transA ? lda : 1;
  const depthB = transB ? 1 : ldb;
  const colB = transB ? ldb : 1;
  const packedB = scratch;
  const packedA = scratch + PACKED_B_BYTES;
  const tile = packedA + PACKED_A_BYTES;
  // A shared operand (stride 0) that fits one block is packed once for the whole batch.
  let packedASource: usize = 0;
  let packedBSource: usize = 0;
  for (let item = 0; item < batch; item++) {
    const aItem = a + <usize>(item * strideA) * 4;
    const bItem = b + <usize>(item * strideB) * 4;
    const cItem = c + <usize>(item * strideC) * 4;
    if (k <= 0) {
      scaleMatrix(cItem, m, n, ldc, beta);
      continue;
    }
    for (let j0 = 0; j0 < n; j0 += NC) {
      const nc = min(NC, n - j0);
      for (let p0 = 0; p0 < k; p0 += KC) {
        const kc = min(KC, k - p0);
        const blockBeta = p0 == 0 ? beta : 1;
        const bSource = bItem + <usize>(p0 * depthB + j0 * colB) * 4;
        // Row-major B is read in place (bDirect); only its ragged last panel is packed.
        const bDirect: usize = transB ? 0 : bSource;
        const packFrom = transB ? 0 : nc - (nc % NR);
        if (packFrom < nc && bSource != packedBSource) {
          const from = bSource + <usize>(packFrom * colB) * 4;
          packPanels(from, colB, depthB, nc - packFrom, kc, NR, packedB + <usize>(packFrom * kc) * 4);
          packedBSource = n <= NC && k <= KC ? bSource : 0;
        }
        for (let i0 = 0; i0 < m; i0 += MC) {
          const mc = min(MC, m - i0);
          const aSource = aItem + <usize>(i0 * rowA + p0 * depthA) * 4;
          if (aSource != packedASource) {
            packPanels(aSource, rowA, depthA, mc, kc, MR, packedA);
            packedASource = m <= MC && k <= KC ? aSource : 0;
          }
          const cBlock = cItem + <usize>(i0 * ldc + j0) * 4;
          multiplyBlock(packedA, packedB, bDirect, ldb, cBlock, ldc, mc, nc, kc, alpha, blockBeta, tile);
        }
      }
    }
  }
}

/**
 * Packs `count` lines of a strided matrix into panels of `width` lines, depth-major: line l, depth d
 * is read from src + (l·lineStride + d·depthStride)·4 and written to panel l / width at
 * d·width + l % width. The last panel is zero-padded so the register tile never needs a mask.
 */
function packPanels(
  src: usize,
  lineStride: i32,
  depthStride: i32,
  count: i32,
  depth: i32,
  width: i32,
  dst: usize,
): void {
  const fullPanels = count / width;
  let l0 = 0;
  if (lineStride == 1) {
    packContiguousLines(src, depthStride, depth, width, fullPanels, dst);
    l0 = fullPanels * width;
  } else if (depthStride == 1) {
    for (; l0 + width <= count; l0 += width) {
      packContiguousDepth(src + <usize>(l0 * lineStride) * 4, lineStride, depth, width, dst + <usize>(l0 * depth) * 4);
    }
  }
  if (l0 < count) {
    packScalar(src + <usize>(l0 * lineStride) * 4, lineStride, depthStride, count - l0, depth, width, dst + <usize>(l0 * depth) * 4);
  }
}

/**
 * Lines adjacent in memory: each depth step is a row of the source, read front to back and
 * scattered as `width`-float vectors into the panels.
 */
@inline
function packContiguousLines(src: usize, depthStride: i32, depth: i32, width: i32, panels: i32, dst: usize): void {
  const panelBytes = <usize>(width * depth) * 4;
  for (let d = 0; d < depth; d++) {
    let from = src + <usize>(d * depthStride) * 4;
    let to = dst + <usize>(d * width) * 4;
    for (let panel = 0; panel < panels; panel++) {
      for (let l = 0; l < width; l += 4) v128.store(to + <usize>l * 4, v128.load(from + <usize>l * 4));
      from += <usize>width * 4;
      to += panelBytes;
    }
  }
}

/** Depth adjacent in memory: 4×4 blocks are transposed in registers, the depth tail one by one. */
@inline
function packContiguousDepth(src: usize, lineStride: i32, depth: i32, width: i32, dst: usize): void {
  const line = <usize>lineStride * 4;
  const out = <usize>width * 4;
  let d = 0;
  for (; d + 4 <= depth; d += 4) {
    for (let l = 0; l < width; l += 4) {
      transpose4x4(src + <usize>l * line + <usize>d * 4, line, dst + <usize>d * out + <usize>l * 4, out);
    }
  }
  for (; d < depth; d++) {
    for (let l = 0; l < width; l++) {
      store<f32>(dst + <usize>(d * width + l) * 4, load<f32>(src + <usize>l * line + <usize>d * 4));
    }
  }
}

function packScalar(
  src: usize,
  lineStride: i32,
  depthStride: i32,
  lines: i32,
  depth: i32,
  width: i32,
  dst: usize,
): void {
  for (let d = 0; d < depth; d++) {
    for (let l = 0; l < width; l++) {
      const value = l < lines ? load<f32>(src + <usize>(l * lineStride + d * depthStride) * 4) : 0;
      store<f32>(dst + <usize>(d * width + l) * 4, value);
    }
  }
}

/**
 * Runs the register tile over every MR×NR tile of one mc × nc block of C: A packed, B packed or,
 * where bDirect is set, read in place from that row-major block (leading dimension ldb) for every
 * full panel.
 */
function multiplyBlock(
  packedA: usize,
  packedB: usize,
  bDirect: usize,
  ldb: i32,
  c: usize,
  ldc: i32,
  mc: i32,
  nc: i32,
  kc: i32,
  alpha: f32,
  beta: f32,
  tile: usize,
): void {
  const ldcBytes = <usize>ldc * 4;
  for (let j = 0; j < nc; j += NR) {
    const cols = min(NR, nc - j);
    const inPlace = bDirect != 0 && cols == NR;
    const bPanel = inPlace ? bDirect + <usize>j * 4 : packedB + <usize>(j * kc) * 4;
    const bStep: usize = inPlace ? <usize>ldb * 4 : NR * 4;
    for (let i = 0; i < mc; i += MR) {
      const aPanel = packedA + <usize>(i * kc) * 4;
      const rows = min(MR, mc - i);
      const cTile = c + <usize>i * ldcBytes + <usize>j * 4;
      if (rows == MR && cols == NR) {
        microKernel(aPanel, bPanel, bStep, kc, cTile, ldcBytes, alpha, beta);
      } else {
        microKernel(aPanel, bPanel, bStep, kc, tile, NR * 4, 1, 0);
        storeEdgeTile(tile, cTile, ldcBytes, rows, cols, alpha, beta);
      }
    }
  }
}

/**
 * The MR×NR register tile: C = alpha · Apanel · Bpanel + beta · C, beta = 0 never reading C. B's
 * rows are bStep bytes apart (NR floats when packed).
 */
@inline
function microKernel(
  aPanel: usize,
  bPanel: usize,
  bStep: usize,
  kc: i32,
  c: usize,
  ldcBytes: usize,
  alpha: f32,
  beta: f32,
): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  let pa = aPanel;
  let pb = bPanel;
  const end = aPanel + <usize>(kc * MR) * 4;
  while (pa < end) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let av = v128.load32_splat(pa);
    c00 = madd(av, b0, c00);
    c01 = madd(av, b1, c01);
    av = v128.load32_splat(pa, 4);
    c10 = madd(av, b0, c10);
    c11 = madd(av, b1, c11);
    av = v128.load32_splat(pa, 8);
    c20 = madd(av, b0, c20);
    c21 = madd(av, b1, c21);
    av = v128.load32_splat(pa, 12);
    c30 = madd(av, b0, c30);
    c31 = madd(av, b1, c31);
    pa += MR * 4;
    pb += bStep;
  }
  const alphaV = f32x4.splat(alpha);
  const betaV = f32x4.splat(beta);
  const readC = beta != 0;
  updateRow(c, c00, c01, alphaV, betaV, readC);
  updateRow(c + ldcBytes, c10, c11, alphaV, betaV, readC);
  updateRow(c + 2 * ldcBytes, c20, c21, alphaV, betaV, readC);
  updateRow(c + 3 * ldcBytes, c30, c31, alphaV, betaV, readC);
}

@inline
function updateRow(c: usize, acc0: v128, acc1: v128, alpha: v128, beta: v128, readC: bool): void {
  let lo = f32x4.mul(acc0, alpha);
  let hi = f32x4.mul(acc1, alpha);
  if (readC) {
    lo = f32x4.add(lo, f32x4.mul(beta, v128.load(c)));
    hi = f32x4.add(hi, f32x4.mul(beta, v128.load(c, 16)));
  }
  v128.store(c, lo);
  v128.store(c, hi, 16);
}

/** Writes the valid rows × cols corner of a tile computed into scratch. */
function storeEdgeTile(
  tile: usize,
  c: usize,
  ldcBytes: usize,
  rows: i32,
  cols: i32,
  alpha: f32,
  beta: f32,
): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const dst = c + <usize>i * ldcBytes + <usize>j * 4;
      const value = alpha * load<f32>(tile + <usize>(i * NR + j) * 4);
      store<f32>(dst, beta == 0 ? value : value + beta * load<f32>(dst));
    }
  }
}

/** C = beta · C, for an empty inner dimension. */
function scaleMatrix(c: usize, m: i32, n: i32, ldc: i32, beta: f32): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const dst = c + <usize>(i * ldc + j) * 4;
      store<f32>(dst, beta == 0 ? 0 : beta * load<f32>(dst));
    }
  }
}
