/**
 * The exported model file (`.skp`, format version 2; docs/model-format.md): a safetensors file whose
 * `skelprune_model` metadata entry (JSON) holds the compact architecture, each layer's storage format,
 * the input pipeline (fitted preprocessing, features, skeleton), the class names and provenance, and
 * whose tensors hold each layer's weights (in the smaller of two lossless encodings) and biases. Everything inference needs, nothing of
 * training; readable by any safetensors reader. Pure (no file system): Node reads and writes files
 * through ./model-io.ts, browsers decode fetched bytes directly.
 */
import { z } from 'zod';
import { fittedPreprocessingSchema } from '../data/preprocess.js';
import { decodeSafetensors, encodeSafetensors, type NamedArray } from '../engine/safetensors.js';
import { SkelpruneError } from '../errors.js';
import { featureConfigSchema } from '../model/features.js';
import type { ModelInputSpec } from '../model/input.js';
import { LAYER_NAMES, type LayerName, type RuntimeModel, validateRuntimeModel } from './engine.js';
import { denseValues, type StoredMatrix, storeTransposed } from './storage.js';

export const MODEL_FORMAT = 'skelprune-model';
export const MODEL_VERSION = 2;
const METADATA_KEY = 'skelprune_model';

const index = z.int().nonnegative();
const edge = z.tuple([index, index]);

const headerSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  version: z.literal(MODEL_VERSION),
  model: z.object({
    nodes: z.int().positive(),
    chunks: z.int().positive(),
    classes: z.int().positive(),
    chunkWidth: z.int().positive(),
    encoderInputs: z.array(index),
    scoreScale: z.number().positive(),
    heads: z.array(z.object({ index, dims: z.array(index), channels: z.array(index) })),
    fcInputs: z.array(index),
    layers: z.record(
      z.enum(LAYER_NAMES),
      z.object({
        format: z.enum(['dense', 'csr', 'bsr']),
        encoding: z.enum(['dense', 'bitmap']),
        rows: index,
        cols: index,
      }),
    ),
  }),
  input: z.object({
    preprocessing: fittedPreprocessingSchema,
    features: featureConfigSchema,
    jointNames: z.array(z.string()),
    bones: z.array(edge),
    centerJoint: index,
  }),
  classNames: z.array(z.string()),
  /** Provenance and results: source checkpoint, dataset, pruning, accuracy (free-form). */
  info: z.record(z.string(), z.unknown()),
});

export type ModelFileHeader = z.output<typeof headerSchema>;

export interface ModelFile {
  model: RuntimeModel;
  input: ModelInputSpec;
  classNames: string[];
  info: Record<string, unknown>;
}

/**
 * How a layer's Wᵀ is written, whatever its runtime format: all values (dense), or a bitmap of the
 * nonzero positions plus their values (bitmap), whichever is smaller. Both are lossless; the reader
 * rebuilds the runtime format, so bsr's zero padding and csr's indices never take disk space.
 */
export type WeightEncoding = 'dense' | 'bitmap';

const bitmapBytes = (entries: number) => Math.ceil(entries / 8);

function encodeWeight(
  name: string,
  m: StoredMatrix,
): { encoding: WeightEncoding; tensors: Record<string, NamedArray> } {
  const dense = denseValues(m);
  const nonzeros = dense.reduce((n, v) => n + (v === 0 ? 0 : 1), 0);
  if (bitmapBytes(dense.length) + 4 * nonzeros >= dense.byteLength) {
    return { encoding: 'dense', tensors: { [`${name}.values`]: { shape: [m.rows, m.cols], data: dense } } };
  }
  const mask = new Uint8Array(bitmapBytes(dense.length));
  const values = new Float32Array(nonzeros);
  let n = 0;
  dense.forEach((v, k) => {
    if (v === 0) return;
    mask[k >> 3] |= 1 << (k & 7);
    values[n++] = v;
  });
  return {
    encoding: 'bitmap',
    tensors: {
      [`${name}.mask`]: { shape: [mask.length], data: mask },
      [`${name}.values`]: { shape: [nonzeros], data: values },
    },
  };
}

/** Wᵀ [rows, cols] row-major from a bitmap of nonzero positions and the nonzero values in order. */
function unpackBitmap(
  mask: Uint8Array,
  values: Float32Array,
  rows: number,
  cols: number,
): Float32Array | null {
  if (mask.length !== bitmapBytes(rows * cols)) return null;
  const dense = new Float32Array(rows * cols);
  let n = 0;
  for (let k = 0; k < dense.length; k++) {
    if (!((mask[k >> 3] >> (k & 7)) & 1)) continue;
    if (n === values.length) return null;
    dense[k] = values[n++];
  }
  return n === values.length ? dense : null;
}

export function encodeModelFile(file: ModelFile): Uint8Array {
  const { model } = file;
  const { nodes } = model;
  const encoded = Object.fromEntries(
    LAYER_NAMES.map((name) => [name, encodeWeight(name, model.layers[name].weight)]),
  ) as Record<LayerName, ReturnType<typeof encodeWeight>>;
  const header: ModelFileHeader = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    model: {
      nodes,
      chunks: model.chunks,
      classes: model.classes,
      chunkWidth: model.chunkWidth,
      encoderInputs: model.encoderInputs,
      scoreScale: model.scoreScale,
      heads: model.heads.map(({ index, dims, channels }) => ({ index, dims, channels })),
      fcInputs: model.fcInputs,
      layers: Object.fromEntries(
        LAYER_NAMES.map((name) => {
          const { format, rows, cols } = model.layers[name].weight;
          return [name, { format, encoding: encoded[name].encoding, rows, cols }];
        }),
      ) as ModelFileHeader['model']['layers'],
    },
    input: file.input as ModelFileHeader['input'],
    classNames: file.classNames,
    info: file.info,
  };
  const tensors: Record<string, NamedArray> = {};
  const biases = new Float32Array(model.heads.length * nodes * nodes);
  model.heads.forEach((h, i) => {
    biases.set(h.bias, i * nodes * nodes);
  });
  tensors['heads.bias'] = { shape: [model.heads.length, nodes, nodes], data: biases };
  for (const name of LAYER_NAMES) {
    const layer = model.layers[name];
    Object.assign(tensors, encoded[name].tensors);
    tensors[`${name}.bias`] = { shape: [layer.bias.length], data: layer.bias };
  }
  return encodeSafetensors(tensors, { [METADATA_KEY]: JSON.stringify(header) });
}

function parseHeader(metadata: Record<string, string>, source: string): ModelFileHeader {
  const text = metadata[METADATA_KEY];
  if (text === undefined)
    throw new SkelpruneError(`${source}: not a skelprune model file (no '${METADATA_KEY}' metadata)`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SkelpruneError(`${source}: the model description is not valid JSON (corrupted file?)`);
  }
  const version = (json as { version?: unknown }).version;
  if (version !== MODEL_VERSION) {
    throw new SkelpruneError(
      `${source}: model format version ${String(version)} is not supported (this skelprune reads version ${MODEL_VERSION})`,
    );
  }
  const parsed = headerSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SkelpruneError(
      `${source}: invalid model description at '${issue.path.join('.')}': ${issue.message}`,
    );
  }
  return parsed.data;
}

export function decodeModelFile(bytes: Uint8Array, source = 'model'): ModelFile {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const header = parseHeader(metadata, source);
  const tensor = <T extends NamedArray['data']>(name: string, kind: new (...args: never[]) => T): T => {
    const t = tensors[name];
    if (!t || !(t.data instanceof kind))
      throw new SkelpruneError(`${source}: tensor '${name}' is missing or has the wrong type`);
    return t.data as T;
  };
  const { nodes } = header.model;
  const headBias = tensor('heads.bias', Float32Array);
  if (headBias.length !== header.model.heads.length * nodes * nodes)
    throw new SkelpruneError(`${source}: tensor 'heads.bias' has the wrong size`);
  const layers = Object.fromEntries(
    LAYER_NAMES.map((name) => {
      const { format, encoding, rows, cols } = header.model.layers[name];
      const values = tensor(`${name}.values`, Float32Array);
      const dense =
        encoding === 'dense'
          ? values.length === rows * cols
            ? values
            : null
          : unpackBitmap(tensor(`${name}.mask`, Uint8Array), values, rows, cols);
      if (!dense)
        throw new SkelpruneError(
          `${source}: the weights of layer '${name}' do not match its ${rows}×${cols} shape`,
        );
      const weight = storeTransposed(dense, rows, cols, format);
      return [name, { weight, bias: tensor(`${name}.bias`, Float32Array) }];
    }),
  ) as Record<LayerName, RuntimeModel['layers'][LayerName]>;
  const model: RuntimeModel = {
    ...header.model,
    heads: header.model.heads.map((h, i) => ({
      ...h,
      bias: headBias.slice(i * nodes * nodes, (i + 1) * nodes * nodes),
    })),
    layers,
  };
  try {
    validateRuntimeModel(model);
  } catch (error) {
    throw new SkelpruneError(`${source}: inconsistent model: ${(error as Error).message}`);
  }
  return { model, input: header.input, classNames: header.classNames, info: header.info };
}
