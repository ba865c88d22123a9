/**
 * Models: the GCN for a dataset and settings, checkpoints loaded and saved, and the per-layer summary
 * `skelprune model summary` prints, as data.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelInput } from '@skelprune/runtime/internal';
import { FPHA_CLASS_NAMES, FPHA_JOINT_NAMES, SBU_CLASS_NAMES, SBU_JOINT_NAMES } from '../data/index.js';
import { outputFrames } from '../data/preprocess.js';
import { Rng } from '../engine/index.js';
import { SkelpruneError, userError, withUserErrors } from '../errors.js';
import { featureDim } from '../model/features.js';
import { type GcnShape, SkeletonGcn } from '../model/gcn.js';
import { blockCount } from '../model/layers.js';
import {
  type Checkpoint,
  type CheckpointMeta,
  checkpointMasks,
  loadCheckpoint,
  modelFromCheckpoint,
  saveCheckpoint,
} from '../train/checkpoint.js';
import { loadRunDataset } from '../train/experiment.js';
import { type RunConfig, readConfigFile, resolveRunConfig } from '../train/run-config.js';
import type { TrainSettings } from './train.js';

/** Graph size and classes of the standard datasets, so a model needs no data on disk. */
const STANDARD_SHAPES: Partial<Record<string, { nodes: number; classes: number }>> = {
  sbu: { nodes: 2 * SBU_JOINT_NAMES.length, classes: SBU_CLASS_NAMES.length },
  fpha: { nodes: FPHA_JOINT_NAMES.length, classes: FPHA_CLASS_NAMES.length },
};

async function shapeFor(config: RunConfig): Promise<GcnShape> {
  const frames = outputFrames({ temporal: config.preprocess.temporal } as Parameters<typeof outputFrames>[0]);
  const inputDim = featureDim(config.features, frames);
  const standard = STANDARD_SHAPES[config.dataset];
  if (standard && !config.path) return { ...standard, inputDim, edges: [] };
  const dataset = await loadRunDataset(config);
  return {
    nodes: dataset.graph.persons * dataset.graph.jointNames.length,
    classes: dataset.classNames.length,
    inputDim,
    edges: [],
  };
}

/** Options of `createModel`: the settings of a training run (only the dataset and model groups matter). */
export interface CreateModelOptions extends TrainSettings {
  /** A JSON or YAML file of settings (as `--config`); the settings given here override it. */
  config?: string;
}

/**
 * The GCN that `train` would train for these settings, freshly initialised from `seed` (what `skelprune
 * model summary --dataset` describes). SBU and FPHA need no data on disk; generic data is read from
 * `path` for its graph size and classes. The attention bias starts from self-loops only: `train`
 * initialises it from the dataset's bones.
 */
export async function createModel(options: CreateModelOptions): Promise<SkeletonGcn> {
  const { config: file, ...settings } = options;
  return modelForConfig(
    resolveRunConfig(file ? await readConfigFile(file) : {}, settings, file ?? 'options'),
  );
}

/** `createModel` with validated settings (the CLI validates its own, naming its flags in errors). */
export async function modelForConfig(config: RunConfig): Promise<SkeletonGcn> {
  return new SkeletonGcn(await withUserErrors(shapeFor(config)), config.model, new Rng(config.seed));
}

/** A model read from a checkpoint, with everything needed to use it or save it again. */
export interface CheckpointModel {
  /** The GCN with the saved weights (and, when pruned, its hard masks applied). */
  model: SkeletonGcn;
  /** The input pipeline the model was trained with: `input.encode(sequences)` gives its node features. */
  input: ModelInput;
  /** Architecture, fitted preprocessing, class names, provenance, test results and pruning. */
  meta: CheckpointMeta;
  /** The hard masks of a pruned model by prunable weight name (1 = kept); empty for a dense one. */
  masks: Record<string, Uint8Array>;
}

/**
 * Refuses a `--model` path that is no file, naming what to pass instead: a `train` or `prune` output
 * folder gets the checkpoint inside it.
 */
export function checkCheckpointPath(path: string): void {
  const kind = statSync(path, { throwIfNoEntry: false });
  if (kind === undefined)
    throw new SkelpruneError(
      `--model ${path}: no such file; pass a checkpoint written by train or prune, e.g. runs/<dataset>/fold-1/model.ckpt`,
    );
  if (kind.isDirectory()) {
    const inside = ['model.ckpt', join('fold-1', 'model.ckpt')]
      .map((name) => join(path, name))
      .find((candidate) => existsSync(candidate));
    throw new SkelpruneError(
      `--model ${path} is a folder; pass the checkpoint inside it${inside ? `, e.g. ${inside}` : ' (its model.ckpt)'}`,
    );
  }
}

/** `loadCheckpoint` of a `--model` path, its file-system errors as SkelpruneErrors. */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  try {
    checkCheckpointPath(path);
    return await loadCheckpoint(path);
  } catch (error) {
    throw userError(error, path);
  }
}

/** Reads a checkpoint written by `train` or `prune` (a safetensors file). */
export async function loadModel(path: string): Promise<CheckpointModel> {
  const checkpoint = await readCheckpoint(path);
  const { model, input } = modelFromCheckpoint(checkpoint, path);
  return { model, input, meta: checkpoint.meta, masks: checkpointMasks(checkpoint) };
}

/** Writes a checkpoint (atomically) that `loadModel`, `prune`, `evaluate` and `exportModel` read. */
export async function saveModel(path: string, checkpoint: CheckpointModel): Promise<void> {
  const { model, meta, masks } = checkpoint;
  const maskTensors = Object.fromEntries(
    model
      .prunableWeights()
      .filter((w) => masks[w.name])
      .map((w) => [`mask.${w.name}`, { shape: [w.rows, w.cols], data: masks[w.name] }]),
  );
  await withUserErrors(saveCheckpoint(path, meta, model, maskTensors));
}

/** One layer's size and cost per sequence. */
export interface LayerSummary {
  /** The layer or computation, e.g. `encoder`, `attention`. */
  name: string;
  /** The weight's shape, e.g. `80×32`, or the computation's. */
  shape: string;
  /** Its trainable parameters. */
  parameters: number;
  /** Multiply-adds per sequence; FLOPs are twice as many. */
  macs: number;
}

/** One prunable weight: rows are its inputs, columns its outputs, blocks its structure (e.g. heads). */
export interface PrunableWeightSummary {
  /** The layer whose weight it is, e.g. `conv`. */
  name: string;
  /** Rows (the layer's inputs). */
  rows: number;
  /** Columns (the layer's outputs). */
  cols: number;
  /** Blocks CTF prunes whole. */
  blocks: number;
  /** What a row, a column and a block stand for. */
  meaning: {
    /** e.g. `input channel`. */
    rows: string;
    /** e.g. `filter`. */
    cols: string;
    /** e.g. `head`. */
    blocks: string;
  };
}

/** What `skelprune model summary` prints, as data. */
export interface ModelSummary {
  /** Every layer and computation, in execution order. */
  layers: LayerSummary[];
  /** Trainable parameters of the whole model. */
  parameters: number;
  /** Multiply-adds per sequence of the whole network. */
  macs: number;
  /** Parameters in prunable weights (every weight matrix but the classifier). */
  prunableParameters: number;
  /** The prunable weights and their structure. */
  prunable: PrunableWeightSummary[];
}

/** Parameters, multiply-adds per layer and the pruning structure of every weight of a model. */
export function modelSummary(model: SkeletonGcn): ModelSummary {
  const layers = model
    .costs()
    .map(({ name, shape, params, macs }) => ({ name, shape, parameters: params, macs }));
  const prunable = model.prunableWeights().map((p) => ({
    name: p.name,
    rows: p.rows,
    cols: p.cols,
    blocks: blockCount(p.blocks, p.rows, p.cols),
    meaning: { ...p.meaning },
  }));
  return {
    layers,
    parameters: model.parameterCount(),
    macs: layers.reduce((s, l) => s + l.macs, 0),
    prunableParameters: prunable.reduce((s, p) => s + p.rows * p.cols, 0),
    prunable,
  };
}
