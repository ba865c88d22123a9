import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ActivationOp, BinaryOp, Kernels, Ptr, UnaryOp } from '../../src/kernels/types.js';
import { assertClose, buffer, copyOf, heap, Rng, randomBuffer, read, threaded, ts, wasm } from './helpers.js';

after(() => threaded.dispose());

const LENGTHS = [1, 3, 17, 129];

/** Runs the same kernel call on both backends into fresh outputs and returns both results. */
function onBoth(size: number, call: (kernels: Kernels, out: Ptr) => void): [Float32Array, Float32Array] {
  return [wasm, ts].map((kernels) => {
    const out = heap.alloc(size);
    call(kernels, out);
    const result = read(out, size);
    heap.free(out);
    return result;
  }) as [Float32Array, Float32Array];
}

describe('element-wise kernels', () => {
  const rng = new Rng(21);

  it('unary ops match the fallback', () => {
    const ops: UnaryOp[] = ['neg', 'exp', 'log', 'abs', 'sqrt', 'square', 'relu', 'sigmoid', 'tanh'];
    for (const op of ops) {
      for (const n of LENGTHS) {
        // log and sqrt see negatives too: both backends must agree on the NaNs.
        const x = randomBuffer(rng, n, -4, 4);
        const [actual, expected] = onBoth(n, (k, y) => k.unary(op, x, y, n));
        assertClose(actual, expected, 4e-6, `${op} n=${n}`, 1e-30);
        heap.free(x);
      }
    }
  });

  it('unary ops work in place', () => {
    const x = randomBuffer(rng, 37, 0.1, 3);
    const copy = copyOf(x, 37);
    wasm.unary('log', x, x, 37);
    ts.unary('log', copy, copy, 37);
    assertClose(read(x, 37), read(copy, 37), 4e-6, 'in-place log');
  });

  it('activation gradients match the fallback', () => {
    const ops: ActivationOp[] = ['relu', 'sigmoid', 'tanh'];
    for (const op of ops) {
      for (const n of LENGTHS) {
        const y = randomBuffer(rng, n, -1, 1);
        const g = randomBuffer(rng, n, -2, 2);
        const [actual, expected] = onBoth(n, (k, dx) => k.activationBackward(op, y, g, dx, n));
        assertClose(actual, expected, 1e-6, `${op}' n=${n}`, 1);
        heap.free(y);
        heap.free(g);
      }
    }
    const y = buffer([0, 1, -1, 2]);
    const g = buffer([5, 6, 7, 8]);
    const [relu] = onBoth(4, (k, dx) => k.activationBackward('relu', y, g, dx, 4));
    assert.deepEqual(Array.from(relu), [0, 6, 0, 8]);
  });

  it('affine and select match the fallback', () => {
    for (const n of LENGTHS) {
      const x = randomBuffer(rng, n);
      const [affine, affineRef] = onBoth(n, (k, y) => k.affine(x, y, n, -1.5, 0.25));
      assertClose(affine, affineRef, 1e-6, `affine n=${n}`, 1);
      const cond = buffer(Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : i % 3 === 1 ? 1 : -0.5)));
      const a = randomBuffer(rng, n);
      const [chosen, chosenRef] = onBoth(n, (k, y) => k.select(cond, a, x, y, n));
      assert.deepEqual(chosen, chosenRef);
      assert.equal(chosen[0], read(x, 1)[0]);
      for (const ptr of [x, cond, a]) heap.free(ptr);
    }
  });

  it('binary ops broadcast like the fallback, exactly', () => {
    const ops: BinaryOp[] = ['add', 'sub', 'mul', 'div'];
    // [shape, aStrides, bStrides, a size, b size]
    const patterns: [number[], number[], number[], number, number][] = [
      [[129], [1], [1], 129, 129],
      [[17, 3], [3, 1], [0, 0], 51, 1],
      [[3, 17], [0, 0], [17, 1], 1, 51],
      [[5, 17], [17, 1], [0, 1], 85, 17],
      [[5, 17], [17, 1], [1, 0], 85, 5],
      [[17, 5], [1, 17], [5, 1], 85, 85],
      [[2, 3, 4, 5], [60, 20, 5, 1], [0, 1, 0, 3], 120, 15],
      [[2, 1, 3, 1, 4, 3], [36, 36, 12, 12, 3, 1], [0, 0, 1, 0, 3, 0], 72, 12],
    ];
    for (const op of ops) {
      for (const [shape, aStrides, bStrides, aSize, bSize] of patterns) {
        const n = shape.reduce((p, s) => p * s, 1);
        const a = randomBuffer(rng, aSize);
        const b = randomBuffer(rng, bSize, 0.5, 2);
        const [actual, expected] = onBoth(n, (k, y) => k.binary(op, a, aStrides, b, bStrides, y, shape));
        assert.deepEqual(actual, expected, `${op} ${JSON.stringify(shape)}`);
        heap.free(a);
        heap.free(b);
      }
    }
    // The contract itself, on a small case: a [2,3] row-broadcast.
    const a = buffer([1, 2, 3, 4, 5, 6]);
    const b = buffer([10, 20, 30]);
    const [sum] = onBoth(6, (k, y) => k.binary('add', a, [3, 1], b, [0, 1], y, [2, 3]));
    assert.deepEqual(Array.from(sum), [11, 22, 33, 14, 25, 36]);
  });

  it('binary ops work in place (y aliasing a)', () => {
    const a = randomBuffer(rng, 85);
    const b = randomBuffer(rng, 17);
    const copy = copyOf(a, 85);
    wasm.binary('mul', a, [17, 1], b, [0, 1], a, [5, 17]);
    ts.binary('mul', copy, [17, 1], b, [0, 1], copy, [5, 17]);
    assert.deepEqual(read(a, 85), read(copy, 85));
  });

  it('permute matches the fallback, exactly', () => {
    const cases: [number[], number[]][] = [
      [[17], [0]],
      [
        [3, 17],
        [1, 0],
      ],
      [
        [17, 129],
        [1, 0],
      ],
      [
        [2, 3, 17],
        [0, 2, 1],
      ],
      [
        [4, 5, 6],
        [2, 0, 1],
      ],
      [
        [8, 3, 9, 5],
        [0, 2, 3, 1],
      ],
      [
        [2, 3, 1, 4, 5, 3],
        [5, 3, 0, 2, 4, 1],
      ],
      [
        [3, 4, 5],
        [0, 1, 2],
      ],
    ];
    for (const [shape, perm] of cases) {
      const n = shape.reduce((p, s) => p * s, 1);
      const x = randomBuffer(rng, n);
      const [actual, expected] = onBoth(n, (k, y) => k.permute(x, y, shape, perm));
      assert.deepEqual(actual, expected, `${JSON.stringify(shape)} by ${JSON.stringify(perm)}`);
      heap.free(x);
    }
    const x = buffer([0, 1, 2, 3, 4, 5]);
    const [transposed] = onBoth(6, (k, y) => k.permute(x, y, [2, 3], [1, 0]));
    assert.deepEqual(Array.from(transposed), [0, 3, 1, 4, 2, 5]);
  });
});

describe('reductions and row-wise kernels', () => {
  const rng = new Rng(22);

  it('reduce sum and max over [outer, r, inner] match the fallback', () => {
    const shapes = [
      [1, 129, 1],
      [3, 17, 1],
      [2, 5, 129],
      [4, 17, 3],
      [2, 3, 17],
      [3, 0, 5],
      [1, 1, 4],
    ];
    for (const [outer, r, inner] of shapes) {
      const n = Math.max(1, outer * r * inner);
      const x = randomBuffer(rng, n);
      const [sum, sumRef] = onBoth(outer * inner, (k, y) => k.reduce('sum', x, y, outer, r, inner));
      assertClose(sum, sumRef, 1e-6 * (r + 1), `sum ${outer}×${r}×${inner}`, 1);
      const [max, maxRef] = onBoth(outer * inner, (k, y) => k.reduce('max', x, y, outer, r, inner));
      assert.deepEqual(max, maxRef, `max ${outer}×${r}×${inner}`);
      heap.free(x);
    }
  });

  it('softmax and log-softmax (and their backward) match the fallback', () => {
    for (const cols of LENGTHS) {
      const rows = 3;
      const n = rows * cols;
      // Large logits: only a max-subtracting softmax stays finite.
      const x = randomBuffer(rng, n, 80, 120);
      const g = randomBuffer(rng, n);
      for (const log of [false, true]) {
        const [y, yRef] = onBoth(n, (k, out) => k.softmax(x, out, rows, cols, log));
        assertClose(y, yRef, 2e-6, `softmax log=${log} cols=${cols}`, log ? 1 : 0.01);
        const yPtr = buffer(Array.from(yRef));
        const [dx, dxRef] = onBoth(n, (k, out) => k.softmaxBackward(yPtr, g, out, rows, cols, log));
        assertClose(dx, dxRef, 1e-5, `softmax' log=${log} cols=${cols}`, 1);
        heap.free(yPtr);
      }
      const [p] = onBoth(n, (k, out) => k.softmax(x, out, rows, cols, false));
      assert.ok(Math.abs(p.slice(0, cols).reduce((s, v) => s + v, 0) - 1) < 1e-5);
      for (const log of [false, true]) {
        const [inPlace, inPlaceRef] = [wasm, ts].map((k) => {
          const copy = copyOf(x, n);
          k.softmax(copy, copy, rows, cols, log);
          const result = read(copy, n);
          heap.free(copy);
          return result;
        });
        const [separate] = onBoth(n, (k, out) => k.softmax(x, out, rows, cols, log));
        assert.deepEqual(inPlace, separate, `in-place softmax log=${log}`);
        assertClose(inPlaceRef, separate, 2e-6, `in-place ts softmax log=${log}`, log ? 1 : 0.01);
      }
      heap.free(x);
      heap.free(g);
    }
  });

  it('layer norm and its backward match the fallback', () => {
    for (const cols of LENGTHS) {
      const rows = 4;
      const n = rows * cols;
      const x = randomBuffer(rng, n, -3, 5);
      const g = randomBuffer(rng, n);
      const stats = [wasm, ts].map((k) => {
        const [y, mean, rstd] = [heap.alloc(n), heap.alloc(rows), heap.alloc(rows)];
        k.layerNorm(x, y, mean, rstd, rows, cols, 1e-5);
        return { y: read(y, n), mean: read(mean, rows), rstd: read(rstd, rows), ptrs: [y, mean, rstd] };
      });
      const [w, t] = stats;
      assertClose(w.y, t.y, 2e-5, `layerNorm cols=${cols}`, 1);
      assertClose(w.mean, t.mean, 1e-6, 'mean', 1);
      assertClose(w.rstd, t.rstd, 2e-5, 'rstd', 1);
      const [mean, rstd] = t.ptrs.slice(1);
      const [dx, dxRef] = onBoth(n, (k, out) => k.layerNormBackward(x, mean, rstd, g, out, rows, cols));
      assertClose(dx, dxRef, 2e-5, `layerNorm' cols=${cols}`, 1);
      for (const ptr of [x, g, ...w.ptrs, ...t.ptrs]) heap.free(ptr);
    }
  });

  it('sumSquares is accurate in float64 on long inputs', () => {
    for (const n of [...LENGTHS, 100_003]) {
      const x = randomBuffer(rng, n);
      const values = read(x, n);
      const exact = values.reduce((s, v) => s + v * v, 0);
      assert.ok(Math.abs(wasm.sumSquares(x, n) - exact) <= 1e-6 * exact, `wasm n=${n}`);
      assert.ok(Math.abs(ts.sumSquares(x, n) - exact) <= 1e-12 * exact, `ts n=${n}`);
      heap.free(x);
    }
  });
});
