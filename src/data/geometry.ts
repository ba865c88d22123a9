/** Small 3-D helpers shared by the synthetic generator and the rotation augmentation. */

export type Vec3 = [number, number, number];
/** Row-major 3×3 matrix. */
export type Matrix3 = readonly number[];

export const IDENTITY: Matrix3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/** Rotation by `angle` radians about the unit vector `axis` (Rodrigues' formula). */
export function rotation(axis: Vec3, angle: number): Matrix3 {
  const [x, y, z] = axis;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const t = 1 - c;
  return [
    t * x * x + c,
    t * x * y - s * z,
    t * x * z + s * y,
    t * x * y + s * z,
    t * y * y + c,
    t * y * z - s * x,
    t * x * z - s * y,
    t * y * z + s * x,
    t * z * z + c,
  ];
}

export function multiply(a: Matrix3, b: Matrix3): Matrix3 {
  const out: number[] = new Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      out[r * 3 + c] = a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c];
    }
  }
  return out;
}

/** Rotates every (x, y, z) triple of `points` by m in place (no allocation per point). */
export function applyToPoints(m: Matrix3, points: Float32Array): void {
  for (let k = 0; k + 2 < points.length; k += 3) {
    const x = points[k];
    const y = points[k + 1];
    const z = points[k + 2];
    points[k] = m[0] * x + m[1] * y + m[2] * z;
    points[k + 1] = m[3] * x + m[4] * y + m[5] * z;
    points[k + 2] = m[6] * x + m[7] * y + m[8] * z;
  }
}

export function apply(m: Matrix3, v: ArrayLike<number>): Vec3 {
  return [
    m[0] * v[0] + m[1] * v[1] + m[2] * v[2],
    m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
    m[6] * v[0] + m[7] * v[1] + m[8] * v[2],
  ];
}
