import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { CHECKSUM_KEY } from '@skelprune/runtime/internal';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { loadSafetensors, Rng, saveSafetensors } from '../../src/engine/index.js';
import { SkelpruneError } from '../../src/errors.js';
import { SkeletonGcn } from '../../src/model/gcn.js';
import { loadCheckpoint, modelFromCheckpoint, parameterShapes } from '../../src/train/checkpoint.js';
import { predictBatch } from '../../src/train/trainer.js';
import { projectRoot } from '../helpers.js';

const cli = join(projectRoot, 'bin/skelprune.js');

// biome-ignore lint/suspicious/noExplicitAny: the tests edit untyped JSON freely
type Json = any;

/** A safetensors file's bytes with its JSON header edited (data, and checksum unless removed, kept). */
export function editHeader(file: Uint8Array, edit: (header: Json) => void): Uint8Array {
  const length = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + length)));
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + file.length - 8 - length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(file.subarray(8 + length), 8 + json.length);
  return out;
}

/** The file as skelprune wrote it before checksums: the same, without `skelprune_crc32`. */
export function withoutChecksum(file: Uint8Array): Uint8Array {
  return editHeader(file, (header) => {
    delete header.__metadata__[CHECKSUM_KEY];
  });
}

/** Runs the CLI; returns its status, stderr and seconds taken. */
function run(...args: string[]): { status: number | null; stderr: string; seconds: number } {
  const started = performance.now();
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stderr: result.stderr, seconds: (performance.now() - started) / 1000 };
}

describe('checkpoint loading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skelprune-ckpt-'));
  const good = join(dir, 'train', 'fold-1', 'model.ckpt');
  /** `eval` and `export` of a checkpoint, with arguments that work on `good`. */
  const commands = (path: string) => [
    ['eval', '--model', path, '--dataset', 'synthetic'],
    ['export', '--model', path, '--out', join(dir, 'out.skp')],
  ];

  before(() => {
    const trained = spawnSync(
      process.execPath,
      [
        cli,
        'train',
        '--dataset',
        'synthetic',
        '--fold',
        '1',
        '--epochs',
        '2',
        '--out',
        join(dir, 'train'),
        '--set',
        'model.heads=2',
        'model.fcUnits=16',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(trained.status, 0, trained.stderr);
    for (const args of commands(good)) {
      const ok = run(...args);
      assert.equal(ok.status, 0, `${args[0]}: ${ok.stderr}`);
      assert.equal(ok.stderr, '', 'a checked checkpoint gives no note');
    }
  });

  /** A copy of the good checkpoint with its metadata edited, checksum recomputed (a crafted file). */
  async function lying(name: string, edit: (meta: Json) => void): Promise<string> {
    const { tensors, metadata } = await loadSafetensors(good);
    const meta = JSON.parse(metadata.skelprune);
    edit(meta);
    const path = join(dir, name);
    await saveSafetensors(path, tensors, { skelprune: JSON.stringify(meta) });
    return path;
  }

  it('knows every parameter shape of the architecture without building it', () => {
    for (const config of [{}, { heads: 3, headDim: 5, encoderChunks: 2, encodingChannels: 7, fcUnits: 11 }]) {
      const shape = { nodes: 7, inputDim: 36, classes: 4, edges: [] };
      const model = new SkeletonGcn(shape, config, new Rng(0));
      const expected = Object.fromEntries(model.namedParameters().map(([name, p]) => [name, [...p.shape]]));
      const computed = parameterShapes({ shape, model: model.config });
      assert.deepEqual(
        Object.fromEntries(
          Object.entries(computed).map(([name, dims]) => [name, dims.map(([size]) => size)]),
        ),
        expected,
      );
    }
  });

  it('checks metadata sizes against the tensors before building anything, in one line naming the field', async () => {
    const cases: [string, (meta: Json) => void, RegExp][] = [
      [
        'input-dim.ckpt',
        (m) => (m.shape.inputDim = 2 ** 31),
        /input-dim\.ckpt: invalid checkpoint metadata at 'shape\.inputDim': expected \d+, the features per node of the input pipeline, found 2147483648$/,
      ],
      [
        'heads.ckpt',
        (m) => (m.model.heads = 1_000_000),
        /heads\.ckpt: metadata 'model\.heads' does not match the stored weights: 'model\.attentionBias' is \[2, 20, 20\], expected \[1000000, 20, 20\]$/,
      ],
      [
        'fc-units.ckpt',
        (m) => (m.model.fcUnits = 100_000_000),
        /fc-units\.ckpt: metadata 'model\.fcUnits' does not match the stored weights: 'model\.fc\.bias' is \[16\], expected \[100000000\]$/,
      ],
      [
        'head-dim.ckpt',
        (m) => (m.model.headDim = 4096),
        /metadata 'model\.heads × model\.headDim' does not match the stored weights: 'model\.query\.weight'/,
      ],
      [
        'nodes.ckpt',
        (m) => (m.shape.nodes = 21),
        /at 'shape\.nodes': expected persons × joints = 20, found 21$/,
      ],
      [
        'classes.ckpt',
        (m) => m.classNames.pop(),
        /at 'shape\.classes': expected 7, one class per class name, found 8$/,
      ],
      [
        'bones.ckpt',
        (m) => (m.input.bones[0][1] = 20),
        /at 'input': 'bones\.0\.1': expected an integer in \[0, 19\]/,
      ],
      [
        'center.ckpt',
        (m) => (m.input.centerJoint = 25),
        /at 'input': 'centerJoint': expected an integer in \[0, 19\]/,
      ],
      [
        'edges.ckpt',
        (m) => (m.shape.edges[0][0] = 40),
        /at 'shape\.edges\.0': expected node indices below 20/,
      ],
    ];
    for (const [index, [name, edit, pattern]] of cases.entries()) {
      const path = await lying(name, edit);
      await assert.rejects(loadCheckpoint(path), pattern);
      // The CLI for the sizes the fuzzing found (those ran for minutes or ended in stack traces).
      for (const args of index < 3 ? commands(path) : []) {
        const result = run(...args);
        assert.equal(result.status, 1, `${name} ${args[0]}: ${result.stderr}`);
        assert.ok(result.stderr.startsWith(`skelprune: ${path}: `), result.stderr);
        assert.match(result.stderr.trimEnd(), pattern, `${name} ${args[0]}`);
        assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
        assert.ok(result.seconds < 10, `${name} ${args[0]} took ${result.seconds} s`);
      }
    }
  });

  it('refuses a non-finite weight', async () => {
    const { tensors, metadata } = await loadSafetensors(good);
    const fc = tensors['model.fc.weight'].data as Float32Array;
    fc[5] = Number.NaN;
    const path = join(dir, 'nan.ckpt');
    await saveSafetensors(path, tensors, metadata);
    const pattern = /nan\.ckpt: tensor 'model\.fc\.weight' holds a non-finite weight \(NaN at 5\)$/;
    await assert.rejects(loadCheckpoint(path), pattern);
    const result = run(...commands(path)[0]);
    assert.equal(result.status, 1);
    assert.ok(result.stderr.startsWith(`skelprune: ${path}: `), result.stderr);
    assert.match(result.stderr.trimEnd(), pattern);
  });

  it('refuses corrupted tensor bytes and reads a checkpoint without a checksum with a note', async () => {
    const bytes = new Uint8Array(readFileSync(good));
    const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const rng = new Rng(7);
    for (let trial = 0; trial < 60; trial++) {
      const corrupted = bytes.slice();
      const k = headerEnd + Math.floor(rng.uniform() * (bytes.length - headerEnd));
      corrupted[k] ^= 1 << Math.floor(rng.uniform() * 8);
      const path = join(dir, 'corrupted.ckpt');
      writeFileSync(path, corrupted);
      await assert.rejects(
        loadCheckpoint(path),
        /corrupted\.ckpt: corrupted file: its contents have CRC-32 [0-9a-f]{8}, but it records [0-9a-f]{8} \(skelprune_crc32\)$/,
        `byte ${k}`,
      );
    }
    const old = join(dir, 'old.ckpt');
    writeFileSync(old, withoutChecksum(bytes));
    const loaded = await loadCheckpoint(old);
    assert.ok(Object.keys(loaded.tensors).length > 0);
    const result = run(...commands(old)[0]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(
      result.stderr,
      `skelprune: note: ${old} records no checksum (written by an older skelprune): its contents were not verified\n`,
    );
  });
  it('describes version and architecture of any shape in bounded time (unchecked metadata)', async () => {
    const depth = 50_000;
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const cases: [string, string, RegExp][] = [
      ['version', nested, /checkpoint version an array is not supported \(this skelprune reads version 1\)$/],
      [
        'architecture',
        nested,
        /a model of architecture an array; skelprune works with 'skeleton-gcn' checkpoints$/,
      ],
      ['architecture', `{"a":${nested}}`, /a model of architecture an object; /],
      ['architecture', JSON.stringify('r'.repeat(100_000)), /a 'r{40}…' model; /],
    ];
    const bytes = new Uint8Array(readFileSync(good));
    for (const [field, value, pattern] of cases) {
      const edited = editHeader(withoutChecksum(bytes), (header) => {
        const meta = JSON.parse(header.__metadata__.skelprune);
        meta[field] = '@value@';
        header.__metadata__.skelprune = JSON.stringify(meta).replace('"@value@"', value);
      });
      const path = join(dir, `deep-${field}.ckpt`);
      writeFileSync(path, edited);
      await assert.rejects(loadCheckpoint(path), (error: Error) => {
        assert.ok(error instanceof SkelpruneError, `${error.name}: ${error.message}`);
        assert.ok(error.message.startsWith(`${path}: `), error.message);
        assert.match(error.message, pattern);
        return true;
      });
    }
    const nullMeta = join(dir, 'null-meta.ckpt');
    writeFileSync(
      nullMeta,
      editHeader(withoutChecksum(bytes), (header) => {
        header.__metadata__.skelprune = 'null';
      }),
    );
    await assert.rejects(
      loadCheckpoint(nullMeta),
      /null-meta\.ckpt: checkpoint version undefined is not supported/,
    );
  });

  it('refuses non-finite scores from finite but huge weights (±3.4e38), naming the file', async () => {
    const { tensors, metadata } = await loadSafetensors(good);
    (tensors['model.encoder.weight'].data as Float32Array).fill(3.4e38);
    const checked = join(dir, 'huge-checked.ckpt');
    await saveSafetensors(checked, tensors, metadata);
    const path = join(dir, 'huge.ckpt');
    writeFileSync(path, withoutChecksum(new Uint8Array(readFileSync(checked))));
    const checkpoint = await loadCheckpoint(path);
    const { model, input } = modelFromCheckpoint(checkpoint, path);
    const data = generateSynthetic({ seed: 3 });
    const batch = input.encode(data.sequences.slice(0, 4));
    const pattern =
      /huge\.ckpt: the model produced non-finite scores for sequence 0 \(weights too large for float32\?\)$/;
    assert.throws(
      () => predictBatch(model, batch, input),
      (error: Error) => {
        assert.ok(error instanceof SkelpruneError, `${error.name}: ${error.message}`);
        assert.ok(error.message.startsWith(`${path}: `), error.message);
        assert.match(error.message, pattern);
        return true;
      },
    );
    const result = run(...commands(path)[0]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr.trimEnd(), pattern, 'after the note on the missing checksum');
  });
});
