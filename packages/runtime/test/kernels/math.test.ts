import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Kernels, UnaryOp } from '../../src/kernels/types.js';
import { buffer, heap, read, threaded, ts, wasm } from './helpers.js';

after(() => threaded.dispose());

const SPECIALS = [0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN];
const SUBNORMALS = [1.4e-45, 3e-42, 1e-39, 1.1754942e-38];
const FLOAT_MAX = 3.4028234663852886e38;

/** Magnitudes from 1e-45 to 3e38 (logarithmically), plus a dense grid over [-20, 20], both signs. */
function wideInputs(): number[] {
  const values = [...SPECIALS, ...SUBNORMALS, ...SUBNORMALS.map((v) => -v), FLOAT_MAX, -FLOAT_MAX];
  for (let e = -45; e <= 38; e += 0.05) values.push(10 ** e, -(10 ** e));
  for (let x = -20; x <= 20; x += 0.001) values.push(x);
  for (const edge of [88.72, 88.7228, 88.73, -87.33, -103.9, -104, 0.625, -0.625, 1, 0.5, 2]) {
    values.push(edge, Math.fround(edge * (1 + 1e-7)), Math.fround(edge * (1 - 1e-7)));
  }
  return Array.from(Float32Array.from(values));
}

/** Distance between adjacent float32 values at |v| (the subnormal spacing near 0). */
function ulp(v: number): number {
  const magnitude = Math.abs(Math.fround(v));
  if (magnitude < 1.1754943508222875e-38) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(magnitude)) - 23);
}

const REFERENCE: Partial<Record<UnaryOp, (x: number) => number>> = {
  exp: Math.exp,
  log: Math.log,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};

/** Largest error in float32 ulps of the result against the float64 reference, over all inputs. */
function maxUlpError(kernels: Kernels, op: UnaryOp, inputs: number[]): { ulps: number; at: number } {
  const reference = REFERENCE[op]!;
  const x = buffer(inputs);
  const y = heap.alloc(inputs.length);
  kernels.unary(op, x, y, inputs.length);
  const out = read(y, inputs.length);
  heap.free(x);
  heap.free(y);
  let worst = { ulps: 0, at: Number.NaN };
  inputs.forEach((input, i) => {
    const expected = reference(input);
    const actual = out[i];
    const exactFloat = Math.fround(expected);
    if (!Number.isFinite(exactFloat)) {
      assert.ok(
        Object.is(actual, exactFloat),
        `${kernels.name} ${op}(${input}) = ${actual}, expected ${exactFloat}`,
      );
      return;
    }
    const ulps = Math.abs(actual - expected) / ulp(expected);
    if (!(ulps <= worst.ulps)) worst = { ulps, at: input };
  });
  return worst;
}

describe('transcendentals against Math.* in float64', () => {
  const inputs = wideInputs();
  // Bounds in float32 ulps of the result; the TS fallback rounds a float64 result once.
  const bounds: Record<string, number> = { exp: 3, log: 3, tanh: 4, sigmoid: 4 };

  for (const op of ['exp', 'log', 'tanh', 'sigmoid'] as const) {
    it(`${op} stays within ${bounds[op]} ulp over the float range, including 0, ±∞, NaN, subnormals`, () => {
      const w = maxUlpError(wasm, op, inputs);
      assert.ok(w.ulps <= bounds[op], `wasm ${op}: ${w.ulps.toFixed(2)} ulp at x = ${w.at}`);
      const t = maxUlpError(ts, op, inputs);
      assert.ok(t.ulps <= 0.5 + 1e-9, `ts ${op}: ${t.ulps.toFixed(2)} ulp at x = ${t.at}`);
    });
  }

  it('gets the edge values exactly', () => {
    const x = buffer([0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, Number.NaN, 1]);
    for (const kernels of [wasm, ts]) {
      const y = heap.alloc(6);
      kernels.unary('log', x, y, 6);
      assert.deepEqual(Array.from(read(y, 6)), [-Infinity, Infinity, Number.NaN, Number.NaN, Number.NaN, 0]);
      kernels.unary('exp', x, y, 6);
      assert.deepEqual(Array.from(read(y, 6)), [
        1,
        Infinity,
        0,
        Math.fround(Math.exp(-1)),
        Number.NaN,
        Math.fround(Math.E),
      ]);
      kernels.unary('tanh', x, y, 6);
      assert.deepEqual(Array.from(read(y, 3)), [0, 1, -1]);
      kernels.unary('sigmoid', x, y, 6);
      assert.deepEqual(Array.from(read(y, 3)), [0.5, 1, 0]);
      heap.free(y);
    }
  });
});
