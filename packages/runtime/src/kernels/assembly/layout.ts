// The shape and stride tables wasm.ts writes for the strided kernels (binary, permute): i32
// [table][LAYOUT_RANK], leading axes padded with size 1, strides in elements.

/** Axes per table. */
export const LAYOUT_RANK = 6;

/** Entry `axis` of table `table`. */
@inline
export function layoutField(layout: usize, table: i32, axis: i32): i32 {
  return load<i32>(layout + <usize>(table * LAYOUT_RANK + axis) * 4);
}

/** Element offset of index (i0, i1, i2, i3) over the first four axes: Σ i_k · table[k]. */
@inline
export function leadingAxesOffset(layout: usize, table: i32, i0: i32, i1: i32, i2: i32, i3: i32): i32 {
  return (
    i0 * layoutField(layout, table, 0) +
    i1 * layoutField(layout, table, 1) +
    i2 * layoutField(layout, table, 2) +
    i3 * layoutField(layout, table, 3)
  );
}
