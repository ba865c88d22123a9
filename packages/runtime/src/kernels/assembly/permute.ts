// Permutation as a gather over a rank-6 loop nest. The caller orders the loop axes so that the last
// one is contiguous in the output and the one before it, where possible, contiguous in the input:
// the innermost 2-D slice is then a row copy or a 4×4-blocked transpose.
import { layoutField, leadingAxesOffset } from './layout';
import { loadChunk, storeChunk, transpose4x4 } from './math';

/** `layout` holds i32 shape[6], inStrides[6], outStrides[6] (elements) of the loop axes. */
export function permute(x: usize, y: usize, layout: usize): void {
  for (let i0 = 0; i0 < layoutField(layout, 0, 0); i0++) {
    for (let i1 = 0; i1 < layoutField(layout, 0, 1); i1++) {
      for (let i2 = 0; i2 < layoutField(layout, 0, 2); i2++) {
        for (let i3 = 0; i3 < layoutField(layout, 0, 3); i3++) {
          const inOffset = leadingAxesOffset(layout, 1, i0, i1, i2, i3);
          const outOffset = leadingAxesOffset(layout, 2, i0, i1, i2, i3);
          copySlice(
            x + <usize>inOffset * 4,
            y + <usize>outOffset * 4,
            layoutField(layout, 0, 4),
            layoutField(layout, 1, 4),
            layoutField(layout, 2, 4),
            layoutField(layout, 0, 5),
            layoutField(layout, 1, 5),
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
      for (; l + 4 <= cols; l += 4) transpose4x4(src + <usize>(q + l * inL) * 4, <usize>inL * 4, dst + <usize>(q * outQ + l) * 4, <usize>outQ * 4);
      gather(src + <usize>(q + l * inL) * 4, dst + <usize>(q * outQ + l) * 4, 4, inQ, outQ, cols - l, inL);
    }
  }
  gather(src + <usize>(q * inQ) * 4, dst + <usize>(q * outQ) * 4, rows - q, inQ, outQ, cols, inL);
}

function gather(src: usize, dst: usize, rows: i32, inQ: i32, outQ: i32, cols: i32, inL: i32): void {
  for (let q = 0; q < rows; q++) {
    for (let l = 0; l < cols; l++) {
      store<f32>(dst + <usize>(q * outQ + l) * 4, load<f32>(src + <usize>(q * inQ + l * inL) * 4));
    }
  }
}
