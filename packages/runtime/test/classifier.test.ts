import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { SkeletonClassifier, SkelpruneError } from '../src/index.js';
import {
  packed,
  TINY_CLASSES,
  TINY_FRAMES,
  TINY_JOINTS,
  TINY_PRUNING,
  tinyModelBytes,
  tinySequence,
} from './tiny-model.js';

const bytes = tinyModelBytes();
const sequences = [1, 2, 3, 4, 5].map((seed) => tinySequence(seed, 6 + 3 * seed));
const probabilitiesOf = (model: SkeletonClassifier) =>
  sequences.map((s) => [...model.predict(s).probabilities]);

describe('SkeletonClassifier.load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skelprune-runtime-'));
  const path = join(dir, 'tiny model.skp');
  writeFileSync(path, bytes);
  const server = createServer((request, response) => {
    if (request.url === '/models/tiny.skp') response.end(bytes);
    else response.writeHead(404, 'Not Found').end();
  });
  let origin = '';
  let expected: number[][];

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expected = probabilitiesOf(await SkeletonClassifier.load(bytes));
  });
  after(() => server.close());

  const sources: [string, () => Parameters<typeof SkeletonClassifier.load>[0], string][] = [
    ['a Uint8Array', () => bytes, 'bytes'],
    ['an ArrayBuffer', () => bytes.slice().buffer, 'bytes'],
    ['a file path', () => path, path],
    ['a file: URL object', () => pathToFileURL(path), pathToFileURL(path).href],
    ['a file: URL string', () => pathToFileURL(path).href, pathToFileURL(path).href],
    ['an http URL', () => `${origin}/models/tiny.skp`, '/models/tiny.skp'],
  ];
  for (const [label, source, name] of sources) {
    it(`loads ${label} to the same predictions`, async () => {
      const model = await SkeletonClassifier.load(source());
      assert.ok(model.info.source.endsWith(name), model.info.source);
      assert.equal(model.info.fileBytes, bytes.length);
      assert.deepEqual(probabilitiesOf(model), expected);
    });
  }

  it('loads a fetch Response, and synchronously from bytes in Node', async () => {
    const fetched = await SkeletonClassifier.load(await fetch(`${origin}/models/tiny.skp`));
    assert.deepEqual(probabilitiesOf(fetched), expected);
    assert.deepEqual(probabilitiesOf(SkeletonClassifier.fromBytes(bytes, { name: 'tiny.skp' })), expected);
  });

  it('refuses a missing file, an HTTP error and a file that is no model, naming each', async () => {
    await assert.rejects(
      SkeletonClassifier.load(join(dir, 'missing.skp')),
      (error: Error) =>
        error instanceof SkelpruneError &&
        /cannot read model file .*missing\.skp: no such file/.test(error.message),
    );
    await assert.rejects(SkeletonClassifier.load(`${origin}/models/gone.skp`), {
      name: 'SkelpruneError',
      message: `cannot fetch model ${origin}/models/gone.skp: HTTP 404 Not Found`,
    });
    await assert.rejects(SkeletonClassifier.load(bytes.subarray(0, 40), { name: 'cut.skp' }), {
      name: 'SkelpruneError',
      message: /^cut\.skp: /,
    });
  });

  it('runs the TS fallback to the same predictions as the wasm SIMD kernels', async () => {
    const fallback = await SkeletonClassifier.load(bytes, { backend: 'ts' });
    probabilitiesOf(fallback).forEach((row, s) => {
      row.forEach((p, c) => {
        assert.ok(
          Math.abs(p - expected[s][c]) < 1e-5,
          `sequence ${s}, class ${c}: ${p} vs ${expected[s][c]}`,
        );
      });
    });
  });
});

describe('SkeletonClassifier', async () => {
  const model = await SkeletonClassifier.load(bytes, { name: 'tiny.skp' });

  it('describes the model: classes, skeleton, frame window, pruning and each layer', () => {
    const { info } = model;
    assert.equal(info.source, 'tiny.skp');
    assert.deepEqual(info.classNames, TINY_CLASSES);
    assert.deepEqual(model.classNames, TINY_CLASSES);
    assert.equal(info.persons, 1);
    assert.equal(info.joints, TINY_JOINTS);
    assert.deepEqual(info.jointNames, ['wrist', 'thumb', 'index', 'middle', 'ring']);
    assert.deepEqual(info.bones, [
      [0, 1],
      [0, 2],
      [0, 3],
      [0, 4],
    ]);
    assert.equal(info.centerJoint, 0);
    assert.deepEqual(info.temporal, { mode: 'resample', frames: TINY_FRAMES });
    assert.equal(info.frames, TINY_FRAMES);
    assert.deepEqual(info.pruning, TINY_PRUNING);
    assert.deepEqual(
      info.layers.map(({ name, format, rows, cols }) => [name, format, rows, cols]),
      [
        ['encoder', 'dense', 6, 20],
        ['projection', 'csr', 10, 12],
        ['conv', 'bsr', 7, 15],
        ['fc', 'csr', 9, 18],
        ['classifier', 'dense', 4, 9],
      ],
    );
    for (const layer of info.layers) {
      assert.ok(layer.nonzeros > 0 && layer.nonzeros <= layer.rows * layer.cols, layer.name);
      // Dense layers store every value; csr stores a value and an index per nonzero.
      if (layer.format === 'dense') assert.equal(layer.bytes, 4 * layer.rows * layer.cols, layer.name);
      if (layer.format === 'csr') assert.ok(layer.nonzeros < layer.rows * layer.cols, layer.name);
    }
    const biases = 6 + 10 + 7 + 9 + 4;
    assert.equal(info.parameters, info.layers.reduce((n, l) => n + l.nonzeros, 0) + biases);
    assert.equal(info.metadata.dataset, 'tiny');
  });

  it('predicts one sequence as predictBatch does: exactly one by one, to rounding in batches', () => {
    const single = model.predictBatch(sequences, { batchSize: 1 });
    assert.equal(single.length, sequences.length);
    sequences.forEach((sequence, i) => {
      assert.deepEqual(model.predict(sequence), single[i]);
    });
    // Batches run other kernels (a gemm instead of a matrix-vector product): same results to rounding.
    for (const batchSize of [2, 32]) {
      model.predictBatch(sequences, { batchSize }).forEach((prediction, i) => {
        assert.equal(prediction.classIndex, single[i].classIndex);
        prediction.probabilities.forEach((p, c) => {
          assert.ok(Math.abs(p - single[i].probabilities[c]) < 1e-6, `batch ${batchSize}, ${i}, ${c}`);
        });
      });
    }
    // The sequences differ, so must their predictions: the input reaches the engine.
    assert.notDeepEqual(single[0].probabilities, single[1].probabilities);
  });

  it('lists the top classes by decreasing probability, the first being the prediction', () => {
    for (const sequence of sequences) {
      const prediction = model.predict(sequence, { topK: 3 });
      const { probabilities, top } = prediction;
      assert.equal(top.length, 3);
      assert.ok(Math.abs(probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      const best = probabilities.indexOf(Math.max(...probabilities));
      assert.deepEqual(
        [prediction.classIndex, prediction.className, prediction.probability],
        [best, TINY_CLASSES[best], probabilities[best]],
      );
      assert.deepEqual(top[0], { index: best, name: TINY_CLASSES[best], probability: probabilities[best] });
      for (let k = 1; k < top.length; k++) assert.ok(top[k].probability <= top[k - 1].probability);
      for (const { index, name, probability } of top) {
        assert.equal(name, TINY_CLASSES[index]);
        assert.equal(probability, probabilities[index]);
      }
    }
    assert.equal(model.predict(sequences[0], { topK: 10 }).top.length, TINY_CLASSES.length);
    assert.equal(model.predict(sequences[0]).top.length, TINY_CLASSES.length, 'default 5, capped');
  });

  it('predicts nested frames, packed positions and a person axis identically', () => {
    const frames = sequences[2];
    const expected = model.predict(frames);
    const positions = packed(frames);
    assert.deepEqual(model.predict({ positions, frames: frames.length }), expected);
    assert.deepEqual(
      model.predict({ positions: [...positions], frames: frames.length, joints: 5 }),
      expected,
    );
    assert.deepEqual(
      model.predict(frames.map((frame) => [frame])),
      expected,
      'frames × persons × joints × 3',
    );
  });

  it('refuses input that does not fit the model with one clear SkelpruneError', () => {
    const frames = sequences[0];
    const cases: [Parameters<typeof model.predict>[0], RegExp][] = [
      [[], /^sequence 0: has no frames$/],
      [{ positions: new Float32Array(0), frames: 0 }, /^sequence 0: 0 frame\(s\) of 1 × 5 joints need 0/],
      [frames.map((f) => f.slice(0, 4)), /^sequence 0, frame 0: has 4 joints; the model expects 5$/],
      [
        { positions: new Float32Array(3 * 21 * 3), frames: 3, joints: 21, id: 'hand' },
        /^sequence hand has 1 person\(s\) × 21 joints; the model expects 1 × 5$/,
      ],
      [
        { positions: new Float32Array(10), frames: 2 },
        /^sequence 0: 2 frame\(s\) of 1 × 5 joints need 30 coordinates, found 10$/,
      ],
      [
        frames.map((f, i) => (i === 3 ? [f[0], f[1], [0, Number.NaN, 0], f[3], f[4]] : f)),
        /^sequence 0, frame 3: coordinate 7 is not a finite float32 number$/,
      ],
      [
        { positions: packed(frames).map((v, k) => (k === 20 ? Infinity : v)), frames: frames.length },
        /^sequence 0, frame 1: coordinate 5 is not a finite float32 number$/,
      ],
      [frames.map((f) => f.map(([x, y]) => [x, y])), /^sequence 0, frame 0, joint 0: expected \[x, y, z\]$/],
      [{ frames: 2 } as never, /^sequence 0: expected an array of frames or \{ positions, frames \}$/],
    ];
    for (const [input, message] of cases) {
      assert.throws(
        () => model.predict(input),
        (error: Error) => {
          assert.ok(error instanceof SkelpruneError, `${error.name}: ${error.message}`);
          assert.match(error.message, message);
          return true;
        },
      );
    }
    assert.throws(() => model.predict(frames, { topK: 0 }), /topK must be a positive integer, got 0/);
    assert.throws(
      () => model.predictBatch([frames], { batchSize: 1.5 }),
      /batchSize must be a positive integer/,
    );
  });

  it('names the failing sequence of a batch', () => {
    const broken = sequences[1].slice(0, 2).map((f) => f.slice(1));
    assert.throws(
      () => model.predictBatch([sequences[0], broken]),
      /^SkelpruneError: sequence 1, frame 0: has 4 joints/,
    );
  });
});
