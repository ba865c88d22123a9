import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Kernels } from '@skelprune/runtime/internal';
import {
  chooseFormat,
  createKernels,
  createKernelsSync,
  denseValues,
  describeStorage,
  InferenceEngine,
  LAYER_NAMES,
  matrixShape,
  type RuntimeLayer,
  type RuntimeModel,
  STORAGE_FORMATS,
  storeMatrix,
  validateRuntimeModel,
} from '@skelprune/runtime/internal';
import { Rng } from '../../src/engine/index.js';
import type { GcnConfig, GcnShape } from '../../src/model/gcn.js';
import { type CompactModel, compactModel } from '../../src/runtime/compact.js';
import { measureSpeeds, ROUNDS, type Runner } from '../../src/runtime/latency.js';
import { toRuntimeModel } from '../../src/runtime/runtime-model.js';
import {
  type Masks,
  prunedGcn,
  randomGcn,
  removeEntries,
  SMALL_CONFIG,
  SMALL_SHAPE,
  setHardMasks,
} from './models.js';
import { referenceForward } from './reference.js';

const wasm = createKernelsSync({ backend: 'wasm', threads: 1 });
const ts = createKernelsSync({ backend: 'ts', memory: wasm.heap.memory });
const mapLayers = (model: RuntimeModel, f: (layer: RuntimeLayer) => RuntimeLayer) =>
  Object.fromEntries(LAYER_NAMES.map((name) => [name, f(model.layers[name])])) as RuntimeModel['layers'];

const backends: [string, Kernels][] = [
  ['wasm', wasm],
  ['ts', ts],
];
after(() => wasm.dispose());

/** A random model, compacted; below keep 1 pruned as {@link prunedGcn} prunes. */
function gcnModel(shape: GcnShape, config: Partial<GcnConfig>, seed: number, keep: number): CompactModel {
  if (keep === 1) return compactModel(randomGcn(shape, config, new Rng(seed)), {});
  const { model, masks } = prunedGcn(shape, config, seed, keep);
  return compactModel(model, masks);
}

const models: [string, CompactModel][] = [
  ['dense', gcnModel(SMALL_SHAPE, SMALL_CONFIG, 1, 1)],
  ['pruned to 60%', gcnModel(SMALL_SHAPE, SMALL_CONFIG, 60, 0.6)],
  ['pruned to 25%', gcnModel(SMALL_SHAPE, SMALL_CONFIG, 25, 0.25)],
  // 37 nodes: 40 columns per sample, so attention rows span more than one 8-vector chunk.
  [
    'pruned, 37 nodes',
    gcnModel(
      { nodes: 37, inputDim: 9, classes: 3, edges: [] },
      { ...SMALL_CONFIG, encoderChunks: 3, encodingChannels: 7, headDim: 2 },
      37,
      0.5,
    ),
  ],
];

function inputs(model: CompactModel, batch: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: batch * model.nodes * model.chunks * model.chunkWidth }, () =>
    rng.range(-1, 1),
  );
}

/** Every sample's logits against the float64 reference, within 1e-5 of the largest logit. */
function assertMatchesReference(model: CompactModel, x: Float32Array, batch: number, logits: Float32Array) {
  const sampleSize = x.length / batch;
  for (let b = 0; b < batch; b++) {
    const expected = referenceForward(model, x.subarray(b * sampleSize, (b + 1) * sampleSize));
    const scale = Math.max(1, ...expected.map(Math.abs));
    for (let c = 0; c < model.classes; c++) {
      const actual = logits[b * model.classes + c];
      assert.ok(
        Math.abs(actual - expected[c]) <= 1e-5 * scale,
        `sample ${b} class ${c}: ${actual} vs ${expected[c]} (scale ${scale})`,
      );
    }
  }
}

describe('inference engine', () => {
  it('exercises dead heads, static heads and dropped channels', () => {
    const pruned = models[2][1];
    assert.ok(pruned.heads.length < 4 && pruned.heads.some((h) => h.dims.length === 0));
    assert.ok(pruned.encoder.weight.cols < 6 && pruned.classifier.weight.rows < 10);
  });

  for (const [modelName, compact] of models) {
    for (const format of [...STORAGE_FORMATS, 'auto'] as const) {
      it(`matches the reference: ${modelName}, ${format}, wasm and ts, batch 1, 3 and 9`, () => {
        const runtime = toRuntimeModel(compact, { format });
        for (const [backend, kernels] of backends) {
          const engine = new InferenceEngine(runtime, kernels);
          for (const batch of [1, 3, 9]) {
            const x = inputs(compact, batch, batch);
            const logits = engine.predict(x, batch);
            assert.equal(logits.length, batch * compact.classes, backend);
            assertMatchesReference(compact, x, batch, logits);
          }
          engine.dispose();
        }
      });
    }
  }

  it('runs the graph convolution filters first once fewer filters remain than channels are mixed', () => {
    const wide = gcnModel(SMALL_SHAPE, { ...SMALL_CONFIG, convChannels: 16 }, 2, 1);
    const { model, masks } = prunedGcn(SMALL_SHAPE, { ...SMALL_CONFIG, convChannels: 16 }, 3, 1);
    removeEntries(model, masks, 'conv', (_, j) => j >= 3);
    setHardMasks(model, masks);
    const narrow = compactModel(model, masks);
    for (const [compact, filtersFirst] of [
      [wide, false],
      [narrow, true],
    ] as const) {
      for (const [backend, kernels] of backends) {
        const engine = new InferenceEngine(toRuntimeModel(compact), kernels);
        assert.equal(engine.graphConvolution.filtersFirst, filtersFirst, backend);
        const x = inputs(compact, 3, 7);
        assertMatchesReference(compact, x, 3, engine.predict(x, 3));
        engine.dispose();
      }
    }
  });

  it('runs models with whole layers pruned away (no heads, all heads static, constant logits)', () => {
    const tiny: GcnShape = { nodes: 5, inputDim: 8, classes: 3, edges: [] };
    const config = {
      heads: 2,
      headDim: 2,
      encodingChannels: 4,
      encoderChunks: 2,
      convChannels: 4,
      fcUnits: 6,
    };
    for (const dead of [
      ['encoder'],
      ['conv'],
      ['fc'],
      ['query', 'key'],
      ['encoder', 'conv', 'fc', 'query', 'key'],
    ]) {
      const model = randomGcn(tiny, config, new Rng(3));
      const masks: Masks = {};
      for (const w of model.prunableWeights()) {
        masks[w.name] = new Uint8Array(w.rows * w.cols).fill(dead.includes(w.name) ? 0 : 1);
      }
      setHardMasks(model, masks);
      const compact = compactModel(model, masks);
      for (const format of STORAGE_FORMATS) {
        for (const [, kernels] of backends) {
          const engine = new InferenceEngine(toRuntimeModel(compact, { format }), kernels);
          for (const batch of [1, 2]) {
            const x = inputs(compact, batch, 5);
            assertMatchesReference(compact, x, batch, engine.predict(x, batch));
          }
          engine.dispose();
        }
      }
    }
  });

  it('runs wasm SIMD on an unshared memory (a browser page without cross-origin isolation)', async () => {
    const memory = new WebAssembly.Memory({ initial: 16, maximum: 4096 });
    const kernels = await createKernels({ memory });
    assert.equal(kernels.name, 'wasm-simd');
    const compact = models[2][1];
    const engine = new InferenceEngine(toRuntimeModel(compact), kernels);
    for (const batch of [1, 5]) {
      const x = inputs(compact, batch, 8);
      assertMatchesReference(compact, x, batch, engine.predict(x, batch));
    }
    engine.dispose();
  });

  it('runs each batch size in the format the cost model prefers there, converted from the stored one', () => {
    const switched = models.filter(([, compact]) => {
      const runtime = toRuntimeModel(compact);
      // The same storage run as stored at every batch size: the single-storage engine.
      const pinned: RuntimeModel = {
        ...runtime,
        layers: mapLayers(runtime, (layer) => ({ ...layer, forced: true })),
      };
      const adaptive = new InferenceEngine(runtime, wasm);
      const single = new InferenceEngine(pinned, wasm);
      const x = inputs(compact, 32, 13);
      const logits = adaptive.predict(x, 32);
      const expected = single.predict(x, 32);
      const scale = Math.max(1, ...expected.map(Math.abs));
      const worst = Math.max(...expected.map((v, i) => Math.abs(logits[i] - v)));
      assert.ok(worst <= 1e-5 * scale, `logits differ by ${worst}`);
      assertMatchesReference(compact, x, 32, logits);
      assert.deepEqual(single.formatsAt(32), single.formatsAt(1));
      const changed = LAYER_NAMES.some(
        (name) => adaptive.formatsAt(32)[name] !== adaptive.formatsAt(1)[name],
      );
      adaptive.dispose();
      single.dispose();
      return changed;
    });
    assert.ok(switched.length > 0, 'some model changes a format between batch 1 and 32');
  });

  it('runs forced formats at every batch size', () => {
    const compact = models[2][1];
    for (const format of STORAGE_FORMATS) {
      const runtime = toRuntimeModel(compact, { format });
      assert.ok(LAYER_NAMES.every((name) => runtime.layers[name].forced));
      const engine = new InferenceEngine(runtime, wasm);
      for (const batch of [1, 32])
        assert.ok(
          LAYER_NAMES.every((name) => engine.formatsAt(batch)[name] === format),
          `${format}, ${batch}`,
        );
      engine.dispose();
    }
    const mixed = toRuntimeModel(compact, { format: { fc: 'bsr' } });
    assert.deepEqual(
      LAYER_NAMES.filter((name) => mixed.layers[name].forced),
      ['fc'],
    );
  });

  it('mixes formats per layer', () => {
    const compact = models[1][1];
    const runtime = toRuntimeModel(compact, { format: { encoder: 'bsr', projection: 'csr', fc: 'dense' } });
    const storage = describeStorage(runtime);
    assert.deepEqual(
      LAYER_NAMES.map((name) => storage[name].format),
      ['bsr', 'csr', storage.conv.format, 'dense', storage.classifier.format],
    );
    const engine = new InferenceEngine(runtime, wasm);
    const x = inputs(compact, 2, 7);
    assertMatchesReference(compact, x, 2, engine.predict(x, 2));
    engine.dispose();
  });

  it('predicts bit for bit the same from two engines over one runtime model, call after call', () => {
    for (const [, compact] of models) {
      const runtime = toRuntimeModel(compact);
      const first = new InferenceEngine(runtime, wasm);
      const second = new InferenceEngine(runtime, wasm);
      for (const batch of [1, 4]) {
        const x = inputs(compact, batch, 11);
        const a = first.predict(x, batch);
        second.predict(inputs(compact, batch, 12), batch);
        assert.deepEqual(second.predict(x, batch), a);
        assert.deepEqual(first.predict(x, batch), a);
      }
      first.dispose();
      second.dispose();
    }
  });

  it('allocates nothing per call after warm-up and frees everything on dispose', () => {
    const compact = models[1][1];
    const before = wasm.heap.stats().liveBlocks;
    const engine = new InferenceEngine(toRuntimeModel(compact), wasm);
    const x = inputs(compact, 2, 3);
    const out = new Float32Array(2 * compact.classes);
    engine.predict(x, 2, out);
    const warm = wasm.heap.stats().liveBlocks;
    for (let i = 0; i < 5; i++) assert.equal(engine.predict(x, 2, out), out);
    assert.equal(wasm.heap.stats().liveBlocks, warm);
    engine.dispose();
    assert.equal(wasm.heap.stats().liveBlocks, before);
    assert.throws(() => engine.predict(x, 2), /after dispose/);
  });

  it('describes each layer: format, shape, nonzeros, blocks and bytes', () => {
    const compact = models[2][1];
    const storage = describeStorage(toRuntimeModel(compact, { format: 'csr' }));
    const fc = compact.fc.weight;
    const nonzeros = fc.data.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
    assert.deepEqual(
      { ...storage.fc, blocks: 0 },
      {
        format: 'csr',
        rows: fc.cols,
        cols: fc.rows,
        nonzeros,
        blocks: 0,
        bytes: 4 * (fc.cols + 1) + 2 * nonzeros + 4 * nonzeros,
      },
    );
    const dense = describeStorage(toRuntimeModel(compact, { format: 'dense' })).fc;
    assert.equal(dense.bytes, 4 * fc.rows * fc.cols);
    assert.equal(dense.nonzeros, nonzeros);
  });

  it('stores Wᵀ losslessly in every format, padding partial edge blocks', () => {
    const rng = new Rng(4);
    const w = {
      rows: 7,
      cols: 5,
      data: Float32Array.from({ length: 35 }, () => (rng.uniform() < 0.4 ? rng.range(-1, 1) : 0)),
    };
    const transposed = Float32Array.from({ length: 35 }, (_, e) => w.data[(e % 7) * 5 + Math.floor(e / 7)]);
    for (const format of STORAGE_FORMATS) {
      const stored = storeMatrix(w, format);
      assert.deepEqual([stored.rows, stored.cols], [5, 7]);
      assert.deepEqual(denseValues(stored), transposed, format);
    }
    const bsr = storeMatrix(w, 'bsr');
    assert.ok(bsr.format === 'bsr' && bsr.values.length === 16 * bsr.index.length && bsr.rowPtr.length === 3);
  });

  it('chooses dense for dense weights, csr for scattered ones and bsr for full 4×4 blocks', () => {
    const rng = new Rng(2);
    const weight = (keep: (o: number, i: number) => boolean) => ({
      rows: 512,
      cols: 96,
      data: Float32Array.from({ length: 512 * 96 }, (_, e) =>
        keep(e % 96, Math.floor(e / 96)) ? rng.range(-1, 1) : 0,
      ),
    });
    const blocks = new Set(Array.from({ length: 600 }, () => rng.int(24 * 128)));
    const cases = [
      { w: weight(() => true), format: 'dense' },
      { w: weight(() => rng.uniform() < 0.05), format: 'csr' },
      { w: weight((o, i) => blocks.has(Math.floor(o / 4) * 128 + Math.floor(i / 4))), format: 'bsr' },
    ];
    for (const { w, format } of cases) {
      for (const columns of [24, 768])
        assert.equal(chooseFormat(matrixShape(w), columns), format, `${format} at ${columns}`);
    }
  });

  it('rejects inconsistent models and inputs with clear errors', () => {
    const compact = models[1][1];
    const runtime = toRuntimeModel(compact, { format: 'csr' });
    const broken: RuntimeModel = { ...runtime, fcInputs: runtime.fcInputs.slice(1) };
    assert.throws(() => validateRuntimeModel(broken), /fc is \d+×\d+, expected/);
    const csr = runtime.layers.conv.weight;
    assert.ok(csr.format === 'csr');
    const badIndex = { ...csr, index: Uint16Array.from(csr.index, () => csr.cols) };
    assert.throws(
      () =>
        new InferenceEngine(
          { ...runtime, layers: { ...runtime.layers, conv: { ...runtime.layers.conv, weight: badIndex } } },
          wasm,
        ),
      /conv csr indexes a column beyond/,
    );
    const engine = new InferenceEngine(runtime, wasm);
    assert.throws(() => engine.predict(new Float32Array(3), 1), /input has 3 values, expected 1×6×24/);
    assert.throws(() => engine.predict(inputs(compact, 1, 1), 0), /positive integer/);
    engine.dispose();
  });
});

describe('speed measurement', () => {
  it('times every runner in interleaved rounds and reports each its own figures', async () => {
    const shape = { nodes: 3, chunks: 1, chunkWidth: 2 };
    const calls: string[] = [];
    const runner = (name: string, batchSizes: number[]): Runner => ({
      shape,
      run: (x, batch) => {
        assert.equal(x.length, batch * 6, 'inputs are shaped for the runner');
        calls.push(name);
        batchSizes.push(batch);
      },
      dispose: () => {},
    });
    const [aBatches, bBatches] = [[] as number[], [] as number[]];
    const speeds = await measureSpeeds([runner('a', aBatches), runner('b', bBatches)], {
      repeats: 100,
      batch: 4,
    });
    assert.equal(speeds.length, 2);
    for (const s of speeds) assert.ok(s.p50Ms <= s.p90Ms && s.throughput > 0 && s.batch === 4);
    // After the warm-up, the calls alternate between the runners once per round, not once overall.
    const switches = calls.slice(1).filter((name, i) => name !== calls[i]).length;
    assert.ok(switches >= 2 * ROUNDS - 1, `${switches} switches`);
    assert.deepEqual([...new Set(aBatches)], [1, 4]);
    assert.deepEqual(aBatches.length, bBatches.length);
  });
});
