// Permutation as a gather over a rank-6 loop nest. The caller orders the loop axes so that the last
// one is contiguous in the output and the one before it, where possible, contiguous in the input:
// the innermost 2-D slice is then a row copy or a 4×4-blocked transpose.
import { loadChunk, storeChunk } from './math';

const RANK = 6;

@inline
function field(layout: usize, table: i32, axis: i32): i32 {
  return load<i32>(layout + <usize>(table * RANK + axis) * 4);
}

/** `layout` holds i32 shape[6], inStrides[6], outStrides[6] (elements) of the loop axes. */
export function permute(x: usize, y: usize, layout: usize): void {
  for (let i0 = 0; i0 < field(layout, 0, 0); i0++) {
    for (let i1 = 0; i1 < field(layout, 0, 1); i1++) {
      for (let i2 = 0; i2 < field(layout, 0, 2); i2++) {
        for (let i3 = 0; i3 < field(layout, 0, 3); i3++) {
          const inOffset =
            i0 * field(layout, 1, 0) +
            i1 * field(layout, 1, 1) +
            i2 * field(layout, 1, 2) +
            i3 * field(layout, 1, 3);
          const outOffset =
            i0 * field(layout, 2, 0) +
            i1 * field(layout, 2, 1) +
            i2 * field(layout, 2, 2) +
            i3 * field(layout, 2, 3);
          copySlice(
            x + <usize>inOffset * 4,
            y + <usize>outOffset * 4,
            field(layout, 0, 4),
            field(layout, 1, 4),
            field(layout, 2, 4),
            field(layout, 0, 5),
            field(layout, 1, 5),
          );
        }
      }
    }
  }
}

/** out[q·outQ + l] = in[q·inQ + l·inL] for q < rows, l < cols. */
function copySlice(src: usize, dst: usize, rows: i32, inQ: i32, outQ: i32, cols: i32, inL: i32): void {
  if (inL == 1) {
    for (let q = 0; q < rows; q++) {
      const from = src + <usize>(q * inQ) * 4;
      const to = dst + <usize>(q * outQ) * 4;
      for (let l = 0; l < cols; l += 4) storeChunk(to + <usize>l * 4, loadChunk(from + <usize>l * 4, cols - l), cols - l);
    }
    return;
  }
  let q = 0;
  if (inQ == 1) {
    for (; q + 4 <= rows; q += 4) {
      let l = 0;
      for (; l + 4 <= cols; l += 4) transpose4x4(src + <usize>(q + l * inL) * 4, inL, dst + <usize>(q * outQ + l) * 4, outQ);
      gather(src + <usize>(q + l * inL) * 4, dst + <usize>(q * outQ + l) * 4, 4, inQ, outQ, cols - l, inL);
    }
  }
  gather(src + <usize>(q * inQ) * 4, dst + <usize>(q * outQ) * 4, rows - q, inQ, outQ, cols, inL);
}

/** Reads four input rows of four consecutive q values and writes them as four output rows. */
@inline
function transpose4x4(src: usize, inL: i32, dst: usize, outQ: i32): void {
  const inStep = <usize>inL * 4;
  const outStep = <usize>outQ * 4;
  const r0 = v128.load(src);
  const r1 = v128.load(src + inStep);
  const r2 = v128.load(src + 2 * inStep);
  const r3 = v128.load(src + 3 * inStep);
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(dst + outStep, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(dst + 2 * outStep, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * outStep, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

function gather(src: usize, dst: usize, rows: i32, inQ: i32, outQ: i32, cols: i32, inL: i32): void {
  for (let q = 0; q < rows; q++) {
    for (let l = 0; l < cols; l++) {
      store<f32>(dst + <usize>(q * outQ + l) * 4, load<f32>(src + <usize>(q * inQ + l * inL) * 4));
    }
  }
}
