// f32x4 transcendentals (Cephes single-precision polynomials, a few ulp) and helpers for the
// ragged ends of arrays, which are processed as partial vectors so every lane runs the same code.
//
// Written for V8's code generator: constants live in static memory (a v128.const costs V8 three
// instructions through a general register on every use, a load-and-splat one), polynomials use
// Estrin's scheme (short dependency chains, so consecutive vectors overlap in the out-of-order
// core), rounding uses the 1.5·2²³ trick, and clamps use pmin/pmax with x first, which keeps NaN.

/**
 * a · b + c: one fused multiply-add where the module is built with relaxed SIMD (whether it fuses is
 * the hardware's choice, so the last bit may differ between machines), else a multiply and an add.
 */
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** One f32 (or i32 bit pattern) in static memory, splatted on use. */
@inline
function constant(ptr: usize): v128 {
  return v128.load32_splat(ptr);
}

const ONE = memory.data<f32>([1.0]);
const TWO = memory.data<f32>([2.0]);
const HALF = memory.data<f32>([0.5]);
const SIGN_MASK = memory.data<i32>([0x80000000]);
const LOG2E = memory.data<f32>([1.44269504088896341]);
/** ln 2 split so that n · LN2_HI is exact for every |n| ≤ 150. */
const LN2_HI = memory.data<f32>([0.693359375]);
const LN2_LO = memory.data<f32>([-2.12194440e-4]);
/** Adding 1.5·2²³ rounds a float of magnitude < 2²² to an integer, which then sits in the low bits. */
const ROUNDER = memory.data<f32>([12582912.0]);
const EXPONENT_BIAS = memory.data<i32>([127]);
/** Below this exp(x) rounds to 0, above the next it overflows; clamping keeps 2^n representable. */
const EXP_MIN = memory.data<f32>([-104.0]);
const EXP_MAX = memory.data<f32>([89.0]);
/** e^r ≈ 1 + r + r²·(P0·r⁵ + … + P5) on |r| ≤ ln2/2. */
const EXP_P = memory.data<f32>([1.98756915e-4, 1.39819995e-3, 8.33345191e-3, 4.16657959e-2, 1.66666655e-1, 5.00000012e-1]);
const SQRT_HALF = memory.data<f32>([0.707106781186547524]);
const FLT_MIN_NORMAL = memory.data<f32>([1.17549435e-38]);
const TWO_POW_23 = memory.data<f32>([8388608.0]);
const MANTISSA_MASK = memory.data<i32>([0x007fffff]);
const HALF_BITS = memory.data<i32>([0x3f000000]);
const EXPONENT_OFFSET = memory.data<i32>([126]);
const SUBNORMAL_SHIFT = memory.data<i32>([23]);
const INFINITY = memory.data<f32>([Infinity]);
const NEG_INFINITY = memory.data<f32>([-Infinity]);
const NAN = memory.data<f32>([NaN]);
/** log(1 + m) ≈ m − m²/2 + m³·(L0·m⁸ + … + L8) on m ∈ [√½ − 1, √2 − 1]. */
const LOG_P = memory.data<f32>([
  7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
  2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
]);
/** Below this |x| tanh uses its odd polynomial, which keeps full accuracy near 0. */
const TANH_SMALL = memory.data<f32>([0.625]);
/** tanh x ≈ x + x³·(T0·x⁸ + … + T4) for |x| < 0.625. */
const TANH_P = memory.data<f32>([-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1]);

/** coefficients[i] · x + coefficients[i + 1]. */
@inline
function linear(coefficients: usize, i: i32, x: v128): v128 {
  return f32x4.add(
    f32x4.mul(v128.load32_splat(coefficients + <usize>i * 4), x),
    v128.load32_splat(coefficients + <usize>(i + 1) * 4),
  );
}

/** 2^n for integer lanes n ∈ [-150, 128], as two factors so subnormal and 2^128 results survive. */
@inline
function scaleByPowerOfTwo(x: v128, n: v128): v128 {
  const half = i32x4.shr_s(n, 1);
  const bias = constant(EXPONENT_BIAS);
  const first = i32x4.shl(i32x4.add(half, bias), 23);
  const second = i32x4.shl(i32x4.add(i32x4.sub(n, half), bias), 23);
  return f32x4.mul(f32x4.mul(x, first), second);
}

@inline
export function expV(x: v128): v128 {
  x = f32x4.pmax(f32x4.pmin(x, constant(EXP_MAX)), constant(EXP_MIN));
  const rounder = constant(ROUNDER);
  const shifted = f32x4.add(f32x4.mul(x, constant(LOG2E)), rounder);
  const fx = f32x4.sub(shifted, rounder);
  const n = i32x4.sub(shifted, rounder);
  let r = f32x4.sub(x, f32x4.mul(fx, constant(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(fx, constant(LN2_LO)));
  const r2 = f32x4.mul(r, r);
  // Estrin: (P4·r + P5) + r²·((P2·r + P3) + r²·(P0·r + P1)).
  const high = f32x4.add(linear(EXP_P, 2, r), f32x4.mul(r2, linear(EXP_P, 0, r)));
  const poly = f32x4.add(linear(EXP_P, 4, r), f32x4.mul(r2, high));
  const y = f32x4.add(f32x4.add(f32x4.mul(poly, r2), r), constant(ONE));
  return scaleByPowerOfTwo(y, n);
}

/** c − a · b, fused where the module is built with relaxed SIMD (see madd). */
@inline
export function nmadd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_nmadd(a, b, c);
  return f32x4.sub(c, f32x4.mul(a, b));
}

/** Above ln 2^−126: 2^n stays a normal float for every n that rounding x·log2 e can give. */
const EXP_MIN_NORMAL = memory.data<f32>([-87.0]);

/**
 * e^x for x ≤ 0 (NaN stays NaN), as softmax needs after subtracting the maximum: expV's polynomial
 * with multiply-adds, no upper clamp, and one power-of-two factor. Below −87 (e^x < 1.7e−38) the
 * result is 0 rather than a tiny or subnormal value, so e^−∞ = 0 as in expV.
 */
@inline
export function expNonPositiveV(input: v128): v128 {
  const low = constant(EXP_MIN_NORMAL);
  const x = f32x4.pmax(input, low);
  const rounder = constant(ROUNDER);
  const shifted = madd(x, constant(LOG2E), rounder);
  const fx = f32x4.sub(shifted, rounder);
  const n = i32x4.sub(shifted, rounder);
  let r = nmadd(fx, constant(LN2_HI), x);
  r = nmadd(fx, constant(LN2_LO), r);
  const r2 = f32x4.mul(r, r);
  // Estrin as in expV: (P4·r + P5) + r²·((P2·r + P3) + r²·(P0·r + P1)).
  const high = madd(r2, maddLinear(EXP_P, 0, r), maddLinear(EXP_P, 2, r));
  const poly = madd(r2, high, maddLinear(EXP_P, 4, r));
  const y = f32x4.add(madd(poly, r2, r), constant(ONE));
  const result = f32x4.mul(y, i32x4.shl(i32x4.add(n, constant(EXPONENT_BIAS)), 23));
  return v128.andnot(result, f32x4.lt(input, low));
}

/** coefficients[i] · x + coefficients[i + 1] as one multiply-add. */
@inline
function maddLinear(coefficients: usize, i: i32, x: v128): v128 {
  return madd(v128.load32_splat(coefficients + <usize>i * 4), x, v128.load32_splat(coefficients + <usize>(i + 1) * 4));
}

@inline
export function logV(x: v128): v128 {
  // Subnormals are scaled into the normal range first so their exponent field is meaningful.
  const subnormal = f32x4.lt(x, constant(FLT_MIN_NORMAL));
  const scaled = v128.bitselect(f32x4.mul(x, constant(TWO_POW_23)), x, subnormal);
  let e = i32x4.sub(i32x4.shr_u(scaled, 23), constant(EXPONENT_OFFSET));
  e = i32x4.sub(e, v128.and(subnormal, constant(SUBNORMAL_SHIFT)));
  // Mantissa in [0.5, 1), then m − 1 or 2m − 1 so that it lies in [√½ − 1, √2 − 1].
  let m = v128.or(v128.and(scaled, constant(MANTISSA_MASK)), constant(HALF_BITS));
  const small = f32x4.lt(m, constant(SQRT_HALF));
  e = i32x4.add(e, small); // true lanes are −1
  m = f32x4.sub(f32x4.add(m, v128.and(m, small)), constant(ONE));
  const fe = f32x4.convert_i32x4_s(e);
  const m2 = f32x4.mul(m, m);
  const m4 = f32x4.mul(m2, m2);
  // Estrin over L0·m⁸ + … + L8.
  const low = f32x4.add(linear(LOG_P, 7, m), f32x4.mul(m2, linear(LOG_P, 5, m)));
  const mid = f32x4.add(linear(LOG_P, 3, m), f32x4.mul(m2, linear(LOG_P, 1, m)));
  const high = f32x4.add(mid, f32x4.mul(m4, constant(LOG_P)));
  const poly = f32x4.add(low, f32x4.mul(m4, high));
  let y = f32x4.mul(f32x4.mul(poly, m), m2);
  y = f32x4.add(y, f32x4.mul(fe, constant(LN2_LO)));
  y = f32x4.sub(y, f32x4.mul(m2, constant(HALF)));
  let result = f32x4.add(f32x4.add(m, y), f32x4.mul(fe, constant(LN2_HI)));
  // log(+inf) = +inf, log(0) = −inf, log(x < 0) = log(NaN) = NaN.
  const infinity = constant(INFINITY);
  result = v128.bitselect(infinity, result, f32x4.eq(x, infinity));
  result = v128.bitselect(constant(NEG_INFINITY), result, f32x4.eq(x, f32x4.splat(0)));
  const invalid = v128.or(f32x4.lt(x, f32x4.splat(0)), f32x4.ne(x, x));
  return v128.bitselect(constant(NAN), result, invalid);
}

@inline
export function tanhV(x: v128): v128 {
  const ax = f32x4.abs(x);
  const x2 = f32x4.mul(x, x);
  const x4 = f32x4.mul(x2, x2);
  // Estrin over T0·x⁸ + … + T4: (T3·x² + T4) + x⁴·((T1·x² + T2) + x⁴·T0).
  const high = f32x4.add(linear(TANH_P, 1, x2), f32x4.mul(x4, constant(TANH_P)));
  const poly = f32x4.add(linear(TANH_P, 3, x2), f32x4.mul(x4, high));
  const small = f32x4.add(f32x4.mul(f32x4.mul(poly, x2), x), x);
  // tanh|x| = 1 − 2 / (e^{2|x|} + 1), sign restored afterwards.
  const one = constant(ONE);
  const t = expV(f32x4.add(ax, ax));
  const large = f32x4.sub(one, f32x4.div(constant(TWO), f32x4.add(t, one)));
  const signed = v128.or(large, v128.and(x, constant(SIGN_MASK)));
  return v128.bitselect(small, signed, f32x4.lt(ax, constant(TANH_SMALL)));
}

/** 1 / (1 + e^−|x|), times e^−|x| for negative x: e^x / (1 + e^x) keeps subnormal results. */
@inline
export function sigmoidV(x: v128): v128 {
  const one = constant(ONE);
  const e = expV(f32x4.neg(f32x4.abs(x)));
  const s = f32x4.div(one, f32x4.add(one, e));
  return v128.bitselect(f32x4.mul(e, s), s, f32x4.lt(x, f32x4.splat(0)));
}

/** Loads min(count, 4) floats, zeros in missing lanes, never reading past them. */
@inline
export function loadChunk(ptr: usize, count: i32): v128 {
  if (count >= 4) return v128.load(ptr);
  let v = v128.load32_zero(ptr);
  if (count > 1) v = v128.load32_lane(ptr, v, 1, 4);
  if (count > 2) v = v128.load32_lane(ptr, v, 2, 8);
  return v;
}

/** Stores the low min(count, 4) lanes. */
@inline
export function storeChunk(ptr: usize, v: v128, count: i32): void {
  if (count >= 4) {
    v128.store(ptr, v);
    return;
  }
  v128.store32_lane(ptr, v, 0);
  if (count > 1) v128.store32_lane(ptr, v, 1, 4);
  if (count > 2) v128.store32_lane(ptr, v, 2, 8);
}

@inline
export function horizontalSum(v: v128): f32 {
  const pairs = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(pairs, 0) + f32x4.extract_lane(pairs, 1);
}

@inline
export function horizontalMax(v: v128): f32 {
  const pairs = f32x4.max(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return max(f32x4.extract_lane(pairs, 0), f32x4.extract_lane(pairs, 1));
}

/** Mask of the low `count` lanes. */
@inline
export function laneMask(count: i32): v128 {
  return i32x4.gt_s(i32x4.splat(count), i32x4(0, 1, 2, 3));
}

/**
 * Transposes a 4×4 block in registers: the four rows at src, src + inStep, … (bytes apart) become
 * the four columns written at dst, dst + outStep, ….
 */
@inline
export function transpose4x4(src: usize, inStep: usize, dst: usize, outStep: usize): void {
  transpose4x4To(src, inStep, dst, dst + outStep, dst + 2 * outStep, dst + 3 * outStep);
}

/**
 * transpose4x4 with each column's own destination: the four rows at src, src + inStep, … become
 * the columns written at dst0 … dst3 (the input gather's four target rows lie anywhere).
 */
@inline
export function transpose4x4To(src: usize, inStep: usize, dst0: usize, dst1: usize, dst2: usize, dst3: usize): void {
  const r0 = v128.load(src);
  const r1 = v128.load(src + inStep);
  const r2 = v128.load(src + 2 * inStep);
  const r3 = v128.load(src + 3 * inStep);
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst0, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(dst1, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(dst2, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(dst3, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}
