import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { classifierFromModelFile, denseValues, LAYER_NAMES } from '@skelprune/runtime/internal';
import { writeGenericDataset } from '../../src/data/generic.js';
import { fitPreprocessing } from '../../src/data/preprocess.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { decodeSafetensors, encodeSafetensors, Rng, randn } from '../../src/engine/index.js';
import { SkeletonGcn } from '../../src/model/gcn.js';
import { modelInputFromGraph } from '../../src/model/input.js';
import { setHardMask } from '../../src/model/layers.js';
import { compactModel } from '../../src/runtime/compact.js';
import { decodeModelFile, encodeModelFile, type ModelFile } from '../../src/runtime/model-file.js';
import { toRuntimeModel } from '../../src/runtime/runtime-model.js';
import { projectRoot } from '../helpers.js';

const cli = join(projectRoot, 'bin/skelprune.js');

/** A small pruned model of the synthetic skeleton, as a model file. */
function modelFile(): ModelFile {
  const dataset = generateSynthetic({ sequencesPerClass: 4 });
  const input = modelInputFromGraph(dataset.graph, fitPreprocessing(dataset.sequences, dataset.graph), {
    channels: ['position', 'velocity', 'bone'],
  });
  const rng = new Rng(3);
  const model = new SkeletonGcn(
    { nodes: input.nodes, inputDim: input.dim, classes: dataset.classNames.length, edges: input.edges() },
    { heads: 3, fcUnits: 24 },
    rng,
  );
  for (const p of model.parameters()) p.data.set(randn(p.shape, rng, 0.3).data);
  const masks: Record<string, Uint8Array> = {};
  for (const w of model.prunableWeights()) {
    masks[w.name] = Uint8Array.from({ length: w.rows * w.cols }, () => (rng.uniform() < 0.2 ? 1 : 0));
    setHardMask(w.layer, masks[w.name]);
  }
  return {
    model: toRuntimeModel(compactModel(model, masks)),
    input: input.spec,
    classNames: [...dataset.classNames],
    info: { note: 'test' },
  };
}

describe('the .skp model file', () => {
  const file = modelFile();
  const bytes = encodeModelFile(file);
  const sequences = generateSynthetic({ sequencesPerClass: 2, seed: 9 }).sequences;

  it('round-trips to bit-for-bit identical predictions', () => {
    const before = classifierFromModelFile(file).predictBatch(sequences);
    const loaded = decodeModelFile(bytes, 'model.skp');
    const after = classifierFromModelFile(loaded).predictBatch(sequences);
    assert.deepEqual(
      after.map((p) => [...p.probabilities]),
      before.map((p) => [...p.probabilities]),
    );
    assert.deepEqual(loaded.classNames, file.classNames);
    assert.deepEqual(loaded.info, { note: 'test' });
  });

  it('rejects a truncated file in one line naming it', () => {
    assert.throws(
      () => decodeModelFile(bytes.subarray(0, bytes.length - 100), 'm.skp'),
      /^SkelpruneError: m\.skp: not a valid safetensors file: .*/,
    );
    assert.throws(
      () => decodeModelFile(bytes.subarray(0, 20), 'm.skp'),
      /m\.skp: .*header length \d+ exceeds the file \(\d+ bytes; truncated\?\)/,
    );
  });

  it('rejects corrupted contents', () => {
    const { tensors, metadata } = decodeSafetensors(bytes);
    const header = JSON.parse(metadata.skelprune_model);
    header.model.classes += 1;
    header.classNames.push('extra');
    const inconsistent = encodeSafetensors(tensors, { skelprune_model: JSON.stringify(header) });
    assert.throws(() => decodeModelFile(inconsistent, 'm.skp'), /m\.skp: inconsistent model: /);
    const noHeader = encodeSafetensors(tensors);
    assert.throws(() => decodeModelFile(noHeader, 'm.skp'), /m\.skp: not a skelprune model file/);
    header.classNames.pop();
    const unnamed = encodeSafetensors(tensors, { skelprune_model: JSON.stringify(header) });
    assert.throws(
      () => decodeModelFile(unnamed, 'm.skp'),
      /m\.skp: invalid model description: 'classNames': expected \d+ names, one per class/,
    );
    const garbled = encodeSafetensors(tensors, { skelprune_model: '{"format": ' });
    assert.throws(() => decodeModelFile(garbled, 'm.skp'), /m\.skp: the model description is not valid JSON/);
  });

  it('writes sparse layers as a bitmap plus values, restoring each runtime format exactly', () => {
    const { tensors, metadata } = decodeSafetensors(bytes);
    const layers = JSON.parse(metadata.skelprune_model).model.layers;
    const fc = file.model.layers.fc.weight;
    assert.equal(layers.fc.encoding, 'bitmap');
    const stored = tensors['fc.values'].data.length * 4 + tensors['fc.mask'].data.length;
    assert.ok(stored < denseValues(fc).byteLength / 2, `fc takes ${stored} bytes`);
    const loaded = decodeModelFile(bytes, 'm.skp');
    for (const name of LAYER_NAMES)
      assert.deepEqual(loaded.model.layers[name].weight, file.model.layers[name].weight);
  });

  it('records which formats were forced at export, and only those', () => {
    const forced = { ...file, model: { ...file.model, layers: { ...file.model.layers } } };
    forced.model.layers.fc = { ...forced.model.layers.fc, forced: true };
    const forcedBytes = encodeModelFile(forced);
    const { tensors, metadata } = decodeSafetensors(forcedBytes);
    const header = JSON.parse(metadata.skelprune_model);
    assert.deepEqual(
      LAYER_NAMES.filter((name) => 'forced' in header.model.layers[name]),
      ['fc'],
    );
    const loaded = decodeModelFile(forcedBytes, 'm.skp').model.layers;
    assert.deepEqual(
      LAYER_NAMES.filter((name) => loaded[name].forced),
      ['fc'],
    );
    assert.ok(LAYER_NAMES.every((name) => !('forced' in decodeModelFile(bytes).model.layers[name])));
    header.model.layers.fc.forced = false;
    const garbled = encodeSafetensors(tensors, { skelprune_model: JSON.stringify(header) });
    assert.throws(() => decodeModelFile(garbled, 'm.skp'), /model\.layers\.fc\.forced': expected true/);
  });

  it('rejects a bitmap that does not match the stored values', () => {
    const { tensors, metadata } = decodeSafetensors(bytes);
    const values = tensors['fc.values'].data as Float32Array;
    const shortened = { ...tensors, 'fc.values': { shape: [values.length - 1], data: values.subarray(1) } };
    assert.throws(
      () => decodeModelFile(encodeSafetensors(shortened, metadata), 'm.skp'),
      /m\.skp: the weights of layer 'fc' do not match its \d+×\d+ shape/,
    );
  });

  it('rejects a format version it does not know', () => {
    const { tensors, metadata } = decodeSafetensors(bytes);
    const header = { ...JSON.parse(metadata.skelprune_model), version: 1 };
    assert.throws(
      () => decodeModelFile(encodeSafetensors(tensors, { skelprune_model: JSON.stringify(header) }), 'm.skp'),
      /m\.skp: model format version 1 is not supported \(this skelprune reads version 2\)/,
    );
  });

  it('gives the CLI one clear error line for bad model files and wrong joint counts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skelprune-skp-'));
    const good = join(dir, 'good.skp');
    writeFileSync(good, bytes);
    const truncated = join(dir, 'truncated.skp');
    writeFileSync(truncated, bytes.subarray(0, bytes.length / 2));
    const handFile = join(dir, 'hand.txt');
    writeFileSync(
      handFile,
      `${Array.from({ length: 5 }, (_, t) => [t, ...Array.from({ length: 63 }, (_, k) => k)].join(' ')).join('\n')}\n`,
    );
    const run = (model: string, input: string) =>
      spawnSync(process.execPath, [cli, 'predict', '--model', model, '--input', input], { encoding: 'utf8' });
    for (const [model, input, pattern] of [
      [truncated, handFile, /^skelprune: .*truncated\.skp: not a valid safetensors file: /],
      [
        good,
        handFile,
        /^skelprune: sequence hand\.txt .* has 1 person\(s\) × 21 joints; the model expects 1 × 20\n$/,
      ],
      [
        join(dir, 'missing.skp'),
        handFile,
        /^skelprune: cannot read model file .*missing\.skp: no such file; pass a .skp file written by skelprune export\n$/,
      ],
    ] as const) {
      const result = run(model, input);
      assert.equal(result.status, 1);
      assert.match(result.stderr, pattern);
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
    }
    assert.ok(readFileSync(good).length > 0);
  });

  it('predicts every sequence of a generic sequences.jsonl with probabilities summing to 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skelprune-skp-'));
    writeFileSync(join(dir, 'model.skp'), bytes);
    const dataset = generateSynthetic({ sequencesPerClass: 1, seed: 4 });
    await writeGenericDataset(dataset, join(dir, 'data'));
    const result = spawnSync(
      process.execPath,
      [
        cli,
        'predict',
        '--model',
        join(dir, 'model.skp'),
        '--input',
        join(dir, 'data', 'sequences.jsonl'),
        '--json',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(result.status, 0, result.stderr);
    const records = JSON.parse(result.stdout) as {
      id: string;
      predicted: string;
      label: string;
      probabilities: Record<string, number>;
    }[];
    assert.deepEqual(
      records.map((r) => r.id),
      dataset.sequences.map((s) => s.id),
    );
    for (const r of records) {
      const total = Object.values(r.probabilities).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - 1) < 1e-4, `probabilities of ${r.id} sum to ${total}`);
      assert.ok(dataset.classNames.includes(r.predicted));
      assert.equal(r.predicted, Object.entries(r.probabilities).sort((a, b) => b[1] - a[1])[0][0]);
    }
  });
});
