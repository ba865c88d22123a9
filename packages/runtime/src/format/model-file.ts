/**
 * The exported model file (`.skp`, format version 2; docs/model-format.md): a safetensors file whose
 * `skelprune_model` metadata entry (JSON) holds the compact architecture, each layer's storage
 * format, the input pipeline (fitted preprocessing, features, skeleton), the class names and
 * provenance, and whose tensors hold each layer's weights (in the smaller of two lossless encodings)
 * and biases. Everything inference needs, nothing of training; readable by any safetensors reader.
 * Pure (no file system): `decodeModelFile` reads the bytes, `encodeModelFile` writes them (the
 * toolkit's export, and tests that need a file). Every size in the description is checked against
 * limits and against the stored tensors before anything is allocated, and every weight must be finite.
 */
import { SkelpruneError } from '../errors.js';
import { featureDim, readFeatureConfig } from '../input/features.js';
import type { ModelInputSpec } from '../input/model-input.js';
import { LIMITS, outputFrames, parseFittedPreprocessing } from '../input/preprocess.js';
import {
  LAYER_NAMES,
  type LayerName,
  type RuntimeHead,
  type RuntimeModel,
  validateRuntimeModel,
} from '../model/engine.js';
import {
  countNonzeros,
  denseValues,
  STORAGE_FORMATS,
  type StorageFormat,
  type StoredMatrix,
  storeNonzeros,
  storeTransposed,
} from '../model/storage.js';
import * as check from './check.js';
import { decodeSafetensors, encodeSafetensors, type Integrity, type NamedArray } from './safetensors.js';

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
  /**
   * The format was forced at export: the engine runs it at every batch size. Written only when set,
   * so files of `auto` exports stay readable by earlier readers (and earlier files read as auto).
   */
  forced?: true;
}

/** The JSON description stored under the `skelprune_model` metadata key. */
export interface ModelFileHeader {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_VERSION;
  /** The model's metadata; the heads' biases and the layers' weights are tensors. */
  model: Omit<RuntimeModel, 'heads' | 'layers'> & {
    heads: Omit<RuntimeHead, 'bias'>[];
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

/**
 * The row-major positions in Wᵀ [rows, cols] of the `count` nonzeros a bitmap marks, ascending; null
 * when it does not mark exactly `count` positions within the matrix.
 */
function bitmapPositions(mask: Uint8Array, count: number, rows: number, cols: number): Int32Array | null {
  if (mask.length !== bitmapBytes(rows * cols)) return null;
  const positions = new Int32Array(count);
  let n = 0;
  // A pruned layer's bitmap is mostly zero bytes: visit only the set bits, lowest first.
  for (let b = 0; b < mask.length; b++) {
    for (let bits = mask[b]; bits !== 0; bits &= bits - 1) {
      const k = 8 * b + 31 - Math.clz32(bits & -bits);
      if (k >= rows * cols || n === count) return null;
      positions[n++] = k;
    }
  }
  return n === count ? positions : null;
}

function allFinite(values: Float32Array): boolean {
  for (let k = 0; k < values.length; k++) if (!Number.isFinite(values[k])) return false;
  return true;
}

function parseHeader(metadata: Record<string, string>, source: string): ModelFileHeader {
  const text = metadata[METADATA_KEY];
  if (text === undefined)
    throw new SkelpruneError(`${source}: not a skelprune model file (no '${METADATA_KEY}' metadata)`);
  // Nothing else belongs there: a damaged checksum key must not pass for a file without checksum.
  const other = Object.keys(metadata).find((key) => key !== METADATA_KEY);
  if (other !== undefined)
    throw new SkelpruneError(`${source}: unexpected metadata entry '${other}' (corrupted file?)`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SkelpruneError(`${source}: the model description is not valid JSON (corrupted file?)`);
  }
  const version = (json as { version?: unknown } | null)?.version;
  if (version !== MODEL_VERSION) {
    throw new SkelpruneError(
      `${source}: model format version ${check.describeValue(version)} is not supported (this skelprune reads version ${MODEL_VERSION})`,
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
  const features = readFeatureConfig(input.features, 'input.features');
  const width = featureDim(features, outputFrames(preprocessing));
  if (model.chunks * model.chunkWidth !== width) {
    check.invalid(
      'model.chunkWidth',
      `chunks × chunkWidth = ${width}, the features per node of the input pipeline`,
      `${model.chunks} × ${model.chunkWidth}`,
    );
  }
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    model,
    input: {
      preprocessing,
      features,
      jointNames: jointNames.map((n, i) => check.string(`input.jointNames.${i}`, n)),
      bones: check.pairs('input.bones', input.bones, joints - 1),
      centerJoint: check.integer('input.centerJoint', input.centerJoint, 0, joints - 1),
    },
    classNames,
    info: check.object('info', o.info),
  };
}

function forcedFlag(path: string, value: unknown): true {
  if (value !== true) check.invalid(path, 'true (or no entry)', value);
  return true;
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
      const l = check.object(path, layersIn[name], ['format', 'encoding', 'rows', 'cols', 'forced']);
      return [
        name,
        {
          format: check.oneOf(`${path}.format`, l.format, STORAGE_FORMATS),
          encoding: check.oneOf(`${path}.encoding`, l.encoding, ['dense', 'bitmap'] as const),
          rows: check.integer(`${path}.rows`, l.rows, 0, MAX_CHANNELS),
          cols: check.integer(`${path}.cols`, l.cols, 0, MAX_CHANNELS),
          ...(l.forced !== undefined && { forced: forcedFlag(`${path}.forced`, l.forced) }),
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

/** A model file as read: its contents, and whether they matched the file's checksum. */
export interface DecodedModelFile extends ModelFile {
  /** `verified`: the contents match the file's CRC-32; `unchecked`: the file records none (older writer). */
  integrity: Integrity;
}

/**
 * Most activations one sequence may need (floats), far above any real model (hundreds of thousands):
 * a description that claims more is corrupted, and is refused before the engine allocates for it.
 */
const MAX_SAMPLE_ACTIVATIONS = 1 << 24;

/** The activations the engine holds per sequence for a description (an upper estimate). */
function sampleActivations(model: ModelFileHeader['model']): number {
  const { nodes, chunks, layers, heads } = model;
  const mixed = heads.reduce((n, h) => n + h.channels.length, 0);
  const perNode =
    chunks * (model.chunkWidth + model.encoderInputs.length + layers.encoder.rows) +
    layers.projection.rows +
    mixed +
    (heads.length + 1) * layers.conv.rows;
  return nodes * perNode + model.fcInputs.length + layers.fc.rows + layers.classifier.rows;
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

export function decodeModelFile(bytes: Uint8Array, source = 'model'): DecodedModelFile {
  const { tensors, metadata, integrity } = decodeSafetensors(bytes, source);
  const header = parseHeader(metadata, source);
  const activations = sampleActivations(header.model);
  if (activations > MAX_SAMPLE_ACTIVATIONS) {
    throw new SkelpruneError(
      `${source}: invalid model description: it needs ${activations} activations per sequence, more than the runtime's limit of ${MAX_SAMPLE_ACTIVATIONS}`,
    );
  }
  const read = new Set<string>();
  /** A tensor of the format: its dtype, its shape (default: 1-D) and, for F32, finite values. */
  const tensor = <T extends NamedArray['data']>(
    name: string,
    kind: new (...args: never[]) => T,
    shape?: readonly number[],
  ): T => {
    read.add(name);
    const t = tensors[name];
    if (!t || !(t.data instanceof kind))
      throw new SkelpruneError(`${source}: tensor '${name}' is missing or has the wrong type`);
    const expected = shape ?? [t.data.length];
    if (!sameShape(t.shape, expected)) {
      throw new SkelpruneError(
        `${source}: tensor '${name}' has shape [${t.shape.join(', ')}], expected [${expected.join(', ')}]`,
      );
    }
    if (t.data instanceof Float32Array && !allFinite(t.data)) {
      throw new SkelpruneError(`${source}: tensor '${name}' holds non-finite values (corrupted file?)`);
    }
    return t.data as T;
  };
  const { nodes } = header.model;
  const headBias = tensor('heads.bias', Float32Array, [header.model.heads.length, nodes, nodes]);
  const layers = Object.fromEntries(
    LAYER_NAMES.map((name) => {
      const { format, encoding, rows, cols, forced } = header.model.layers[name];
      const values = tensor(`${name}.values`, Float32Array, encoding === 'dense' ? [rows, cols] : undefined);
      const positions =
        encoding === 'bitmap'
          ? bitmapPositions(tensor(`${name}.mask`, Uint8Array), values.length, rows, cols)
          : null;
      if (encoding === 'bitmap' && !positions)
        throw new SkelpruneError(
          `${source}: the weights of layer '${name}' do not match its ${rows}×${cols} shape`,
        );
      const weight = positions
        ? storeNonzeros(positions, values, rows, cols, format)
        : storeTransposed(values, rows, cols, format);
      return [name, { weight, bias: tensor(`${name}.bias`, Float32Array), ...(forced && { forced }) }];
    }),
  ) as Record<LayerName, RuntimeModel['layers'][LayerName]>;
  const stray = Object.keys(tensors).find((name) => !read.has(name));
  if (stray !== undefined)
    throw new SkelpruneError(`${source}: tensor '${stray}' is not part of the model file format`);
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
  return { model, input: header.input, classNames: header.classNames, info: header.info, integrity };
}

/** A layer's Wᵀ in the smaller of the two encodings (see `WeightEncoding`). */
function encodeWeight(
  name: string,
  m: StoredMatrix,
): { encoding: WeightEncoding; tensors: Record<string, NamedArray> } {
  const dense = denseValues(m);
  const nonzeros = countNonzeros(dense);
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

/** The `.skp` bytes of a model file (the inverse of `decodeModelFile`). */
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
          const { weight, forced } = model.layers[name];
          const { format, rows, cols } = weight;
          return [name, { format, encoding: encoded[name].encoding, rows, cols, ...(forced && { forced }) }];
        }),
      ) as ModelFileHeader['model']['layers'],
    },
    input: file.input,
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
