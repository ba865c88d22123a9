/** Element-wise ops with NumPy broadcasting, and their gradients. */
import type { ActivationOp, BinaryOp, UnaryOp } from '@skelprune/runtime/internal';
import { record } from '../autograd.js';
import {
  broadcastShapes,
  broadcastStrides,
  collapseAxes,
  formatShape,
  type Shape,
  ShapeError,
} from '../shape.js';
import { full, k, Tensor, view } from '../tensor.js';
import { sumAxes } from './reduce.js';

// ---- kernels without graph recording (also the building blocks of backward passes) ----------------

function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor, out?: Tensor): Tensor {
  const shape = broadcastShapes(broadcastShapes(a.shape, b.shape, op), out?.shape ?? [], op);
  const y = out ?? Tensor.empty(shape);
  const collapsed = collapseAxes(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  k().binary(op, a.ptr, collapsed.strides[0], b.ptr, collapsed.strides[1], y.ptr, collapsed.shape);
  return y;
}

/** y = alpha·x + beta. */
function affineRaw(x: Tensor, alpha: number, beta: number): Tensor {
  const y = Tensor.empty(x.shape);
  k().affine(x.ptr, y.ptr, x.size, alpha, beta);
  return y;
}

/** target += source, in place (same number of elements); returns target. */
export function addInto(target: Tensor, source: Tensor): Tensor {
  if (target.size !== source.size) {
    throw new ShapeError(
      `addInto: ${formatShape(target.shape)} and ${formatShape(source.shape)} differ in size`,
    );
  }
  const n = [target.size];
  k().binary('add', target.ptr, [1], source.ptr, [1], target.ptr, n);
  return target;
}

/** Sums a broadcast gradient back to an input's shape (identity when the shapes already match). */
export function sumToShape(grad: Tensor, shape: Shape): Tensor {
  if (grad.shape.length === shape.length && grad.shape.every((d, i) => d === shape[i])) return grad;
  const offset = grad.shape.length - shape.length;
  const axes = grad.shape
    .map((_, i) => i)
    .filter((i) => i < offset || (shape[i - offset] === 1 && grad.shape[i] !== 1));
  return view(sumAxes(grad, axes), shape);
}

/** x broadcast to a larger shape, materialised. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  return binaryRaw('mul', x, full([], 1), Tensor.empty(broadcastShapes(x.shape, shape, 'broadcastTo')));
}

// ---- binary ops ----------------------------------------------------------------------------------

function affine(op: string, x: Tensor, alpha: number, beta: number): Tensor {
  return record(op, affineRaw(x, alpha, beta), [x], (g) => [alpha === 1 ? g : affineRaw(g, alpha, 0)]);
}

/** a + b element-wise with NumPy broadcasting, or a plus a number (`torch.add`). */
export function add(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return affine('add', a, 1, b);
  return record('add', binaryRaw('add', a, b), [a, b], (g) => [
    a.requiresGrad ? sumToShape(g, a.shape) : null,
    b.requiresGrad ? sumToShape(g, b.shape) : null,
  ]);
}

/** a − b element-wise with NumPy broadcasting, or a minus a number (`torch.sub`). */
export function sub(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return affine('sub', a, 1, -b);
  return record('sub', binaryRaw('sub', a, b), [a, b], (g) => [
    a.requiresGrad ? sumToShape(g, a.shape) : null,
    b.requiresGrad ? sumToShape(affineRaw(g, -1, 0), b.shape) : null,
  ]);
}

/** a · b element-wise with NumPy broadcasting, or a times a number (`torch.mul`). */
export function mul(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return affine('mul', a, b, 0);
  return record('mul', binaryRaw('mul', a, b), [a, b], (g) => [
    a.requiresGrad ? sumToShape(binaryRaw('mul', g, b), a.shape) : null,
    b.requiresGrad ? sumToShape(binaryRaw('mul', g, a), b.shape) : null,
  ]);
}

/** a / b element-wise with NumPy broadcasting, or a divided by a number (`torch.div`). */
export function div(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return affine('div', a, 1 / b, 0);
  const y = binaryRaw('div', a, b);
  return record('div', y, [a, b], (g) => [
    a.requiresGrad ? sumToShape(binaryRaw('div', g, b), a.shape) : null,
    // d(a/b)/db = −a/b² = −y/b
    b.requiresGrad
      ? sumToShape(affineRaw(binaryRaw('div', binaryRaw('mul', g, y), b), -1, 0), b.shape)
      : null,
  ]);
}

/** c − x for a number c. */
export function rsub(c: number, x: Tensor): Tensor {
  return affine('rsub', x, -1, c);
}

// ---- unary ops -----------------------------------------------------------------------------------

function unary(op: UnaryOp, x: Tensor, gradient: (g: Tensor, y: Tensor) => Tensor): Tensor {
  const y = Tensor.empty(x.shape);
  k().unary(op, x.ptr, y.ptr, x.size);
  return record(op, y, [x], (g) => [gradient(g, y)]);
}

function activation(op: ActivationOp, x: Tensor): Tensor {
  return unary(op, x, (g, y) => {
    const dx = Tensor.empty(x.shape);
    k().activationBackward(op, y.ptr, g.ptr, dx.ptr, x.size);
    return dx;
  });
}

/** −x element-wise. */
export const neg = (x: Tensor): Tensor => affine('neg', x, -1, 0);
/** eˣ element-wise. */
export const exp = (x: Tensor): Tensor => unary('exp', x, (g, y) => binaryRaw('mul', g, y));
/** Natural logarithm element-wise (−∞ at 0, NaN below). */
export const log = (x: Tensor): Tensor => unary('log', x, (g) => binaryRaw('div', g, x));
/** √x element-wise. */
export const sqrt = (x: Tensor): Tensor =>
  unary('sqrt', x, (g, y) => binaryRaw('div', g, affineRaw(y, 2, 0)));
/** x² element-wise. */
export const square = (x: Tensor): Tensor =>
  unary('square', x, (g) => binaryRaw('mul', g, affineRaw(x, 2, 0)));
/** |x| element-wise; the gradient is sign(x), 0 at 0 as in PyTorch. */
export const abs = (x: Tensor): Tensor => unary('abs', x, (g) => binaryRaw('mul', g, sign(x)));
/** max(x, 0) element-wise (`torch.relu`). */
export const relu = (x: Tensor): Tensor => activation('relu', x);
/** 1 / (1 + e⁻ˣ) element-wise. */
export const sigmoid = (x: Tensor): Tensor => activation('sigmoid', x);
/** Hyperbolic tangent element-wise. */
export const tanh = (x: Tensor): Tensor => activation('tanh', x);

/** −1, 0 or 1 per element (no gradient). */
export function sign(x: Tensor): Tensor {
  const y = Tensor.empty(x.shape);
  const src = x.data;
  const dst = y.data;
  for (let i = 0; i < src.length; i++) dst[i] = src[i] > 0 ? 1 : src[i] < 0 ? -1 : 0;
  return y;
}

// ---- selection -----------------------------------------------------------------------------------

function asTensorLike(value: Tensor | number, shape: Shape): Tensor {
  return typeof value === 'number' ? full(shape, value) : value;
}

function selectRaw(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const y = Tensor.empty(cond.shape);
  k().select(cond.ptr, a.ptr, b.ptr, y.ptr, cond.size);
  return y;
}

/**
 * cond ≠ 0 ? a : b element-wise; `a` and `b` are tensors of cond's shape or numbers. With a 0/1 mask
 * this is also the masked fill of pruning (`where(mask, w, 0)`).
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  for (const t of [a, b]) {
    if (t instanceof Tensor && t.size !== cond.size) {
      throw new ShapeError(
        `where: ${formatShape(t.shape)} does not match the condition ${formatShape(cond.shape)}`,
      );
    }
  }
  const ta = asTensorLike(a, cond.shape);
  const tb = asTensorLike(b, cond.shape);
  return record('where', selectRaw(cond, ta, tb), [ta, tb], (g) => {
    const zero = full(cond.shape, 0);
    return [
      ta.requiresGrad ? selectRaw(cond, g, zero) : null,
      tb.requiresGrad ? selectRaw(cond, zero, g) : null,
    ];
  });
}
