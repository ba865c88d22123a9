import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { Rng, randn } from '../../src/engine/index.js';
import { type GcnConfig, SkeletonGcn } from '../../src/model/gcn.js';
import { type CompactModel, compactModel } from '../../src/runtime/compact.js';
import { exportOnnx, ONNX_IR_VERSION, ONNX_OPSET, onnxSchema } from '../../src/runtime/onnx.js';
import { assertClose } from '../helpers.js';
import {
  type Masks,
  randomGcn,
  randomMasks,
  removeStructures,
  SMALL_CONFIG,
  SMALL_SHAPE,
  setHardMasks,
} from './models.js';
import { referenceForward } from './reference.js';

const config = SMALL_CONFIG;

/** A model with random non-zero parameters; `prune` edits its masks before they are installed. */
function randomModel(
  seed: number,
  cfg: Partial<GcnConfig>,
  prune?: (model: SkeletonGcn, masks: Masks) => void,
) {
  const model = randomGcn(SMALL_SHAPE, cfg, new Rng(seed));
  if (!prune) return compactModel(model, {});
  const masks: Masks = {};
  for (const w of model.prunableWeights()) masks[w.name] = new Uint8Array(w.rows * w.cols).fill(1);
  prune(model, masks);
  setHardMasks(model, masks);
  return compactModel(model, masks);
}

/** Random fine-grained pruning (drawn from Rng(seed + 1)) plus the whole structures of removeStructures. */
function prunedModel(seed: number, keep: number) {
  return randomModel(seed, config, (model, masks) => {
    Object.assign(masks, randomMasks(model, keep, new Rng(seed + 1)));
    removeStructures(model, masks);
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
