import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { Rng, randn } from '../../src/engine/index.js';
import { type GcnConfig, type GcnShape, SkeletonGcn } from '../../src/model/gcn.js';
import { setHardMask } from '../../src/model/layers.js';
import { type CompactModel, compactModel } from '../../src/runtime/compact.js';
import { exportOnnx, ONNX_IR_VERSION, ONNX_OPSET, onnxSchema } from '../../src/runtime/onnx.js';
import { assertClose } from '../helpers.js';
import { referenceForward } from './reference.js';

const shape: GcnShape = {
  nodes: 6,
  inputDim: 24,
  classes: 5,
  edges: [
    [0, 1],
    [1, 2],
  ],
};
const config: Partial<GcnConfig> = {
  heads: 4,
  headDim: 3,
  encodingChannels: 6,
  encoderChunks: 2,
  convChannels: 8,
  fcUnits: 10,
  dropout: 0,
};

type Masks = Record<string, Uint8Array>;

/** A model with random non-zero parameters; `prune` edits its masks before they are installed. */
function randomModel(
  seed: number,
  cfg: Partial<GcnConfig>,
  prune?: (model: SkeletonGcn, masks: Masks) => void,
) {
  const rng = new Rng(seed);
  const model = new SkeletonGcn(shape, cfg, rng);
  for (const p of model.parameters()) p.data.set(randn(p.shape, rng, 0.5).data);
  if (!prune) return compactModel(model, {});
  const masks: Masks = {};
  for (const w of model.prunableWeights()) masks[w.name] = new Uint8Array(w.rows * w.cols).fill(1);
  prune(model, masks);
  for (const w of model.prunableWeights()) setHardMask(w.layer, masks[w.name]);
  return compactModel(model, masks);
}

/** Prunes the entries of a prunable weight where `predicate(row, col)` holds. */
function removeEntries(
  model: SkeletonGcn,
  masks: Masks,
  name: string,
  predicate: (i: number, j: number) => boolean,
) {
  const w = model.prunableWeights().find((p) => p.name === name)!;
  for (let i = 0; i < w.rows; i++)
    for (let j = 0; j < w.cols; j++) if (predicate(i, j)) masks[name][i * w.cols + j] = 0;
}

/**
 * Random fine-grained pruning plus whole structures, as in compact.test.ts: a constant encoder
 * channel, a constant filter, a constant FC unit, a dead head (0) and a static head (1).
 */
function prunedModel(seed: number, keep: number) {
  return randomModel(seed, config, (model, masks) => {
    const rng = new Rng(seed + 1);
    for (const mask of Object.values(masks))
      for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() < keep ? 1 : 0;
    const width = config.encoderChunks! * config.encodingChannels!;
    removeEntries(model, masks, 'encoder', (_, j) => j === 1);
    removeEntries(model, masks, 'conv', (i, j) => j === 2 || Math.floor(i / width) === 0);
    removeEntries(model, masks, 'fc', (_, j) => j === 3);
    removeEntries(model, masks, 'query', (_, j) => Math.floor(j / config.headDim!) === 1);
    // Positive biases make every removed structure a non-zero constant folded into a bias.
    model.encoder.bias!.data[1] = 1;
    model.conv.bias!.data[2] = 2;
    model.fc.bias!.data[3] = 1.5;
  });
}

function inputsOf(m: CompactModel, batch: number, seed: number): Float32Array {
  // A copy: engine tensors live in shared wasm memory, which onnxruntime rejects ("Invalid argument").
  return randn([batch, m.nodes, m.chunks * m.chunkWidth], new Rng(seed)).data.slice();
}

/** Runs the exported model in onnxruntime on batch 1 and batch 3 and compares with the reference. */
async function assertRunsLikeReference(m: CompactModel): Promise<void> {
  const session = await InferenceSession.create(exportOnnx(m));
  try {
    for (const batch of [1, 3]) {
      const x = inputsOf(m, batch, batch);
      const width = m.chunks * m.chunkWidth;
      const { logits } = await session.run({ features: new Tensor('float32', x, [batch, m.nodes, width]) });
      assert.deepEqual(logits.dims, [batch, m.classes]);
      const sampleSize = m.nodes * width;
      for (let b = 0; b < batch; b++) {
        const expected = referenceForward(m, x.subarray(b * sampleSize, (b + 1) * sampleSize));
        const actual = (logits.data as Float32Array).subarray(b * m.classes, (b + 1) * m.classes);
        assertClose(actual, expected, { rtol: 1e-4, atol: 1e-4, label: `batch ${batch}, sample ${b}` });
      }
    }
  } finally {
    await session.release();
  }
}

type Decoded = {
  ir_version: number;
  opset_import: { domain?: string; version: number }[];
  producer_name: string;
  metadata_props?: { key: string; value: string }[];
  graph: {
    node: { op_type: string; name: string }[];
    initializer: { name: string; dims: number[] }[];
    input: ValueInfo[];
    output: ValueInfo[];
  };
};
type ValueInfo = {
  name: string;
  type: { tensor_type: { shape: { dim: { dim_value?: number; dim_param?: string }[] } } };
};

function decode(bytes: Uint8Array): Decoded {
  const ModelProto = onnxSchema().lookupType('onnx.ModelProto');
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as Decoded;
}

const dimsOf = (v: ValueInfo) => v.type.tensor_type.shape.dim.map((d) => d.dim_param ?? d.dim_value);

describe('ONNX export', () => {
  it('runs a dense model like the reference, for batch 1 and 3', async () => {
    await assertRunsLikeReference(randomModel(1, config));
  });

  it('runs a dense single-chunk model like the reference', async () => {
    await assertRunsLikeReference(randomModel(2, { ...config, encoderChunks: 1 }));
  });

  for (const keep of [0.6, 0.25]) {
    it(`runs a pruned model (dead head, static head, constants; keep ${keep}) like the reference`, async () => {
      const m = prunedModel(Math.round(keep * 100), keep);
      assert.ok(!m.heads.some((h) => h.index === 0), 'head 0 is dead');
      assert.ok(
        m.heads.some((h) => h.index === 1 && h.dims.length === 0),
        'head 1 is static',
      );
      await assertRunsLikeReference(m);
    });
  }

  it('runs a model pruned down to nothing: constant logits for any batch', async () => {
    const m = randomModel(3, config, (_, masks) => {
      for (const mask of Object.values(masks)) mask.fill(0);
    });
    assert.equal(m.classifier.weight.rows, 0);
    await assertRunsLikeReference(m);
  });

  it('runs an FPHA-sized dense model like the reference', async () => {
    const rng = new Rng(4);
    const model = new SkeletonGcn(
      { nodes: 21, inputDim: 576, classes: 45, edges: [] },
      { encoderChunks: 4 },
      rng,
    );
    await assertRunsLikeReference(compactModel(model, {}));
  });

  it('writes a valid ModelProto: names, dynamic batch, compacted weights, metadata', () => {
    const m = prunedModel(60, 0.6);
    const classNames = ['wave', 'kick', 'punch', 'hug', 'push'];
    const model = decode(exportOnnx(m, { classNames, producerVersion: '0.1.0' }));
    assert.equal(model.ir_version, ONNX_IR_VERSION);
    assert.deepEqual(
      model.opset_import.map((o) => o.version),
      [ONNX_OPSET],
    );
    assert.equal(model.producer_name, 'skelprune');
    assert.deepEqual(model.metadata_props, [{ key: 'class_names', value: JSON.stringify(classNames) }]);
    const { input, output, initializer, node } = model.graph;
    assert.deepEqual(
      input.map((v) => [v.name, dimsOf(v)]),
      [['features', ['batch', m.nodes, m.chunks * m.chunkWidth]]],
    );
    assert.deepEqual(
      output.map((v) => [v.name, dimsOf(v)]),
      [['logits', ['batch', m.classes]]],
    );
    const dims = new Map(initializer.map((t) => [t.name, t.dims]));
    for (const layer of ['encoder', 'query', 'key', 'conv', 'fc', 'classifier'] as const) {
      const { rows, cols } = m[layer].weight;
      assert.deepEqual(dims.get(`${layer}.weight`), [rows, cols], `${layer}.weight is the compacted matrix`);
      assert.deepEqual(dims.get(`${layer}.bias`), [cols]);
    }
    const dynamicHeads = m.heads.filter((h) => h.dims.length > 0);
    assert.equal(node.filter((n) => n.op_type === 'Softmax').length, dynamicHeads.length);
    for (const head of m.heads.filter((h) => h.dims.length === 0)) {
      assert.deepEqual(
        dims.get(`head${head.index}.adjacency`),
        [m.nodes, m.nodes],
        'static adjacency is a constant',
      );
    }
  });

  it('rejects class names that do not match the classes', () => {
    assert.throws(
      () => exportOnnx(randomModel(5, config), { classNames: ['a'] }),
      /1 class names .* 5 classes/,
    );
  });
});
