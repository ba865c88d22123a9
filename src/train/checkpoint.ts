/**
 * Checkpoints: one safetensors file holding the model's parameters (`model.<name>`), any extra
 * tensors (optimizer state for resuming, pruning masks) and, in the `skelprune` metadata entry, JSON
 * describing everything needed to rebuild and use the model: architecture and its config, the input
 * pipeline (fitted preprocessing, features, skeleton), class names, provenance and metrics.
 * Written atomically; readable by any safetensors reader.
 */

import { describeValue, ModelInput } from '@skelprune/runtime/internal';
import { z } from 'zod';
import { fittedPreprocessingSchema } from '../data/preprocess.js';
import { safeParseFirst } from '../data/schema-errors.js';
import { loadSafetensors, type NamedArray, Rng, saveSafetensors } from '../engine/index.js';
import { SkelpruneError } from '../errors.js';
import { featureConfigSchema } from '../model/features.js';
import { gcnConfigSchema, SkeletonGcn } from '../model/gcn.js';
import { setHardMask } from '../model/layers.js';
import { noteUnchecked } from '../util/notes.js';

export const CHECKPOINT_FORMAT = 'skelprune-checkpoint';
export const CHECKPOINT_VERSION = 1;

const edge = z.tuple([z.int().nonnegative(), z.int().nonnegative()]);

export const checkpointMetaSchema = z.object({
  /** Always `'skelprune-checkpoint'`. */
  format: z.literal(CHECKPOINT_FORMAT),
  /** Version of the checkpoint format (1); other versions are refused. */
  version: z.literal(CHECKPOINT_VERSION),
  /** The model family; `'skeleton-gcn'` (`SkeletonGcn`) is the only one. */
  architecture: z.literal('skeleton-gcn'),
  /** The GCN's architecture settings. */
  model: gcnConfigSchema,
  /** What the data fixed when the model was built (as `GcnShape`). */
  shape: z.object({
    /** Graph nodes: persons × joints. */
    nodes: z.int().positive(),
    /** Width of each node's input signal: frames × channels per frame. */
    inputDim: z.int().positive(),
    /** Output classes. */
    classes: z.int().positive(),
    /** Undirected edges between node indices (every person's bones). */
    edges: z.array(edge),
  }),
  /** The input pipeline, enough to turn a raw skeleton sequence into the model's input. */
  input: z.object({
    /** The preprocessing fitted on the training part (centring, scale, temporal resampling). */
    preprocessing: fittedPreprocessingSchema,
    /** The channels of each node's signal. */
    features: featureConfigSchema,
    /** Names of one person's joints, in the order of the data. */
    jointNames: z.array(z.string()),
    /** One person's bones as pairs of joint indices. */
    bones: z.array(edge),
    /** The root of the skeleton tree (the `bone` channel's vectors run from parent to child). */
    centerJoint: z.int().nonnegative(),
  }),
  /** Class names, by label index. */
  classNames: z.array(z.string()),
  /** Where the model comes from: dataset, protocol, fold, seed, command. */
  provenance: z.record(z.string(), z.unknown()),
  /** Test metrics and anything else worth keeping with the weights. */
  results: z.record(z.string(), z.unknown()).default({}),
  /** Pruning state (method, rate, masks live in tensors `mask.<layer>`), set by `skelprune prune`. */
  pruning: z.record(z.string(), z.unknown()).nullable().default(null),
  /** Present in resume checkpoints only. */
  trainer: z.unknown().optional(),
});

/**
 * A checkpoint's metadata: architecture, input pipeline, class names, provenance, results, pruning.
 *
 * @interface
 */
export type CheckpointMeta = z.output<typeof checkpointMetaSchema>;

export interface Checkpoint {
  meta: CheckpointMeta;
  tensors: Record<string, NamedArray>;
}

export async function saveCheckpoint(
  path: string,
  meta: CheckpointMeta,
  model: SkeletonGcn,
  extra: Record<string, NamedArray> = {},
): Promise<void> {
  const tensors: Record<string, NamedArray> = {};
  for (const [name, p] of model.namedParameters())
    tensors[`model.${name}`] = { shape: p.shape, data: p.toArray() };
  await saveSafetensors(path, { ...tensors, ...extra }, { skelprune: JSON.stringify(meta) });
}

export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  const { tensors, metadata, integrity } = await loadSafetensors(path);
  if (metadata.skelprune === undefined) {
    throw new SkelpruneError(
      `${path}: a safetensors file, but not a skelprune checkpoint (no 'skelprune' metadata)`,
    );
  }
  // Nothing else belongs there: a damaged checksum key must not pass for a file without checksum.
  const other = Object.keys(metadata).find((key) => key !== 'skelprune');
  if (other !== undefined)
    throw new SkelpruneError(`${path}: unexpected metadata entry '${other}' (corrupted file?)`);
  let json: unknown;
  try {
    json = JSON.parse(metadata.skelprune);
  } catch {
    throw new SkelpruneError(`${path}: the checkpoint metadata is not valid JSON`);
  }
  // Unchecked metadata may hold anything here (null, an array nested 50,000 deep): describe it boundedly.
  const version = (json as { version?: unknown } | null)?.version;
  if (version !== CHECKPOINT_VERSION) {
    throw new SkelpruneError(
      `${path}: checkpoint version ${describeValue(version)} is not supported (this skelprune reads version ${CHECKPOINT_VERSION})`,
    );
  }
  const architecture = (json as { architecture?: unknown }).architecture;
  if (architecture !== 'skeleton-gcn') {
    const model =
      typeof architecture === 'string'
        ? `a ${describeValue(architecture)} model`
        : `a model of architecture ${describeValue(architecture)}`;
    throw new SkelpruneError(`${path}: ${model}; skelprune works with 'skeleton-gcn' checkpoints`);
  }
  const parsed = safeParseFirst(checkpointMetaSchema, json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SkelpruneError(
      `${path}: invalid checkpoint metadata at '${issue.path.join('.')}': ${issue.message}`,
    );
  }
  checkMetadata(path, parsed.data);
  checkWeights(path, parsed.data, tensors);
  if (integrity === 'unchecked') noteUnchecked(path);
  return { meta: parsed.data, tensors };
}

/** The metadata's sizes against each other and against its input pipeline. */
function checkMetadata(path: string, meta: CheckpointMeta): void {
  const fail = (field: string, expected: string, found: unknown): never => {
    throw new SkelpruneError(
      `${path}: invalid checkpoint metadata at '${field}': expected ${expected}, found ${found}`,
    );
  };
  let input: ModelInput;
  try {
    input = new ModelInput(meta.input);
  } catch (error) {
    if (!(error instanceof SkelpruneError)) throw error;
    throw new SkelpruneError(`${path}: invalid checkpoint metadata at 'input': ${error.message}`);
  }
  const { shape, model, classNames } = meta;
  if (shape.nodes !== input.nodes) fail('shape.nodes', `persons × joints = ${input.nodes}`, shape.nodes);
  if (shape.inputDim !== input.dim)
    fail('shape.inputDim', `${input.dim}, the features per node of the input pipeline`, shape.inputDim);
  if (shape.classes !== classNames.length)
    fail('shape.classes', `${classNames.length}, one class per class name`, shape.classes);
  const edge = shape.edges.findIndex(([a, b]) => a >= shape.nodes || b >= shape.nodes);
  if (edge >= 0) fail(`shape.edges.${edge}`, `node indices below ${shape.nodes}`, `[${shape.edges[edge]}]`);
  if (shape.inputDim % model.encoderChunks !== 0)
    fail('model.encoderChunks', `a divisor of shape.inputDim (${shape.inputDim})`, model.encoderChunks);
}

/** One dimension of a parameter: its size and the metadata fields that set it. */
type Dimension = [size: number, fields: string];

/**
 * The shape of every parameter of the `SkeletonGcn` that `meta` describes (its `namedParameters()`),
 * computed without building it; each dimension names the metadata fields it comes from.
 */
export function parameterShapes(meta: Pick<CheckpointMeta, 'shape' | 'model'>): Record<string, Dimension[]> {
  const { nodes, inputDim, classes } = meta.shape;
  const {
    encodingChannels: c,
    encoderChunks: m,
    heads: h,
    headDim: d,
    convChannels: f,
    fcUnits,
  } = meta.model;
  const channels: Dimension = [c, 'model.encodingChannels'];
  const encoded: Dimension = [m * c, 'model.encoderChunks × model.encodingChannels'];
  const attention: Dimension = [h * d, 'model.heads × model.headDim'];
  const filters: Dimension = [f, 'model.convChannels'];
  const units: Dimension = [fcUnits, 'model.fcUnits'];
  const classCount: Dimension = [classes, 'shape.classes'];
  const node: Dimension = [nodes, 'shape.nodes'];
  // Those set by one field first, so that a wrong size is named by its own field.
  return {
    attentionBias: [[h, 'model.heads'], node, node],
    'encoder.bias': [channels],
    'conv.bias': [filters],
    'fc.bias': [units],
    'classifier.bias': [classCount],
    'encoder.weight': [[inputDim / m, 'shape.inputDim / model.encoderChunks'], channels],
    'query.weight': [encoded, attention],
    'key.weight': [encoded, attention],
    'conv.weight': [[h * m * c, 'model.heads × model.encoderChunks × model.encodingChannels'], filters],
    'fc.weight': [[nodes * f, 'shape.nodes × model.convChannels'], units],
    'classifier.weight': [units, classCount],
  };
}

/**
 * The stored weights against the architecture in the metadata: exactly the model's parameters, each
 * float32 of the shape the metadata sets, every value finite. Sizes come from the metadata only
 * where they equal the file's own, so building the model then allocates no more than the file holds.
 */
function checkWeights(path: string, meta: CheckpointMeta, tensors: Record<string, NamedArray>): void {
  const shapes = parameterShapes(meta);
  for (const [name, dims] of Object.entries(shapes)) {
    const key = `model.${name}`;
    const t = tensors[key];
    if (!t || !(t.data instanceof Float32Array))
      throw new SkelpruneError(`${path}: tensor '${key}' is missing or not float32`);
    const expected = dims.map(([size]) => size);
    const differs = dims.findIndex(([size], i) => t.shape[i] !== size);
    if (t.shape.length !== dims.length || differs >= 0) {
      const fields = differs >= 0 ? dims[differs][1] : 'the architecture';
      throw new SkelpruneError(
        `${path}: metadata '${fields}' does not match the stored weights: '${key}' is [${t.shape.join(', ')}], expected [${expected.join(', ')}]`,
      );
    }
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new SkelpruneError(
        `${path}: tensor '${key}' holds a non-finite weight (${t.data[bad]} at ${bad})`,
      );
  }
  const stray = Object.keys(tensors).find(
    (key) => key.startsWith('model.') && !(key.slice('model.'.length) in shapes),
  );
  if (stray !== undefined)
    throw new SkelpruneError(`${path}: tensor '${stray}' is not a parameter of the model in its metadata`);
}

/** The hard masks of a pruned checkpoint by prunable weight name (empty for a dense one). */
export function checkpointMasks(checkpoint: Checkpoint): Record<string, Uint8Array> {
  return Object.fromEntries(
    Object.entries(checkpoint.tensors)
      .filter(([name]) => name.startsWith('mask.'))
      .map(([name, t]) => [name.slice('mask.'.length), Uint8Array.from(t.data)]),
  );
}

/** Rebuilds the model and its input pipeline from a checkpoint, with the saved weights. */
export function modelFromCheckpoint(
  checkpoint: Checkpoint,
  source = 'checkpoint',
): { model: SkeletonGcn; input: ModelInput } {
  const { meta, tensors } = checkpoint;
  const model = new SkeletonGcn(meta.shape, meta.model, new Rng(0));
  const state: Record<string, NamedArray & { data: Float32Array }> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith('model.'))
      state[name.slice('model.'.length)] = t as NamedArray & { data: Float32Array };
  }
  try {
    model.loadStateDict(state);
  } catch (error) {
    throw new SkelpruneError(
      `${source}: weights do not fit the architecture in its metadata: ${(error as Error).message}`,
    );
  }
  if (meta.pruning) {
    for (const w of model.prunableWeights()) {
      const mask = tensors[`mask.${w.name}`];
      if (!mask || mask.data.length !== w.rows * w.cols) {
        throw new SkelpruneError(`${source}: a pruned checkpoint without a valid mask.${w.name} tensor`);
      }
      setHardMask(w.layer, Uint8Array.from(mask.data));
    }
  }
  model.source = source;
  return { model, input: new ModelInput(meta.input) };
}
