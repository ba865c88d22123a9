/**
 * Checkpoints: one safetensors file holding the model's parameters (`model.<name>`), any extra
 * tensors (optimizer state for resuming, pruning masks) and, in the `skelprune` metadata entry, JSON
 * describing everything needed to rebuild and use the model: architecture and its config, the input
 * pipeline (fitted preprocessing, features, skeleton), class names, provenance and metrics.
 * Written atomically; readable by any safetensors reader.
 */

import { ModelInput } from '@skelprune/runtime/internal';
import { z } from 'zod';
import { fittedPreprocessingSchema } from '../data/preprocess.js';
import { loadSafetensors, type NamedArray, Rng, saveSafetensors } from '../engine/index.js';
import { SkelpruneError } from '../errors.js';
import { featureConfigSchema } from '../model/features.js';
import { gcnConfigSchema, SkeletonGcn } from '../model/gcn.js';
import { setHardMask } from '../model/layers.js';

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
  const { tensors, metadata } = await loadSafetensors(path);
  if (metadata.skelprune === undefined) {
    throw new SkelpruneError(
      `${path}: a safetensors file, but not a skelprune checkpoint (no 'skelprune' metadata)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(metadata.skelprune);
  } catch {
    throw new SkelpruneError(`${path}: the checkpoint metadata is not valid JSON`);
  }
  const version = (json as { version?: unknown }).version;
  if (version !== CHECKPOINT_VERSION) {
    throw new SkelpruneError(
      `${path}: checkpoint version ${String(version)} is not supported (this skelprune reads version ${CHECKPOINT_VERSION})`,
    );
  }
  const architecture = (json as { architecture?: unknown }).architecture;
  if (architecture !== 'skeleton-gcn') {
    throw new SkelpruneError(
      `${path}: a '${String(architecture)}' model; skelprune works with 'skeleton-gcn' checkpoints`,
    );
  }
  const parsed = checkpointMetaSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SkelpruneError(
      `${path}: invalid checkpoint metadata at '${issue.path.join('.')}': ${issue.message}`,
    );
  }
  return { meta: parsed.data, tensors };
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
  return { model, input: new ModelInput(meta.input) };
}
