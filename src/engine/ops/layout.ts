/** Ops that move data without arithmetic: reshape, permute, slice, concat, gather. */
import { record } from '../autograd.js';
import { formatShape, normalizeAxis, resolveReshape, type Shape, ShapeError, sizeOf } from '../shape.js';
import { IntTensor, k, Tensor, view, zeros } from '../tensor.js';

/**
 * The same data with another shape, without copying (`torch.reshape` on a contiguous tensor); one axis
 * may be −1, inferred from the element count.
 */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const y = new Tensor(resolveReshape(x.shape, shape), x.storage, x.offset);
  return record('reshape', y, [x], (g) => [view(g, x.shape)]);
}

/** Output axis i is input axis perm[i] (numpy.transpose). */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== x.rank || sorted.some((a, i) => a !== i)) {
    throw new ShapeError(
      `permute: [${perm.join(', ')}] is not a permutation of the axes of ${formatShape(x.shape)}`,
    );
  }
  if (perm.every((a, i) => a === i)) return reshape(x, x.shape);
  const y = Tensor.empty(perm.map((a) => x.shape[a]));
  k().permute(x.ptr, y.ptr, x.shape, perm);
  const inverse = new Array<number>(perm.length);
  perm.forEach((a, i) => {
    inverse[a] = i;
  });
  return record('permute', y, [x], (g) => {
    const dx = Tensor.empty(x.shape);
    k().permute(g.ptr, dx.ptr, g.shape, inverse);
    return [dx];
  });
}

/** Swaps two axes (negative counts from the end), the last two by default; copies (`torch.transpose`). */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  const a = normalizeAxis(axis0, x.rank, 'transpose');
  const b = normalizeAxis(axis1, x.rank, 'transpose');
  const perm = Array.from({ length: x.rank }, (_, i) => (i === a ? b : i === b ? a : i));
  return permute(x, perm);
}

/** Views x as [outer, axis, inner] around one axis. */
function around(shape: Shape, axis: number): { outer: number; length: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, axis)), length: shape[axis], inner: sizeOf(shape.slice(axis + 1)) };
}

/**
 * Copies the listed rows of `inner` floats per outer block between two [outer, ·, inner] layouts;
 * with `accumulate`, adds instead (used by the scatter gradients). Rows consecutive in both lists
 * move as one block, so a slice or concat along an inner axis costs one call per outer block, not
 * one per element.
 */
function copyRows(
  from: Tensor,
  fromLength: number,
  fromRows: ArrayLike<number>,
  to: Tensor,
  toLength: number,
  toRows: ArrayLike<number>,
  outer: number,
  inner: number,
  accumulate = false,
): void {
  const heap = to.storage.heap.f32;
  const src = from.ptr;
  const dst = to.ptr;
  const runs = consecutiveRuns(fromRows, toRows);
  for (let o = 0; o < outer; o++) {
    for (const [first, count] of runs) {
      const s = src + (o * fromLength + fromRows[first]) * inner;
      const d = dst + (o * toLength + toRows[first]) * inner;
      const n = count * inner;
      if (accumulate) for (let i = 0; i < n; i++) heap[d + i] += heap[s + i];
      else heap.copyWithin(d, s, s + n);
    }
  }
}

/**
 * [first, count] runs of positions whose rows are consecutive in both lists. A run never spans a
 * repeated row, so accumulating runs add each source row once.
 */
function consecutiveRuns(fromRows: ArrayLike<number>, toRows: ArrayLike<number>): [number, number][] {
  const runs: [number, number][] = [];
  for (let r = 0; r < fromRows.length; r++) {
    const last = runs[runs.length - 1];
    const follows =
      last !== undefined && fromRows[r] === fromRows[r - 1] + 1 && toRows[r] === toRows[r - 1] + 1;
    if (follows) last[1]++;
    else runs.push([r, 1]);
  }
  return runs;
}

const range = (start: number, count: number): number[] => Array.from({ length: count }, (_, i) => start + i);

/** Elements start..end-1 along an axis (negative indices count from the end). A view along axis 0. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const ax = normalizeAxis(axis, x.rank, 'slice');
  const length = x.shape[ax];
  const from = Math.max(0, start < 0 ? start + length : start);
  const to = Math.min(length, end < 0 ? end + length : end);
  if (from > to)
    throw new ShapeError(`slice: empty range ${start}:${end} on axis ${ax} of ${formatShape(x.shape)}`);
  const shape = x.shape.map((d, i) => (i === ax ? to - from : d));
  const { outer, inner } = around(x.shape, ax);
  let y: Tensor;
  if (outer === 1) {
    y = new Tensor(shape, x.storage, x.offset + from * inner);
  } else {
    y = Tensor.empty(shape);
    copyRows(x, length, range(from, to - from), y, to - from, range(0, to - from), outer, inner);
  }
  return record('slice', y, [x], (g) => {
    const dx = zeros(x.shape);
    copyRows(g, to - from, range(0, to - from), dx, length, range(from, to - from), outer, inner);
    return [dx];
  });
}

/** Joins tensors along an existing axis; all other axes must match (`torch.cat`). */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('concat: needs at least one tensor');
  const first = tensors[0];
  const ax = normalizeAxis(axis, first.rank, 'concat');
  for (const t of tensors) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new ShapeError(
        `concat: ${formatShape(t.shape)} does not match ${formatShape(first.shape)} outside axis ${ax}`,
      );
    }
  }
  const total = tensors.reduce((s, t) => s + t.shape[ax], 0);
  const y = Tensor.empty(first.shape.map((d, i) => (i === ax ? total : d)));
  const { outer, inner } = around(first.shape, ax);
  const starts: number[] = [];
  let start = 0;
  for (const t of tensors) {
    starts.push(start);
    copyRows(t, t.shape[ax], range(0, t.shape[ax]), y, total, range(start, t.shape[ax]), outer, inner);
    start += t.shape[ax];
  }
  return record('concat', y, tensors, (g) =>
    tensors.map((t, i) => (t.requiresGrad ? slice(g, ax, starts[i], starts[i] + t.shape[ax]) : null)),
  );
}

/** Joins tensors of one shape along a new axis at `axis` (`torch.stack`). */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('stack: needs at least one tensor');
  const ax = normalizeAxis(axis, tensors[0].rank + 1, 'stack');
  return concat(
    tensors.map((t) => reshape(t, [...t.shape.slice(0, ax), 1, ...t.shape.slice(ax)])),
    ax,
  );
}

/** Index select: the entries `indices` along an axis (repeats allowed); gradients are scatter-added. */
export function gather(x: Tensor, axis: number, indices: IntTensor | Int32Array | readonly number[]): Tensor {
  const ax = normalizeAxis(axis, x.rank, 'gather');
  const idx = indices instanceof IntTensor ? indices.data : Int32Array.from(indices);
  const { outer, length, inner } = around(x.shape, ax);
  for (const i of idx) {
    if (!Number.isInteger(i) || i < 0 || i >= length) {
      throw new ShapeError(`gather: index ${i} is out of range for axis ${ax} of ${formatShape(x.shape)}`);
    }
  }
  const y = Tensor.empty(x.shape.map((d, i) => (i === ax ? idx.length : d)));
  copyRows(x, length, idx, y, idx.length, range(0, idx.length), outer, inner);
  return record('gather', y, [x], (g) => {
    const dx = zeros(x.shape);
    copyRows(g, idx.length, range(0, idx.length), dx, length, idx, outer, inner, true);
    return [dx];
  });
}
