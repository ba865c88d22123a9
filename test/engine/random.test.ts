import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../src/engine/random.js';

describe('Rng', () => {
  it('is reproducible from its seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const drawsA = Array.from({ length: 100 }, () => a.nextUint32());
    const drawsB = Array.from({ length: 100 }, () => b.nextUint32());
    assert.deepEqual(drawsA, drawsB);
    assert.notDeepEqual(
      drawsA,
      Array.from({ length: 100 }, () => new Rng(43).nextUint32()),
    );
  });

  it('draws uniforms in [0, 1) with the right mean', () => {
    const rng = new Rng(7);
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const u = rng.uniform();
      assert.ok(u >= 0 && u < 1);
      sum += u;
    }
    assert.ok(Math.abs(sum / 20000 - 0.5) < 0.01);
  });

  it('draws standard normals with unit variance', () => {
    const rng = new Rng(1);
    const n = 40000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      sum += z;
      sumSq += z * z;
    }
    assert.ok(Math.abs(sum / n) < 0.02);
    assert.ok(Math.abs(sumSq / n - 1) < 0.03);
  });

  it('forks independent, reproducible streams without advancing the parent', () => {
    const parent = new Rng(5);
    const before = new Rng(5).nextUint32();
    const child = parent.fork('init');
    assert.equal(parent.nextUint32(), before);
    assert.equal(child.nextUint32(), new Rng(5).fork('init').nextUint32());
    assert.notEqual(new Rng(5).fork('init').nextUint32(), new Rng(5).fork('data').nextUint32());
  });

  it('shuffles into a permutation', () => {
    const perm = new Rng(3).permutation(50);
    assert.deepEqual(
      [...perm].sort((x, y) => x - y),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.notDeepEqual(
      perm,
      Array.from({ length: 50 }, (_, i) => i),
    );
  });
});
