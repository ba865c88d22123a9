import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { loadSafetensors, Rng, saveSafetensors } from '../../src/engine/index.js';
import { decodeModelFile } from '../../src/runtime/model-file.js';
import { projectRoot } from '../helpers.js';

const cli = join(projectRoot, 'bin/skelprune.js');

/** The stored network of a `.skp` file (its provenance, which holds the export time, left out). */
function network(bytes: Uint8Array): unknown {
  const file = decodeModelFile(bytes, 'out.skp');
  assert.equal(file.integrity, 'verified');
  return file.model;
}

describe('export killed at random moments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skelprune-export-kill-'));
  const out = { skp: join(dir, 'out', 'model.skp'), onnx: join(dir, 'out', 'model.onnx') };
  const exportArgs = (checkpoint: string, skp: string, onnx: string) => [
    cli,
    'export',
    '--model',
    checkpoint,
    '--out',
    skp,
    '--onnx',
    onnx,
  ];
  const exportTo = (checkpoint: string, skp: string, onnx: string) => {
    const result = spawnSync(process.execPath, exportArgs(checkpoint, skp, onnx), { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
  };
  const previous = { skp: join(dir, 'a.skp'), onnx: join(dir, 'a.onnx') };
  const next = { skp: join(dir, 'b.skp'), onnx: join(dir, 'b.onnx') };
  const checkpointB = join(dir, 'b.ckpt');
  let exportMs = 0;

  before(async () => {
    const trained = spawnSync(
      process.execPath,
      [cli, 'train', '--dataset', 'synthetic', '--fold', '1', '--epochs', '1', '--out', join(dir, 'train')],
      { encoding: 'utf8' },
    );
    assert.equal(trained.status, 0, trained.stderr);
    const checkpointA = join(dir, 'train', 'fold-1', 'model.ckpt');
    // B: A with other weights, so that a file under the final name tells which export wrote it.
    const { tensors, metadata } = await loadSafetensors(checkpointA);
    const rng = new Rng(1);
    for (const [name, t] of Object.entries(tensors)) {
      if (!name.startsWith('model.')) continue;
      const data = t.data as Float32Array;
      for (let i = 0; i < data.length; i++) data[i] += 0.01 * rng.normal();
    }
    await saveSafetensors(checkpointB, tensors, metadata);
    exportTo(checkpointA, previous.skp, previous.onnx);
    mkdirSync(join(dir, 'out'));
    const started = performance.now();
    exportTo(checkpointB, next.skp, next.onnx);
    exportMs = performance.now() - started;
    exportTo(checkpointB, join(dir, 'b2.skp'), join(dir, 'b2.onnx'));
    assert.deepEqual(
      readFileSync(join(dir, 'b2.onnx')),
      readFileSync(next.onnx),
      'ONNX export is deterministic',
    );
  });

  it('leaves the previous files or complete new ones, never a torn file, and no temporaries after a rerun', async (t) => {
    const states = { previous: network(readFileSync(previous.skp)), next: network(readFileSync(next.skp)) };
    const onnx = { previous: readFileSync(previous.onnx), next: readFileSync(next.onnx) };
    const rng = new Rng(11);
    let killedMidWrite = 0;
    for (let trial = 0; trial < 12; trial++) {
      copyFileSync(previous.skp, out.skp);
      copyFileSync(previous.onnx, out.onnx);
      const child = spawn(process.execPath, exportArgs(checkpointB, out.skp, out.onnx), { stdio: 'ignore' });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      // Half the trials die at a random moment of the export; the others as soon as a write begins.
      let watcher: ReturnType<typeof watch> | null = null;
      if (trial % 2 === 0) {
        setTimeout(() => child.kill('SIGKILL'), rng.uniform() * exportMs);
      } else {
        const delay = rng.uniform() * 5;
        watcher = watch(join(dir, 'out'), () => {
          watcher?.close();
          setTimeout(() => child.kill('SIGKILL'), delay);
        });
      }
      await exited;
      watcher?.close();
      const temporaries = readdirSync(join(dir, 'out')).filter((name) => name.endsWith('.tmp'));
      if (temporaries.length > 0) killedMidWrite++;
      const skp = network(readFileSync(out.skp));
      assert.ok(
        [states.previous, states.next].some((state) => isDeepStrictEqual(skp, state)),
        `trial ${trial}: model.skp is neither the previous nor the new model`,
      );
      const written = readFileSync(out.onnx);
      assert.ok(
        written.equals(onnx.previous) || written.equals(onnx.next),
        `trial ${trial}: model.onnx (${written.length} bytes) is neither the previous nor the new one`,
      );
    }
    exportTo(checkpointB, out.skp, out.onnx);
    assert.deepEqual(
      readdirSync(join(dir, 'out')).filter((name) => name.endsWith('.tmp')),
      [],
      'the rerun removed what killed writes left',
    );
    assert.ok(isDeepStrictEqual(network(readFileSync(out.skp)), states.next));
    assert.ok(readFileSync(out.onnx).equals(onnx.next));
    t.diagnostic(`${killedMidWrite} of 12 exports were killed in the middle of a write`);
    assert.ok(killedMidWrite > 0, 'some kills landed in the middle of a write');
  });
});
