// f32x4 transcendentals (Cephes single-precision polynomials, a few ulp) and helpers for the
// ragged ends of arrays, which are processed as partial vectors so every lane runs the same code.

const LOG2E: f32 = 1.44269504088896341;
/** ln 2 split so that n · LN2_HI is exact for every |n| ≤ 150. */
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
/** Below this exp(x) rounds to 0, above the next it overflows; clamping keeps 2^n representable. */
const EXP_MIN: f32 = -104.0;
const EXP_MAX: f32 = 89.0;
const SQRT_HALF: f32 = 0.707106781186547524;
const FLT_MIN_NORMAL: f32 = 1.17549435e-38;
/** Below this |x| tanh uses its odd Taylor-like polynomial, which keeps full accuracy near 0. */
const TANH_SMALL: f32 = 0.625;

/** 2^n for integer lanes n ∈ [-150, 128], as two factors so subnormal and 2^128 results survive. */
@inline
function exp2i(n: v128, x: v128): v128 {
  const half = i32x4.shr_s(n, 1);
  const bias = i32x4.splat(127);
  const first = i32x4.shl(i32x4.add(half, bias), 23);
  const second = i32x4.shl(i32x4.add(i32x4.sub(n, half), bias), 23);
  return f32x4.mul(f32x4.mul(x, first), second);
}

@inline
export function expV(x: v128): v128 {
  // min/max propagate NaN, so NaN lanes stay NaN through the whole computation.
  x = f32x4.max(f32x4.min(x, f32x4.splat(EXP_MAX)), f32x4.splat(EXP_MIN));
  const fx = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  let r = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(fx, f32x4.splat(LN2_LO)));
  const z = f32x4.mul(r, r);
  let y = f32x4.splat(1.9875691500e-4);
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(5.0000001201e-1));
  y = f32x4.add(f32x4.add(f32x4.mul(y, z), r), f32x4.splat(1));
  return exp2i(i32x4.trunc_sat_f32x4_s(fx), y);
}

@inline
export function logV(x: v128): v128 {
  // Subnormals are scaled into the normal range first so their exponent field is meaningful.
  const subnormal = f32x4.lt(x, f32x4.splat(FLT_MIN_NORMAL));
  const scaled = v128.bitselect(f32x4.mul(x, f32x4.splat(8388608.0)), x, subnormal);
  let e = i32x4.sub(i32x4.shr_u(scaled, 23), i32x4.splat(126));
  e = i32x4.sub(e, v128.and(subnormal, i32x4.splat(23)));
  // Mantissa in [0.5, 1).
  let m = v128.or(v128.and(scaled, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000));
  const small = f32x4.lt(m, f32x4.splat(SQRT_HALF));
  e = i32x4.add(e, small); // true lanes are −1
  m = f32x4.sub(f32x4.add(m, v128.and(m, small)), f32x4.splat(1));
  const fe = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(m, m);
  let y = f32x4.splat(7.0376836292e-2);
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-1.1514610310e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(1.1676998740e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-1.2420140846e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(1.4249322787e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-1.6668057665e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(2.0000714765e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-2.4999993993e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, m), z);
  y = f32x4.add(y, f32x4.mul(fe, f32x4.splat(LN2_LO)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  let result = f32x4.add(f32x4.add(m, y), f32x4.mul(fe, f32x4.splat(LN2_HI)));
  // log(+inf) = +inf, log(0) = −inf, log(x < 0) = log(NaN) = NaN.
  result = v128.bitselect(x, result, f32x4.eq(x, f32x4.splat(Infinity)));
  result = v128.bitselect(f32x4.splat(-Infinity), result, f32x4.eq(x, f32x4.splat(0)));
  const invalid = v128.or(f32x4.lt(x, f32x4.splat(0)), f32x4.ne(x, x));
  return v128.bitselect(f32x4.splat(NaN), result, invalid);
}

@inline
export function tanhV(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  // tanh|x| = 1 − 2 / (e^{2|x|} + 1), sign restored afterwards.
  const t = expV(f32x4.add(ax, ax));
  const large = f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(t, f32x4.splat(1))));
  const signed = v128.or(large, v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(small, signed, f32x4.lt(ax, f32x4.splat(TANH_SMALL)));
}

/** 1 / (1 + e^−|x|), times e^−|x| for negative x: e^x / (1 + e^x) keeps subnormal results. */
@inline
export function sigmoidV(x: v128): v128 {
  const e = expV(f32x4.neg(f32x4.abs(x)));
  const s = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), e));
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
