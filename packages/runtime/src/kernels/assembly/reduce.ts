// Reductions and the row-wise kernels built on them (softmax, layer norm, sum of squares).
import { expV, horizontalMax, horizontalSum, laneMask, loadChunk, logV, storeChunk } from './math';

const SUM = 0;
const MAX = 1;

@inline
function combine(op: i32, acc: v128, v: v128): v128 {
  return op == SUM ? f32x4.add(acc, v) : f32x4.max(acc, v);
}

@inline
function identity(op: i32): v128 {
  return f32x4.splat(op == SUM ? 0 : -Infinity);
}

/** Views x as [outer, r, inner]; y[o, i] = reduce over r. op: 0 sum, 1 max. */
export function reduce(op: i32, x: usize, y: usize, outer: i32, r: i32, inner: i32): void {
  if (op == SUM) reduceAxis(SUM, x, y, outer, r, inner);
  else reduceAxis(MAX, x, y, outer, r, inner);
}

@inline
function reduceAxis(op: i32, x: usize, y: usize, outer: i32, r: i32, inner: i32): void {
  const slab = <usize>r * <usize>inner * 4;
  for (let o = 0; o < outer; o++) {
    if (inner == 1) {
      store<f32>(y, reduceContiguous(op, x, r));
    } else {
      reduceColumns(op, x, y, r, inner);
    }
    x += slab;
    y += <usize>inner * 4;
  }
}

/** Reduces n contiguous floats with four independent accumulators. */
@inline
function reduceContiguous(op: i32, x: usize, n: i32): f32 {
  let acc0 = identity(op);
  let acc1 = acc0;
  let acc2 = acc0;
  let acc3 = acc0;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + <usize>i * 4;
    acc0 = combine(op, acc0, v128.load(p));
    acc1 = combine(op, acc1, v128.load(p, 16));
    acc2 = combine(op, acc2, v128.load(p, 32));
    acc3 = combine(op, acc3, v128.load(p, 48));
  }
  for (; i + 4 <= n; i += 4) acc0 = combine(op, acc0, v128.load(x + <usize>i * 4));
  if (i < n) {
    const tail = v128.bitselect(loadChunk(x + <usize>i * 4, n - i), identity(op), laneMask(n - i));
    acc1 = combine(op, acc1, tail);
  }
  const acc = combine(op, combine(op, acc0, acc1), combine(op, acc2, acc3));
  return op == SUM ? horizontalSum(acc) : horizontalMax(acc);
}

/** Reduces r rows of `inner` floats (row stride inner) into one row, 16 then 4 columns at a time. */
@inline
function reduceColumns(op: i32, x: usize, y: usize, r: i32, inner: i32): void {
  const rowBytes = <usize>inner * 4;
  let i = 0;
  for (; i + 16 <= inner; i += 16) {
    let acc0 = identity(op);
    let acc1 = acc0;
    let acc2 = acc0;
    let acc3 = acc0;
    let p = x + <usize>i * 4;
    for (let j = 0; j < r; j++) {
      acc0 = combine(op, acc0, v128.load(p));
      acc1 = combine(op, acc1, v128.load(p, 16));
      acc2 = combine(op, acc2, v128.load(p, 32));
      acc3 = combine(op, acc3, v128.load(p, 48));
      p += rowBytes;
    }
    const q = y + <usize>i * 4;
    v128.store(q, acc0);
    v128.store(q, acc1, 16);
    v128.store(q, acc2, 32);
    v128.store(q, acc3, 48);
  }
  for (; i < inner; i += 4) {
    const count = min(4, inner - i);
    let acc = identity(op);
    let p = x + <usize>i * 4;
    for (let j = 0; j < r; j++) {
      acc = combine(op, acc, loadChunk(p, count));
      p += rowBytes;
    }
    storeChunk(y + <usize>i * 4, acc, count);
  }
}

/** Σ x over n contiguous floats, in f32 lanes. */
@inline
function sumRow(x: usize, n: i32): f32 {
  return reduceContiguous(SUM, x, n);
}

// Row maps: what mapRow computes per element, and whether it stores the result.
/** e^(x − s), stored. */
const EXP_SHIFTED = 0;
/** e^(x − s), only summed (so log-softmax can run in place: x is read again afterwards). */
const SUM_EXP_SHIFTED = 1;
/** (x − s) − t, stored. */
const SHIFT_TWICE = 2;
/** x · s, stored. */
const SCALE = 3;
/** (x − s)², only summed. */
const SQUARED_DEVIATION = 4;

/** Applies the row map `kind` to n contiguous floats and returns the sum of its results. */
@inline
function mapRow(kind: i32, x: usize, y: usize, n: i32, s: f32, t: f32 = 0): f32 {
  const sv = f32x4.splat(s);
  const tv = f32x4.splat(t);
  let acc = f32x4.splat(0);
  for (let j = 0; j < n; j += 4) {
    const count = min(4, n - j);
    const xv = loadRowChunk(x, j, count);
    let v: v128;
    if (kind == EXP_SHIFTED || kind == SUM_EXP_SHIFTED) v = expV(f32x4.sub(xv, sv));
    else if (kind == SHIFT_TWICE) v = f32x4.sub(f32x4.sub(xv, sv), tv);
    else if (kind == SCALE) v = f32x4.mul(xv, sv);
    else {
      const d = f32x4.sub(xv, sv);
      v = f32x4.mul(d, d);
    }
    if (count < 4) v = v128.and(v, laneMask(count));
    if (kind != SUM_EXP_SHIFTED && kind != SQUARED_DEVIATION) storeRowChunk(y, j, count, v);
    acc = f32x4.add(acc, v);
  }
  return horizontalSum(acc);
}

/** Row-wise softmax or log-softmax; y may be x itself. */
export function softmax(x: usize, y: usize, rows: i32, cols: i32, log: bool): void {
  const rowBytes = <usize>cols * 4;
  for (let row = 0; row < rows; row++) {
    const rowMax = reduceContiguous(MAX, x, cols);
    if (log) {
      const sum = mapRow(SUM_EXP_SHIFTED, x, y, cols, rowMax);
      // x − max is exact for the largest entries; subtracting log Σ afterwards keeps them precise.
      mapRow(SHIFT_TWICE, x, y, cols, rowMax, f32x4.extract_lane(logV(f32x4.splat(sum)), 0));
    } else {
      const sum = mapRow(EXP_SHIFTED, x, y, cols, rowMax);
      mapRow(SCALE, y, y, cols, 1 / sum);
    }
    x += rowBytes;
    y += rowBytes;
  }
}

/** softmax: dx = y ⊙ (g − Σ g⊙y); log-softmax: dx = g − e^y · Σ g. */
export function softmaxBackward(y: usize, g: usize, dx: usize, rows: i32, cols: i32, log: bool): void {
  const rowBytes = <usize>cols * 4;
  for (let row = 0; row < rows; row++) {
    let acc = f32x4.splat(0);
    for (let j = 0; j < cols; j += 4) {
      const count = min(4, cols - j);
      const gv = loadRowChunk(g, j, count);
      acc = f32x4.add(acc, log ? gv : f32x4.mul(gv, loadRowChunk(y, j, count)));
    }
    const dot = f32x4.splat(horizontalSum(acc));
    for (let j = 0; j < cols; j += 4) {
      const count = min(4, cols - j);
      const gv = loadRowChunk(g, j, count);
      const yv = loadRowChunk(y, j, count);
      const d = log ? f32x4.sub(gv, f32x4.mul(expV(yv), dot)) : f32x4.mul(yv, f32x4.sub(gv, dot));
      storeRowChunk(dx, j, count, d);
    }
    y += rowBytes;
    g += rowBytes;
    dx += rowBytes;
  }
}

/** Loads floats j..j+count−1 of a row (count ≤ 4), zeros in missing lanes. */
@inline
function loadRowChunk(row: usize, j: i32, count: i32): v128 {
  return loadChunk(row + <usize>j * 4, count);
}

@inline
function storeRowChunk(row: usize, j: i32, count: i32, v: v128): void {
  storeChunk(row + <usize>j * 4, v, count);
}

export function layerNorm(
  x: usize,
  y: usize,
  mean: usize,
  rstd: usize,
  rows: i32,
  cols: i32,
  eps: f32,
): void {
  const rowBytes = <usize>cols * 4;
  for (let row = 0; row < rows; row++) {
    const mu = sumRow(x, cols) / <f32>cols;
    const variance = mapRow(SQUARED_DEVIATION, x, y, cols, mu) / <f32>cols;
    const scale: f32 = 1 / sqrt<f32>(variance + eps);
    const shift = f32x4.splat(mu);
    const scaleV = f32x4.splat(scale);
    for (let j = 0; j < cols; j += 4) {
      const count = min(4, cols - j);
      storeRowChunk(y, j, count, f32x4.mul(f32x4.sub(loadRowChunk(x, j, count), shift), scaleV));
    }
    store<f32>(mean + <usize>row * 4, mu);
    store<f32>(rstd + <usize>row * 4, scale);
    x += rowBytes;
    y += rowBytes;
  }
}

/** dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)), x̂ = (x − mean) · rstd. */
export function layerNormBackward(
  x: usize,
  mean: usize,
  rstd: usize,
  g: usize,
  dx: usize,
  rows: i32,
  cols: i32,
): void {
  const rowBytes = <usize>cols * 4;
  for (let row = 0; row < rows; row++) {
    const shift = v128.load32_splat(mean + <usize>row * 4);
    const scale = v128.load32_splat(rstd + <usize>row * 4);
    let gSum = f32x4.splat(0);
    let gxSum = f32x4.splat(0);
    for (let j = 0; j < cols; j += 4) {
      const count = min(4, cols - j);
      const gv = loadRowChunk(g, j, count);
      const normalized = f32x4.mul(f32x4.sub(loadRowChunk(x, j, count), shift), scale);
      gSum = f32x4.add(gSum, gv);
      gxSum = f32x4.add(gxSum, v128.and(f32x4.mul(gv, normalized), laneMask(count)));
    }
    const gMean = f32x4.splat(horizontalSum(gSum) / <f32>cols);
    const gxMean = f32x4.splat(horizontalSum(gxSum) / <f32>cols);
    for (let j = 0; j < cols; j += 4) {
      const count = min(4, cols - j);
      const normalized = f32x4.mul(f32x4.sub(loadRowChunk(x, j, count), shift), scale);
      const centered = f32x4.sub(f32x4.sub(loadRowChunk(g, j, count), gMean), f32x4.mul(normalized, gxMean));
      storeRowChunk(dx, j, count, f32x4.mul(scale, centered));
    }
    x += rowBytes;
    g += rowBytes;
    dx += rowBytes;
  }
}

/** Floats summed in f32 lanes before a partial sum is promoted to f64. */
const SQUARES_CHUNK = 1024;

/** Σ x² in f64: short f32x4 runs keep the SIMD speed, the f64 total keeps long sums precise. */
export function sumSquares(x: usize, n: i32): f64 {
  let total: f64 = 0;
  for (let start = 0; start < n; start += SQUARES_CHUNK) {
    const count = min(SQUARES_CHUNK, n - start);
    let acc0 = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    let p = x + <usize>start * 4;
    let i = 0;
    for (; i + 8 <= count; i += 8) {
      const v0 = v128.load(p);
      const v1 = v128.load(p, 16);
      acc0 = f32x4.add(acc0, f32x4.mul(v0, v0));
      acc1 = f32x4.add(acc1, f32x4.mul(v1, v1));
      p += 32;
    }
    for (; i < count; i += 4) {
      const v = loadChunk(p, count - i);
      acc0 = f32x4.add(acc0, f32x4.mul(v, v));
      p += 16;
    }
    const acc = f32x4.add(acc0, acc1);
    total +=
      <f64>f32x4.extract_lane(acc, 0) +
      <f64>f32x4.extract_lane(acc, 1) +
      <f64>f32x4.extract_lane(acc, 2) +
      <f64>f32x4.extract_lane(acc, 3);
  }
  return total;
}
