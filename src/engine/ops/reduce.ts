/** Reductions over axes (sum, mean, max), with keepdims, and their gradients. */
import type { ReduceOp } from '@skelprune/runtime/internal';
import { record } from '../autograd.js';
import { normalizeAxis, type Shape, sizeOf } from '../shape.js';
import { k, Tensor, view } from '../tensor.js';
import { broadcastTo } from './elementwise.js';

function resolveAxes(axes: number | readonly number[] | undefined, rank: number, op: string): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  return [...new Set(list.map((a) => normalizeAxis(a, rank, op)))].sort((a, b) => a - b);
}

function reducedShape(shape: Shape, axes: readonly number[], keepdims: boolean): number[] {
  if (keepdims) return shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return shape.filter((_, i) => !axes.includes(i));
}

/**
 * Reduces x over sorted axes without recording a graph. Runs of adjacent axes (size-1 axes between
 * them included) become one [outer, r, inner] kernel call each.
 */
function reduceRaw(op: ReduceOp, x: Tensor, axes: readonly number[], keepdims: boolean): Tensor {
  let current = x;
  const shape = [...x.shape];
  let i = 0;
  while (i < shape.length) {
    if (!axes.includes(i) || shape[i] === 1) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < shape.length && (axes.includes(j + 1) || shape[j + 1] === 1)) j++;
    const outer = sizeOf(shape.slice(0, i));
    const r = sizeOf(shape.slice(i, j + 1));
    const inner = sizeOf(shape.slice(j + 1));
    for (let a = i; a <= j; a++) shape[a] = 1;
    const next = Tensor.empty(shape);
    k().reduce(op, current.ptr, next.ptr, outer, r, inner);
    current = next;
    i = j + 1;
  }
  return view(current, reducedShape(x.shape, axes, keepdims));
}

/** Sum over axes (keepdims), no graph: the building block of broadcast gradients. */
export function sumAxes(x: Tensor, axes: readonly number[]): Tensor {
  return reduceRaw('sum', x, resolveAxes(axes, x.rank, 'sum'), true);
}

/**
 * Sum over `axes` (every axis by default; negative counts from the end); `keepdims` keeps them as
 * size 1 (`torch.sum`).
 */
export function sum(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  const resolved = resolveAxes(axes, x.rank, 'sum');
  const y = reduceRaw('sum', x, resolved, keepdims);
  return record('sum', y, [x], (g) => [broadcastTo(view(g, reducedShape(x.shape, resolved, true)), x.shape)]);
}

/** Mean over `axes` (every axis by default); `keepdims` keeps them as size 1 (`torch.mean`). */
export function mean(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  const resolved = resolveAxes(axes, x.rank, 'mean');
  const count = resolved.reduce((p, a) => p * x.shape[a], 1);
  return sum(x, resolved, keepdims).mul(1 / count);
}

/**
 * Maximum over one axis (or over everything). The gradient flows to the first maximal element of
 * each reduced group, as PyTorch's max(dim) does.
 */
export function max(x: Tensor, axis?: number, keepdims = false): Tensor {
  const axes =
    axis === undefined ? resolveAxes(undefined, x.rank, 'max') : [normalizeAxis(axis, x.rank, 'max')];
  const y = reduceRaw('max', x, axes, keepdims);
  return record('max', y, [x], (g) => {
    const first = axis === undefined ? 0 : axes[0];
    const outer = axis === undefined ? 1 : sizeOf(x.shape.slice(0, first));
    const r = axis === undefined ? x.size : x.shape[first];
    const inner = axis === undefined ? 1 : sizeOf(x.shape.slice(first + 1));
    const dx = Tensor.empty(x.shape);
    const dst = dx.data;
    dst.fill(0);
    const src = x.data;
    const maxima = y.data;
    const grads = g.data;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const target = maxima[o * inner + i];
        let idx = 0;
        while (idx < r - 1 && src[(o * r + idx) * inner + i] !== target) idx++;
        dst[(o * r + idx) * inner + i] = grads[o * inner + i];
      }
    }
    return [dx];
  });
}

/** Index of the largest value of each row (last axis), the first on ties; no gradient. */
export function argmaxRows(x: Tensor): Int32Array {
  const cols = x.shape[x.rank - 1];
  const rows = x.size / cols;
  const data = x.data;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (data[r * cols + c] > data[r * cols + best]) best = c;
    out[r] = best;
  }
  return out;
}
