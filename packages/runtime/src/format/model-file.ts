/**
 * Reading the exported model file (`.skp`, format version 2; docs/model-format.md): a safetensors
 * file whose `skelprune_model` metadata entry (JSON) holds the compact architecture, each layer's storage format,
 * the input pipeline (fitted preprocessing, features, skeleton), the class names and provenance, and
 * whose tensors hold each layer's weights (in the smaller of two lossless encodings) and biases.
 * Everything inference needs, nothing of training; readable by any safetensors reader. Pure (no file system); the toolkit writes the files. Every
 * size in the description is checked against limits and against the stored tensors before anything
 * is allocated, and every weight must be finite.
 */
import { SkelpruneError } from '../errors.js';
import { readFeatureConfig } from '../input/features.js';
import type { ModelInputSpec } from '../input/model-input.js';
import { LIMITS, parseFittedPreprocessing } from '../input/preprocess.js';
import { LAYER_NAMES, type LayerName, type RuntimeModel, validateRuntimeModel } from '../model/engine.js';
import { type StorageFormat, storeTransposed } from '../model/storage.js';
import * as check from './check.js';
import { decodeSafetensors, type NamedArray } from './safetensors.js';

export const MODEL_FORMAT = 'skelprune-model';
export const MODEL_VERSION = 2;
export const METADATA_KEY = 'skelprune_model';

/** Largest channel count a model description may claim for any layer (far above any real network). */
const MAX_CHANNELS = 1 << 20;

/**
 * How a layer's Wᵀ is written, whatever its runtime format: all values (dense), or a bitmap of the
 * nonzero positions plus their values (bitmap), whichever is smaller. Both are lossless; the reader
 * rebuilds the runtime format, so bsr's zero padding and csr's indices never take disk space.
 */
export type WeightEncoding = 'dense' | 'bitmap';

export const bitmapBytes = (entries: number) => Math.ceil(entries / 8);

export interface LayerHeader {
  format: StorageFormat;
  encoding: WeightEncoding;
  rows: number;
  cols: number;
}

/** The JSON description stored under the `skelprune_model` metadata key. */
export interface ModelFileHeader {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_VERSION;
  model: {
    nodes: number;
    chunks: number;
    classes: number;
    chunkWidth: number;
    encoderInputs: number[];
    scoreScale: number;
    heads: { index: number; dims: number[]; channels: number[] }[];
    fcInputs: number[];
    layers: Record<LayerName, LayerHeader>;
  };
  input: ModelInputSpec;
  classNames: string[];
  /** Provenance and results: source checkpoint, dataset, pruning, accuracy (free-form). */
  info: Record<string, unknown>;
}

/** A decoded model file: what the engine runs and the input pipeline feeds. */
export interface ModelFile {
  model: RuntimeModel;
  input: ModelInputSpec;
  classNames: string[];
  info: Record<string, unknown>;
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
  try {
    return readHeader(json);
  } catch (error) {
    if (error instanceof SkelpruneError) {
      throw new SkelpruneError(`${source}: invalid model description: ${error.message}`);
    }
    throw error;
  }
}

function readHeader(json: unknown): ModelFileHeader {
  const o = check.object('', json, ['format', 'version', 'model', 'input', 'classNames', 'info']);
  if (o.format !== MODEL_FORMAT) check.invalid('format', `'${MODEL_FORMAT}'`, o.format);
  const model = readModelHeader(o.model);
  const input = check.object('input', o.input, [
    'preprocessing',
    'features',
    'jointNames',
    'bones',
    'centerJoint',
  ]);
  const preprocessing = parseFittedPreprocessing(input.preprocessing, 'input.preprocessing');
  const joints = preprocessing.joints;
  const jointNames = check.array('input.jointNames', input.jointNames, LIMITS.joints);
  if (jointNames.length !== joints)
    check.invalid('input.jointNames', `${joints} names, one per joint`, `${jointNames.length}`);
  if (preprocessing.persons * joints !== model.nodes) {
    check.invalid('model.nodes', `persons × joints = ${preprocessing.persons * joints}`, model.nodes);
  }
  const classNames = check
    .array('classNames', o.classNames, model.classes)
    .map((n, i) => check.string(`classNames.${i}`, n));
  if (classNames.length !== model.classes)
    check.invalid('classNames', `${model.classes} names, one per class`, `${classNames.length}`);
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    model,
    input: {
      preprocessing,
      features: readFeatureConfig(input.features, 'input.features'),
      jointNames: jointNames.map((n, i) => check.string(`input.jointNames.${i}`, n)),
      bones: check.pairs('input.bones', input.bones, joints - 1),
      centerJoint: check.integer('input.centerJoint', input.centerJoint, 0, joints - 1),
    },
    classNames,
    info: check.object('info', o.info),
  };
}

function readModelHeader(value: unknown): ModelFileHeader['model'] {
  const keys = [
    'nodes',
    'chunks',
    'classes',
    'chunkWidth',
    'encoderInputs',
    'scoreScale',
    'heads',
    'fcInputs',
    'layers',
  ];
  const m = check.object('model', value, keys);
  const nodes = check.integer('model.nodes', m.nodes, 1, LIMITS.joints * LIMITS.persons);
  const size = (key: string) => check.integer(`model.${key}`, m[key], 1, MAX_CHANNELS);
  const layersIn = check.object('model.layers', m.layers, LAYER_NAMES);
  const layers = Object.fromEntries(
    LAYER_NAMES.map((name) => {
      const path = `model.layers.${name}`;
      const l = check.object(path, layersIn[name], ['format', 'encoding', 'rows', 'cols']);
      return [
        name,
        {
          format: check.oneOf(`${path}.format`, l.format, ['dense', 'csr', 'bsr'] as const),
          encoding: check.oneOf(`${path}.encoding`, l.encoding, ['dense', 'bitmap'] as const),
          rows: check.integer(`${path}.rows`, l.rows, 0, MAX_CHANNELS),
          cols: check.integer(`${path}.cols`, l.cols, 0, MAX_CHANNELS),
        },
      ];
    }),
  ) as Record<LayerName, LayerHeader>;
  return {
    nodes,
    chunks: size('chunks'),
    classes: size('classes'),
    chunkWidth: size('chunkWidth'),
    encoderInputs: check.integers('model.encoderInputs', m.encoderInputs, MAX_CHANNELS, MAX_CHANNELS),
    scoreScale: check.positive('model.scoreScale', m.scoreScale),
    heads: check.array('model.heads', m.heads, 4096).map((h, i) => {
      const path = `model.heads.${i}`;
      const head = check.object(path, h, ['index', 'dims', 'channels']);
      return {
        index: check.integer(`${path}.index`, head.index, 0, 4096),
        dims: check.integers(`${path}.dims`, head.dims, MAX_CHANNELS, MAX_CHANNELS),
        channels: check.integers(`${path}.channels`, head.channels, MAX_CHANNELS, MAX_CHANNELS),
      };
    }),
    fcInputs: check.integers('model.fcInputs', m.fcInputs, MAX_CHANNELS * LIMITS.joints, MAX_CHANNELS),
    layers,
  };
}

export function decodeModelFile(bytes: Uint8Array, source = 'model'): ModelFile {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const header = parseHeader(metadata, source);
  const tensor = <T extends NamedArray['data']>(name: string, kind: new (...args: never[]) => T): T => {
    const t = tensors[name];
    if (!t || !(t.data instanceof kind))
      throw new SkelpruneError(`${source}: tensor '${name}' is missing or has the wrong type`);
    if (t.data instanceof Float32Array && !t.data.every(Number.isFinite)) {
      throw new SkelpruneError(`${source}: tensor '${name}' holds non-finite values (corrupted file?)`);
    }
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
