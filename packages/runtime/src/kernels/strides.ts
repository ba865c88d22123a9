/**
 * Axis bookkeeping shared by both backends: merging axes that are laid out back to back turns most
 * broadcasts and permutations into a few long contiguous runs, which is what makes the fast paths
 * apply and keeps the general strided loops short.
 */

export interface BroadcastLayout {
  shape: number[];
  aStrides: number[];
  bStrides: number[];
}

/** Whether a tensor of the given shape has no elements (some axis of size 0): nothing to compute. */
export function isEmptyShape(shape: readonly number[]): boolean {
  return shape.some((size) => size === 0);
}

/** Row-major strides of a contiguous tensor of the given shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= shape[axis];
  }
  return strides;
}

/**
 * Drops size-1 axes and merges each axis into the next one when both operands step over it as if
 * it were part of that next axis. The result has rank ≥ 1 and describes the same element mapping.
 */
export function collapseBroadcast(
  shape: readonly number[],
  aStrides: readonly number[],
  bStrides: readonly number[],
): BroadcastLayout {
  const out: BroadcastLayout = { shape: [], aStrides: [], bStrides: [] };
  for (let axis = 0; axis < shape.length; axis++) {
    const size = shape[axis];
    if (size === 1) continue;
    const last = out.shape.length - 1;
    if (
      last >= 0 &&
      out.aStrides[last] === aStrides[axis] * size &&
      out.bStrides[last] === bStrides[axis] * size
    ) {
      out.shape[last] *= size;
      out.aStrides[last] = aStrides[axis];
      out.bStrides[last] = bStrides[axis];
    } else {
      out.shape.push(size);
      out.aStrides.push(aStrides[axis]);
      out.bStrides.push(bStrides[axis]);
    }
  }
  if (out.shape.length === 0) return { shape: [1], aStrides: [0], bStrides: [0] };
  return out;
}

export interface PermuteLayout {
  /** Shape of the (collapsed) output. */
  shape: number[];
  /** Input element stride of each output axis. */
  inStrides: number[];
}

/**
 * The gather a permutation performs, as an output shape plus the input stride of each output axis,
 * with input axes that stay adjacent and in order merged into one.
 */
export function collapsePermutation(shape: readonly number[], perm: readonly number[]): PermuteLayout {
  if (perm.length !== shape.length) {
    throw new RangeError(`permute: perm has ${perm.length} axes, shape has ${shape.length}`);
  }
  const inputStrides = contiguousStrides(shape);
  const outShape = perm.map((axis) => shape[axis]);
  const outStrides = perm.map((axis) => inputStrides[axis]);
  const collapsed = collapseBroadcast(outShape, outStrides, contiguousStrides(outShape));
  return { shape: collapsed.shape, inStrides: collapsed.aStrides };
}
