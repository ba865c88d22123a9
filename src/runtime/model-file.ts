/**
 * The exported model file (`.skp`, format version 1; docs/model-format.md): a safetensors file whose
 * `skelprune_model` metadata entry (JSON) holds the compact architecture, each layer's storage format,
 * the input pipeline (fitted preprocessing, features, skeleton), the class names and provenance, and
 * whose tensors hold each layer's stored weights and biases. Everything inference needs, nothing of
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
import type { StoredMatrix } from './storage.js';

export const MODEL_FORMAT = 'skelprune-model';
export const MODEL_VERSION = 1;
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
      z.object({ format: z.enum(['dense', 'csr', 'bsr']), rows: index, cols: index }),
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

function storedTensors(name: string, m: StoredMatrix): Record<string, NamedArray> {
  if (m.format === 'dense') return { [`${name}.values`]: { shape: [m.rows, m.cols], data: m.values } };
  return {
    [`${name}.rowPtr`]: { shape: [m.rowPtr.length], data: m.rowPtr },
    [`${name}.index`]: { shape: [m.index.length], data: m.index },
    [`${name}.values`]: { shape: [m.values.length], data: m.values },
  };
}

export function encodeModelFile(file: ModelFile): Uint8Array {
  const { model } = file;
  const { nodes } = model;
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
          return [name, { format, rows, cols }];
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
    Object.assign(tensors, storedTensors(name, layer.weight));
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
      const { format, rows, cols } = header.model.layers[name];
      const values = tensor(`${name}.values`, Float32Array);
      const weight: StoredMatrix =
        format === 'dense'
          ? { format, rows, cols, values }
          : {
              format,
              rows,
              cols,
              rowPtr: tensor(`${name}.rowPtr`, Int32Array),
              index:
                tensors[`${name}.index`]?.data instanceof Uint16Array
                  ? tensor(`${name}.index`, Uint16Array)
                  : tensor(`${name}.index`, Int32Array),
              values,
            };
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
