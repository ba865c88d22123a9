import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  Adam,
  clipGradNorm,
  cosineLr,
  decodeSafetensors,
  encodeSafetensors,
  init,
  LrScheduler,
  loadSafetensors,
  Parameter,
  Rng,
  SGD,
  saveSafetensors,
  stepLr,
  warmupLr,
} from '../../src/engine/index.js';
import { assertClose } from '../helpers.js';

describe('optimizers', () => {
  it('SGD with Nesterov momentum follows the PyTorch update', () => {
    const p = new Parameter([2], Float32Array.from([1, -2]));
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 });
    let buf = [0, 0];
    let ref = [1, -2];
    for (let step = 0; step < 3; step++) {
      const g = [0.5 * (step + 1), -0.25];
      p.grad = new Parameter([2], Float32Array.from(g));
      opt.step();
      const d = g.map((gi, i) => gi + 0.01 * ref[i]);
      buf = step === 0 ? d : buf.map((b, i) => 0.9 * b + d[i]);
      ref = ref.map((r, i) => r - 0.1 * (d[i] + 0.9 * buf[i]));
      assertClose(p.data, ref, { rtol: 1e-6 });
    }
  });

  it('restores its state dict exactly (resumed steps equal uninterrupted ones)', () => {
    const run = (split: boolean) => {
      const p = new Parameter([3], Float32Array.from([0.5, -0.5, 1]));
      let opt = new Adam([p], { lr: 0.05 });
      for (let step = 0; step < 6; step++) {
        if (split && step === 3) {
          const state = opt.stateDict();
          opt = new Adam([p], { lr: 0.05 });
          opt.loadStateDict(state);
        }
        p.grad = new Parameter([3], Float32Array.from([Math.sin(step), 0.1 * step, -1]));
        opt.step();
      }
      return [...p.data];
    };
    assert.deepEqual(run(true), run(false));
  });

  it('clips the global gradient norm', () => {
    const a = new Parameter([2]);
    const b = new Parameter([1]);
    a.grad = new Parameter([2], Float32Array.from([3, 0]));
    b.grad = new Parameter([1], Float32Array.from([4]));
    assert.equal(clipGradNorm([a, b], 1), 5);
    assertClose([...a.grad.data, ...b.grad.data], [0.6, 0, 0.8], { rtol: 1e-5 });
    assert.ok(Math.abs(clipGradNorm([a, b], 10) - 1) < 1e-5);
    assertClose(a.grad.data, [0.6, 0], { rtol: 1e-5 });
  });

  it('rejects invalid hyper-parameters', () => {
    assert.throws(
      () => new Adam([new Parameter([1])], { lr: -1 }),
      /lr must be a finite non-negative number/,
    );
    assert.throws(() => new Adam([new Parameter([1])], { beta1: 1 }), /beta1 and beta2/);
    assert.throws(() => new SGD([new Parameter([1])], { nesterov: true }), /Nesterov/);
  });
});

describe('learning-rate schedules', () => {
  it('match the closed forms of StepLR, CosineAnnealingLR and LinearLR warmup', () => {
    assert.deepEqual([0, 1, 2, 3, 4].map(stepLr(2, 0.5)), [1, 1, 0.5, 0.5, 0.25]);
    const cos = cosineLr(10, 0.1);
    assertClose([cos(0), cos(5), cos(10), cos(20)], [1, 0.55, 0.1, 0.1], { rtol: 1e-12 });
    const warm = warmupLr(4, cosineLr(4), 0.2);
    assertClose([warm(0), warm(2), warm(4), warm(6), warm(8)], [0.2, 0.6, 1, 0.5, 0], {
      rtol: 1e-12,
      atol: 1e-12,
    });
  });

  it('drives every group of an optimizer and can seek when resuming', () => {
    const opt = new Adam(
      [{ params: [new Parameter([1])] }, { params: [new Parameter([1])], options: { lr: 0.1 } }],
      {
        lr: 1,
      },
    );
    const scheduler = new LrScheduler(opt, stepLr(1, 0.5));
    scheduler.step();
    assert.deepEqual(
      opt.groups.map((g) => g.options.lr),
      [0.5, 0.05],
    );
    scheduler.seek(3);
    assert.equal(opt.lr, 0.125);
  });
});

describe('initialisers', () => {
  it('draw with the PyTorch variances from a seed', () => {
    const shape = [200, 300];
    const values = init.kaimingNormal(shape, new Rng(1));
    const variance = values.reduce((s, v) => s + v * v, 0) / values.length;
    assert.ok(Math.abs(variance - 2 / 200) < 2e-4, `kaiming variance ${variance}`);
    const glorot = init.glorotUniform(shape, new Rng(1));
    const bound = Math.sqrt(6 / 500);
    assert.ok(glorot.every((v) => Math.abs(v) <= bound));
    assert.deepEqual(init.glorotUniform(shape, new Rng(2)), init.glorotUniform(shape, new Rng(2)));
  });
});

describe('safetensors', () => {
  it('round-trips F32 and I32 tensors with metadata through a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skelprune-st-'));
    const path = join(dir, 'a.safetensors');
    const tensors = {
      weight: { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) },
      labels: { shape: [3], data: Int32Array.from([7, -1, 0]) },
      empty: { shape: [0, 4], data: new Float32Array(0) },
    };
    await saveSafetensors(path, tensors, { format: 'pt', note: 'x' });
    const bytes = readFileSync(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    assert.equal((8 + headerLength) % 8, 0, 'data is 8-byte aligned');
    assert.equal(JSON.parse(bytes.subarray(8, 8 + headerLength).toString()).weight.dtype, 'F32');
    const loaded = await loadSafetensors(path);
    assert.deepEqual(loaded.metadata, { format: 'pt', note: 'x' });
    assert.deepEqual(loaded.tensors.weight.shape, [2, 3]);
    assert.deepEqual([...loaded.tensors.weight.data], [1, 2, 3, 4, 5, 6.5]);
    assert.ok(loaded.tensors.labels.data instanceof Int32Array);
    assert.deepEqual([...loaded.tensors.labels.data], [7, -1, 0]);
  });

  it('reports truncated and corrupted files with the file name', async () => {
    const bytes = encodeSafetensors({ w: { shape: [4], data: new Float32Array(4) } });
    assert.throws(() => decodeSafetensors(bytes.subarray(0, bytes.length - 3), 'm.st'), /m.st: .*offsets/);
    assert.throws(
      () => decodeSafetensors(bytes.subarray(0, 12), 'm.st'),
      /m.st: .*header length \d+ exceeds the file/,
    );
    assert.throws(() => decodeSafetensors(new Uint8Array(5), 'm.st'), /shorter than the 8-byte header/);
    const corrupt = bytes.slice();
    corrupt[8] = 0x5b; // '[' instead of '{'
    assert.throws(() => decodeSafetensors(corrupt, 'm.st'), /m.st: not a valid safetensors file/);
    const dir = mkdtempSync(join(tmpdir(), 'skelprune-st-'));
    writeFileSync(join(dir, 'bad.safetensors'), bytes.subarray(0, 10));
    await assert.rejects(loadSafetensors(join(dir, 'bad.safetensors')), /bad.safetensors/);
  });
});
