/** Shape arithmetic shared by the ops, and the errors that name the op and the shapes involved. */
import { contiguousStrides } from '@skelprune/runtime/internal';

/** The size of every axis of a tensor, outermost first (`[]` for a scalar). */
export type Shape = readonly number[];

/** Thrown when shapes do not fit an op; the message names the op and the shapes involved. */
export class ShapeError extends Error {
  /** Always `'ShapeError'`. */
  override name = 'ShapeError';
}

/** A shape as text, e.g. `[2, 3]`. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sizeOf(shape: Shape): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

export function assertValidShape(shape: Shape, op: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${op}: invalid shape ${formatShape(shape)}`);
  }
}

/** Resolves a possibly negative axis against a rank. */
export function normalizeAxis(axis: number, rank: number, op: string): number {
  const resolved = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || resolved < 0 || resolved >= rank) {
    throw new ShapeError(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return resolved;
}

/** NumPy broadcasting of two shapes; names the op and both shapes when they are incompatible. */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `${op}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Element strides of `shape` when read as a broadcast operand of `outShape` (0 along broadcast axes). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const own = contiguousStrides(shape);
  const offset = outShape.length - shape.length;
  return outShape.map((_, i) => (i < offset || shape[i - offset] === 1 ? 0 : own[i - offset]));
}

/**
 * Merges adjacent axes that every operand traverses contiguously (or all broadcast), and drops size-1
 * axes, so the kernels see the smallest equivalent rank (a plain add of two [B, V, F] tensors becomes
 * one axis of B·V·F elements).
 */
export function collapseAxes(
  shape: Shape,
  strideSets: readonly (readonly number[])[],
): {
  shape: number[];
  strides: number[][];
} {
  const outShape: number[] = [];
  const outStrides: number[][] = strideSets.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = outShape.length - 1;
    const mergeable =
      last >= 0 && strideSets.every((strides, k) => outStrides[k][last] === strides[i] * shape[i]);
    if (mergeable) {
      outShape[last] *= shape[i];
      strideSets.forEach((strides, k) => {
        outStrides[k][last] = strides[i];
      });
    } else {
      outShape.push(shape[i]);
      strideSets.forEach((strides, k) => {
        outStrides[k].push(strides[i]);
      });
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strideSets.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}

/** Resolves one -1 in a reshape target against the element count. */
export function resolveReshape(from: Shape, to: Shape): number[] {
  const size = sizeOf(from);
  const unknown = to.filter((d) => d === -1).length;
  if (unknown > 1) throw new ShapeError(`reshape: at most one -1 allowed, got ${formatShape(to)}`);
  const known = to.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const resolved = to.map((d) => (d === -1 ? size / known : d));
  if (sizeOf(resolved) !== size || resolved.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(
      `reshape: cannot view ${formatShape(from)} (${size} elements) as ${formatShape(to)}`,
    );
  }
  return resolved;
}
