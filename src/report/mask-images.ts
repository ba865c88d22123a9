/**
 * Pictures of pruning masks (like Figure 2 of the paper): every entry of a weight matrix a pixel,
 * kept dark, pruned white; large matrices are averaged down to fit, so a pixel's shade is the kept
 * fraction of the entries it covers. PNG through fast-png.
 */
import { encode } from 'fast-png';

const KEPT: readonly [number, number, number] = [31, 59, 115];
const PRUNED: readonly [number, number, number] = [255, 255, 255];
const ABSENT: readonly [number, number, number] = [236, 236, 236];

export interface MaskPicture {
  png: Uint8Array;
  width: number;
  height: number;
}

/** Kept fraction per cell of a rows × cols grid drawn onto width × height pixels; NaN: no entry. */
type Coverage = (x: number, y: number) => number;

function picture(width: number, height: number, coverage: Coverage): MaskPicture {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const kept = coverage(x, y);
      for (let c = 0; c < 3; c++) {
        data[(y * width + x) * 3 + c] = Number.isNaN(kept)
          ? ABSENT[c]
          : Math.round(PRUNED[c] + (KEPT[c] - PRUNED[c]) * kept);
      }
    }
  }
  return { png: encode({ width, height, data, channels: 3, depth: 8 }), width, height };
}

/** Pixels per side for a matrix side, and entries per pixel. */
function scaleOf(rows: number, cols: number, maxSide: number): number {
  return Math.max(1, Math.ceil(Math.max(rows, cols) / maxSide));
}

/** Fraction of kept entries of mask (rows × cols, row-major) in [r0, r1) × [c0, c1). */
function keptFraction(
  mask: Uint8Array,
  cols: number,
  r0: number,
  r1: number,
  c0: number,
  c1: number,
): number {
  let kept = 0;
  for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) kept += mask[r * cols + c];
  return kept / ((r1 - r0) * (c1 - c0));
}

/** The whole mask of one layer. */
export function maskPicture(mask: Uint8Array, rows: number, cols: number, maxSide = 720): MaskPicture {
  const s = scaleOf(rows, cols, maxSide);
  return picture(Math.ceil(cols / s), Math.ceil(rows / s), (x, y) =>
    keptFraction(mask, cols, y * s, Math.min(rows, (y + 1) * s), x * s, Math.min(cols, (x + 1) * s)),
  );
}

/**
 * A layer with one row group per head (the graph convolution) drawn block-diagonally: head k's
 * [rowsPerHead × cols] mask is the k-th diagonal block, so pruned heads show as empty blocks.
 */
export function headDiagonalPicture(
  mask: Uint8Array,
  heads: number,
  rowsPerHead: number,
  cols: number,
  maxSide = 900,
): MaskPicture {
  const s = scaleOf(heads * rowsPerHead, heads * cols, maxSide);
  const blockH = Math.ceil(rowsPerHead / s);
  const blockW = Math.ceil(cols / s);
  return picture(heads * blockW, heads * blockH, (x, y) => {
    const head = Math.floor(y / blockH);
    if (Math.floor(x / blockW) !== head) return Number.NaN;
    const r0 = head * rowsPerHead + (y % blockH) * s;
    const c0 = (x % blockW) * s;
    return keptFraction(
      mask,
      cols,
      r0,
      Math.min((head + 1) * rowsPerHead, r0 + s),
      c0,
      Math.min(cols, c0 + s),
    );
  });
}
