import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, gather, Parameter, slice, sum, tensor, tidy } from '../../src/engine/index.js';

const shape = [2, 3, 4] as const;
const values = Float32Array.from({ length: 24 }, (_, i) => i);
/** The element of `values` (shape [2, 3, 4]) at index [a, b, c]. */
const at = (a: number, b: number, c: number) => values[(a * 3 + b) * 4 + c];

/** Every element of a [d0, d1, d2] result, read through `source(i, j, k)`. */
function expected(dims: number[], source: (i: number, j: number, k: number) => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < dims[0]; i++)
    for (let j = 0; j < dims[1]; j++) for (let k = 0; k < dims[2]; k++) out.push(source(i, j, k));
  return out;
}

describe('slice, concat and gather along every axis', () => {
  it('slices each axis as numpy does', () => {
    tidy(() => {
      const x = tensor(values, shape);
      assert.deepEqual(
        [...slice(x, 0, 1, 2).data],
        expected([1, 3, 4], (i, j, k) => at(i + 1, j, k)),
      );
      assert.deepEqual(
        [...slice(x, 1, 1, 3).data],
        expected([2, 2, 4], (i, j, k) => at(i, j + 1, k)),
      );
      assert.deepEqual(
        [...slice(x, 2, 1, 4).data],
        expected([2, 3, 3], (i, j, k) => at(i, j, k + 1)),
      );
    });
  });

  it('concatenates along the last axis, runs of rows and single rows alike', () => {
    tidy(() => {
      const x = tensor(values, shape);
      const joined = concat([slice(x, 2, 2, 4), slice(x, 2, 0, 1), slice(x, 2, 0, 2)], 2);
      const order = [2, 3, 0, 0, 1];
      assert.deepEqual([...joined.shape], [2, 3, 5]);
      assert.deepEqual(
        [...joined.data],
        expected([2, 3, 5], (i, j, k) => at(i, j, order[k])),
      );
    });
  });

  it('gathers runs and repeats along the middle axis, and adds the repeats up in the gradient', () => {
    const x = new Parameter([...shape], values.slice());
    const indices = [0, 1, 2, 1, 2];
    tidy(() => {
      const picked = gather(x, 1, indices);
      assert.deepEqual(
        [...picked.data],
        expected([2, 5, 4], (i, j, k) => at(i, indices[j], k)),
      );
      sum(picked).backward();
    });
    const uses = [1, 2, 2];
    assert.deepEqual(
      [...x.grad!.data],
      expected([...shape], (_, j) => uses[j]),
    );
  });
});
