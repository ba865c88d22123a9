// Element-wise kernels. One streaming loop serves them all: it is inlined with a constant function
// code (and constant operand layouts), so the optimizer emits one straight SIMD loop per variant.
import { layoutField, leadingAxesOffset } from './layout';
import { expV, loadChunk, logV, sigmoidV, storeChunk, tanhV } from './math';

// Function codes; the unary and binary ones are shared with wasm.ts.
const NEG = 0;
const EXP = 1;
const LOG = 2;
const ABS = 3;
const SQRT = 4;
const SQUARE = 5;
const RELU = 6;
const SIGMOID = 7;
const TANH = 8;
const ADD = 10;
const SUB = 11;
const MUL = 12;
const DIV = 13;
const RELU_GRAD = 20;
const SIGMOID_GRAD = 21;
const TANH_GRAD = 22;
const AFFINE = 30;
const SELECT = 31;

/** Operands the function reads: x only, (x, z), or (x, z, w). */
@inline
function arity(fn: i32): i32 {
  if (fn < ADD || fn == AFFINE) return 1;
  return fn == SELECT ? 3 : 2;
}

@inline
function apply(fn: i32, x: v128, z: v128, w: v128, s: v128, t: v128): v128 {
  switch (fn) {
    case NEG:
      return f32x4.neg(x);
    case EXP:
      return expV(x);
    case LOG:
      return logV(x);
    case ABS:
      return f32x4.abs(x);
    case SQRT:
      return f32x4.sqrt(x);
    case SQUARE:
      return f32x4.mul(x, x);
    case RELU:
      return f32x4.max(x, f32x4.splat(0));
    case SIGMOID:
      return sigmoidV(x);
    case TANH:
      return tanhV(x);
    case ADD:
      return f32x4.add(x, z);
    case SUB:
      return f32x4.sub(x, z);
    case MUL:
      return f32x4.mul(x, z);
    case DIV:
      return f32x4.div(x, z);
    // Activation gradients: x is the forward output y, z the incoming gradient.
    case RELU_GRAD:
      return v128.and(z, f32x4.gt(x, f32x4.splat(0)));
    case SIGMOID_GRAD:
      return f32x4.mul(f32x4.mul(z, x), f32x4.sub(f32x4.splat(1), x));
    case TANH_GRAD:
      return f32x4.mul(z, f32x4.sub(f32x4.splat(1), f32x4.mul(x, x)));
    case AFFINE:
      return f32x4.add(f32x4.mul(x, s), t);
    case SELECT:
      // x is the condition.
      return v128.bitselect(z, w, f32x4.ne(x, f32x4.splat(0)));
  }
  return x;
}

/** Loads 4 floats of a contiguous operand, or splats a broadcast (stride 0) one. */
@inline
function loadOperand(ptr: usize, contiguous: bool): v128 {
  return contiguous ? v128.load(ptr) : v128.load32_splat(ptr);
}

@inline
function loadOperandPartial(ptr: usize, contiguous: bool, count: i32): v128 {
  return contiguous ? loadChunk(ptr, count) : v128.load32_splat(ptr);
}

/**
 * y[i] = fn(x[i], z[i], w[i]) for n elements; a non-contiguous operand repeats its first element.
 * Only as many operands as the function needs are read.
 */
@inline
function stream(
  fn: i32,
  xContiguous: bool,
  zContiguous: bool,
  x: usize,
  z: usize,
  w: usize,
  y: usize,
  n: i32,
  s: f32,
  t: f32,
): void {
  const sv = f32x4.splat(s);
  const tv = f32x4.splat(t);
  const xStep: usize = xContiguous ? 16 : 0;
  const zStep: usize = zContiguous ? 16 : 0;
  const operands = arity(fn);
  let zv = sv;
  let wv = sv;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const xv = loadOperand(x, xContiguous);
    if (operands > 1) zv = loadOperand(z, zContiguous);
    if (operands > 2) wv = v128.load(w);
    v128.store(y, apply(fn, xv, zv, wv, sv, tv));
    x += xStep;
    z += zStep;
    w += 16;
    y += 16;
  }
  const rest = n - i;
  if (rest > 0) {
    const xv = loadOperandPartial(x, xContiguous, rest);
    if (operands > 1) zv = loadOperandPartial(z, zContiguous, rest);
    if (operands > 2) wv = loadChunk(w, rest);
    storeChunk(y, apply(fn, xv, zv, wv, sv, tv), rest);
  }
}

export function unary(op: i32, x: usize, y: usize, n: i32): void {
  switch (op) {
    case NEG:
      stream(NEG, true, true, x, 0, 0, y, n, 0, 0);
      break;
    case EXP:
      stream(EXP, true, true, x, 0, 0, y, n, 0, 0);
      break;
    case LOG:
      stream(LOG, true, true, x, 0, 0, y, n, 0, 0);
      break;
    case ABS:
      stream(ABS, true, true, x, 0, 0, y, n, 0, 0);
      break;
    case SQRT:
      stream(SQRT, true, true, x, 0, 0, y, n, 0, 0);
      break;
    case SQUARE:
      stream(SQUARE, true, true, x, 0, 0, y, n, 0, 0);
      break;
    case RELU:
      stream(RELU, true, true, x, 0, 0, y, n, 0, 0);
      break;
    case SIGMOID:
      stream(SIGMOID, true, true, x, 0, 0, y, n, 0, 0);
      break;
    case TANH:
      stream(TANH, true, true, x, 0, 0, y, n, 0, 0);
      break;
  }
}

/** op: 0 relu, 1 sigmoid, 2 tanh; `y` is the forward output. */
export function activationBackward(op: i32, y: usize, g: usize, dx: usize, n: i32): void {
  switch (op) {
    case 0:
      stream(RELU_GRAD, true, true, y, g, 0, dx, n, 0, 0);
      break;
    case 1:
      stream(SIGMOID_GRAD, true, true, y, g, 0, dx, n, 0, 0);
      break;
    case 2:
      stream(TANH_GRAD, true, true, y, g, 0, dx, n, 0, 0);
      break;
  }
}

export function affine(x: usize, y: usize, n: i32, alpha: f32, beta: f32): void {
  stream(AFFINE, true, true, x, 0, 0, y, n, alpha, beta);
}

export function select(cond: usize, a: usize, b: usize, y: usize, n: i32): void {
  stream(SELECT, true, true, cond, a, b, y, n, 0, 0);
}

/**
 * y = a op b over a rank-6 broadcast; `layout` holds i32 shape[6], aStrides[6], bStrides[6]
 * (element strides, leading axes padded with size 1). op: 0 add, 1 sub, 2 mul, 3 div.
 */
export function binary(op: i32, a: usize, b: usize, y: usize, layout: usize): void {
  switch (op) {
    case 0:
      binaryNd(ADD, a, b, y, layout);
      break;
    case 1:
      binaryNd(SUB, a, b, y, layout);
      break;
    case 2:
      binaryNd(MUL, a, b, y, layout);
      break;
    case 3:
      binaryNd(DIV, a, b, y, layout);
      break;
  }
}

@inline
function binaryNd(fn: i32, a: usize, b: usize, y: usize, layout: usize): void {
  const inner = layoutField(layout, 0, 5);
  const aInner = layoutField(layout, 1, 5);
  const bInner = layoutField(layout, 2, 5);
  for (let i0 = 0; i0 < layoutField(layout, 0, 0); i0++) {
    for (let i1 = 0; i1 < layoutField(layout, 0, 1); i1++) {
      for (let i2 = 0; i2 < layoutField(layout, 0, 2); i2++) {
        for (let i3 = 0; i3 < layoutField(layout, 0, 3); i3++) {
          for (let i4 = 0; i4 < layoutField(layout, 0, 4); i4++) {
            const aOffset = leadingAxesOffset(layout, 1, i0, i1, i2, i3) + i4 * layoutField(layout, 1, 4);
            const bOffset = leadingAxesOffset(layout, 2, i0, i1, i2, i3) + i4 * layoutField(layout, 2, 4);
            binaryRow(fn, a + <usize>aOffset * 4, aInner, b + <usize>bOffset * 4, bInner, y, inner);
            y += <usize>inner * 4;
          }
        }
      }
    }
  }
}

@inline
function binaryRow(fn: i32, a: usize, aStep: i32, b: usize, bStep: i32, y: usize, n: i32): void {
  if (aStep == 1 && bStep == 1) {
    stream(fn, true, true, a, b, 0, y, n, 0, 0);
  } else if (aStep == 1 && bStep == 0) {
    stream(fn, true, false, a, b, 0, y, n, 0, 0);
  } else if (aStep == 0 && bStep == 1) {
    stream(fn, false, true, a, b, 0, y, n, 0, 0);
  } else {
    for (let i = 0; i < n; i++) {
      const x = v128.load32_splat(a + <usize>(i * aStep) * 4);
      const z = v128.load32_splat(b + <usize>(i * bStep) * 4);
      store<f32>(y + <usize>i * 4, f32x4.extract_lane(apply(fn, x, z, x, x, x), 0));
    }
  }
}
