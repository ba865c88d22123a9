import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  add,
  customGrad,
  customGradOutputs,
  keep,
  kernels,
  log,
  Module,
  matmul,
  mul,
  NonFiniteError,
  noGrad,
  Parameter,
  relu,
  ShapeError,
  setFiniteCheck,
  sum,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from '../../src/engine/index.js';

describe('autodiff', () => {
  it('accumulates gradients over backward calls until zeroed', () => {
    const w = new Parameter([3], Float32Array.from([1, 2, 3]));
    tidy(() => sum(mul(w, w)).backward());
    assert.deepEqual([...w.grad!.data], [2, 4, 6]);
    tidy(() => sum(mul(w, w)).backward());
    assert.deepEqual([...w.grad!.data], [4, 8, 12]);
    w.grad!.data.fill(0);
    tidy(() => sum(w).backward());
    assert.deepEqual([...w.grad!.data], [1, 1, 1]);
  });

  it('zeroes gradients lazily: the next backward overwrites, a read in between sees zeros', () => {
    const w = new Parameter([3], Float32Array.from([1, 2, 3]));
    const unused = new Parameter([2], Float32Array.from([5, 6]));
    tidy(() => sum(mul(w, w)).add(sum(unused)).backward());
    w.zeroGrad();
    unused.zeroGrad();
    tidy(() => sum(w).backward());
    assert.deepEqual([...w.grad!.data], [1, 1, 1]);
    // Not reached by the second backward: reads as zero, as a filled buffer would.
    assert.deepEqual([...unused.grad!.data], [0, 0]);
    w.zeroGrad();
    assert.deepEqual([...w.grad!.data], [0, 0, 0]);
    tidy(() => sum(w).backward());
    assert.deepEqual([...w.grad!.data], [1, 1, 1]);
  });

  it('sums the gradients of a tensor used twice (a diamond graph)', () => {
    const x = new Parameter([2], Float32Array.from([3, -1]));
    tidy(() => {
      const y = relu(x);
      sum(add(mul(y, 2), mul(y, y))).backward();
    });
    // d/dx (2 relu(x) + relu(x)²) = 2 + 2x for x > 0, 0 for x < 0
    assert.deepEqual([...x.grad!.data], [8, 0]);
  });

  it('records nothing under noGrad', () => {
    const w = new Parameter([2], Float32Array.from([1, 1]));
    const y = noGrad(() => mul(w, 3));
    assert.equal(y.requiresGrad, false);
    assert.equal(y.gradFn, null);
    assert.throws(() => y.backward(), /does not require gradients/);
  });

  it('supports custom gradients (a straight-through estimator)', () => {
    const w = new Parameter([4], Float32Array.from([-0.7, -0.2, 0.3, 0.9]));
    tidy(() => {
      const hard = customGrad(
        'binarize',
        [w],
        () =>
          tensor(
            Float32Array.from(w.data, (v) => (v > 0 ? 1 : 0)),
            w.shape,
          ),
        (g) => [g],
      );
      assert.deepEqual([...hard.data], [0, 0, 1, 1]);
      sum(mul(hard, tensor([1, 2, 3, 4]))).backward();
    });
    assert.deepEqual([...w.grad!.data], [1, 2, 3, 4]);
  });

  describe('an op with several outputs', () => {
    /**
     * [x², Σx] with one backward that records every call: dx = 2x·g₁ + g₂, a null gradient
     * counting as zero.
     */
    function squareAndSum(x: Tensor, calls: (number[] | null)[][]): Tensor[] {
      return customGradOutputs(
        'squareAndSum',
        [x],
        () => [
          tensor(
            Float32Array.from(x.data, (v) => v * v),
            x.shape,
          ),
          tensor([x.data.reduce((s, v) => s + v, 0)]),
        ],
        ([squares, total]) => {
          calls.push([squares && [...squares.data], total && [...total.data]]);
          const s = squares?.data;
          const t = total === null ? 0 : total.data[0];
          return [tensor(Float32Array.from(x.data, (v, i) => 2 * v * (s ? s[i] : 0) + t))];
        },
      );
    }

    it('runs one backward with the gradients of every output, consumed apart', () => {
      const x = new Parameter([3], Float32Array.from([1, -2, 3]));
      const calls: (number[] | null)[][] = [];
      tidy(() => {
        const [squares, total] = squareAndSum(x, calls);
        assert.deepEqual([...squares.data], [1, 4, 9]);
        assert.deepEqual([...total.data], [2]);
        // L = Σ squares·[1, 2, 3] + 5·total + Σ squares (squares used twice).
        sum(mul(squares, tensor([1, 2, 3])))
          .add(mul(total, 5).reshape([]))
          .add(sum(squares))
          .backward();
      });
      assert.deepEqual(calls, [[[2, 3, 4], [5]]]);
      // dx = 2x·[2, 3, 4] + 5
      assert.deepEqual([...x.grad!.data], [9, -7, 29]);
    });

    it('passes null for an output the result does not depend on, and runs for either alone', () => {
      const x = new Parameter([2], Float32Array.from([2, -1]));
      const calls: (number[] | null)[][] = [];
      tidy(() => {
        const [squares] = squareAndSum(x, calls);
        sum(squares).backward();
      });
      assert.deepEqual([...x.grad!.data], [4, -2]);
      x.grad!.data.fill(0);
      tidy(() => {
        const [squares, total] = squareAndSum(x, calls);
        // squares reaches the root only through an op that passes it no gradient path.
        mul(total, 3)
          .add(noGrad(() => sum(squares)).reshape([1]))
          .backward();
      });
      assert.deepEqual([...x.grad!.data], [3, 3]);
      assert.deepEqual(calls, [
        [[1, 1], null],
        [null, [3]],
      ]);
    });

    it('is differentiated from an output as the root, and on its own through its GradFn', () => {
      const x = new Parameter([2], Float32Array.from([1, 2]));
      const calls: (number[] | null)[][] = [];
      tidy(() => {
        const [squares, total] = squareAndSum(x, calls);
        squares.backward(tensor([1, -1]));
        const [dx] = total.gradFn!.backward(tensor([2]));
        assert.deepEqual([...dx!.data], [2, 2]);
      });
      assert.deepEqual([...x.grad!.data], [2, -4]);
      assert.deepEqual(calls, [
        [[1, -1], null],
        [null, [2]],
      ]);
    });

    it('records nothing under noGrad, and wants distinct outputs', () => {
      const x = new Parameter([2], Float32Array.from([1, 2]));
      tidy(() => {
        const outputs = noGrad(() => squareAndSum(x, []));
        assert.ok(outputs.every((t) => !t.requiresGrad && t.gradFn === null));
        const y = tensor([1]);
        assert.throws(
          () =>
            customGradOutputs(
              'twice',
              [x],
              () => [y, y],
              () => [null],
            ),
          /twice: a multi-output op must return distinct tensors/,
        );
      });
    });
  });

  it('names the op and both shapes on a shape mismatch', () => {
    tidy(() => {
      assert.throws(
        () => matmul(zeros([2, 3]), zeros([4, 5])),
        (e: Error) => {
          assert.ok(e instanceof ShapeError);
          assert.match(e.message, /matmul: shapes \[2, 3\] and \[4, 5\].*3 ≠ 4/);
          return true;
        },
      );
      assert.throws(
        () => add(zeros([2, 3]), zeros([4])),
        /add: shapes \[2, 3\] and \[4\] cannot be broadcast/,
      );
    });
  });

  it('names the first op that produced a non-finite value in finite-check mode', () => {
    setFiniteCheck(true);
    try {
      tidy(() => {
        const x = tensor([1, 0, 2]);
        assert.throws(
          () => log(mul(x, 1)),
          (e: Error) => {
            assert.ok(e instanceof NonFiniteError);
            assert.match(e.message, /^log \(forward\) produced -Infinity at flat index 1/);
            return true;
          },
        );
      });
    } finally {
      setFiniteCheck(false);
    }
    tidy(() => assert.equal(log(tensor([0])).data[0], Number.NEGATIVE_INFINITY));
  });
});

describe('tensor memory', () => {
  it('frees what a tidy scope created, except its result and kept tensors', () => {
    const heap = kernels().heap;
    const before = heap.stats().liveBlocks;
    let inner: Tensor | undefined;
    let kept: Tensor | undefined;
    const result = tidy(() => {
      inner = mul(tensor([1, 2]), 2);
      kept = keep(add(inner, 1));
      return add(inner, 10);
    });
    assert.deepEqual([...result.data], [12, 14]);
    assert.deepEqual([...kept!.data], [3, 5]);
    assert.ok(inner!.isDisposed);
    assert.throws(() => inner!.data, /used after it was freed/);
    result.dispose();
    kept!.dispose();
    assert.equal(heap.stats().liveBlocks, before);
  });

  it('reuses freed heap blocks across identical steps (no growth)', () => {
    const w = new Parameter([64, 32]);
    const step = () =>
      tidy(() => {
        sum(relu(matmul(zeros([16, 64]), w))).backward();
      });
    step();
    const capacity = kernels().heap.stats().capacityBytes;
    const live = kernels().heap.stats().liveBlocks;
    for (let i = 0; i < 50; i++) step();
    assert.equal(kernels().heap.stats().capacityBytes, capacity);
    assert.equal(kernels().heap.stats().liveBlocks, live);
  });
});

class Tiny extends Module {
  layer = { weight: new Parameter([2, 3]) } as const;
  weight = new Parameter([3, 4]);
  blocks = [new Leaf(), new Leaf()];
}

class Leaf extends Module {
  bias = new Parameter([4]);
}

describe('Module', () => {
  it('names parameters by dotted paths in declaration order, including lists', () => {
    const names = new Tiny().namedParameters().map(([n]) => n);
    assert.deepEqual(names, ['weight', 'blocks.0.bias', 'blocks.1.bias']);
  });

  it('round-trips a state dict and lists every problem on a mismatch', () => {
    const a = new Tiny();
    a.weight.data.set(Float32Array.from({ length: 12 }, (_, i) => i));
    const b = new Tiny();
    b.loadStateDict(
      Object.fromEntries(
        Object.entries(a.stateDict()).map(([k, t]) => [k, { shape: t.shape, data: t.toArray() }]),
      ),
    );
    assert.deepEqual([...b.weight.data], [...a.weight.data]);
    assert.throws(
      () =>
        b.loadStateDict({
          weight: { shape: [4, 3], data: new Float32Array(12) },
          extra: { shape: [1], data: new Float32Array(1) },
        }),
      /'weight' has shape \[4, 3\], the model expects \[3, 4\].*unexpected key 'extra'.*missing key 'blocks.0.bias'/,
    );
  });

  it('switches training mode recursively', () => {
    const m = new Tiny().eval();
    assert.ok(m.modules().every((x) => !x.training));
    m.train();
    assert.ok(m.modules().every((x) => x.training));
  });
});
