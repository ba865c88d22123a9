/**
 * Training and evaluation: `train` runs a protocol's folds (what `skelprune train` does), `evaluate`
 * scores a checkpoint on a dataset (what `skelprune eval` does).
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetKind } from '../data/load.js';
import type { SyntheticOptions } from '../data/synthetic.js';
import type { Dataset } from '../data/types.js';
import { SkelpruneError, throwIfCancelled, userError, withUserErrors } from '../errors.js';
import { modelFromCheckpoint } from '../train/checkpoint.js';
import { type FoldJob, type FoldResult, loadRunDataset, runProtocol } from '../train/experiment.js';
import { jobSpec } from '../train/jobs.js';
import { type ClassificationMetrics, classificationMetrics, meanMetrics } from '../train/metrics.js';
import {
  type RunConfig,
  type RunConfigInput,
  readConfigFile,
  resolveRunConfig,
} from '../train/run-config.js';
import { predictBatch } from '../train/trainer.js';
import { writeJsonAtomic } from '../util/fs.js';
import { readCheckpoint } from './model.js';
import { type FoldProgressEvent, type LongRunOptions, runFoldJobs } from './progress.js';

/**
 * The settings of a training run: the keys of a `skelprune train` config file (flat keys are the
 * flags: `epochs` ↔ `--epochs`; nested groups `model`, `preprocess`, `features`, `synthetic`). What is
 * left out takes the same default as in the CLI (the dataset's own defaults under the schema's).
 * `dataset` may come from the `config` file instead.
 *
 * @interface
 */
export type TrainSettings = Omit<RunConfigInput, 'dataset'> & {
  /** The dataset's format (required here or in the config file). */
  dataset?: DatasetKind;
};

/** The first event of `train`: what is about to be trained. */
export interface TrainStartEvent {
  /** The event's kind. */
  type: 'start';
  /** The dataset's short name. */
  dataset: string;
  /** The dataset's title. */
  title: string;
  /** The evaluation protocol. */
  protocol: string;
  /** Folds of the protocol. */
  folds: number;
  /** The 0-based folds this call trains, one run each, in this order. */
  foldIndices: number[];
  /** Runs in parallel worker processes. */
  jobs: number;
  /** The output folder. */
  out: string;
}

/** The events of `train`: its start, then each fold's (`run` is the position in `foldIndices`). */
export type TrainProgressEvent = TrainStartEvent | FoldProgressEvent;

/** Options of `train`: the settings, plus an optional settings file and the long-run controls. */
export interface TrainOptions extends TrainSettings, LongRunOptions<TrainProgressEvent> {
  /** A JSON or YAML file of settings (as `--config`); the settings given here override it. */
  config?: string;
}

/** What `train` returns; `summary.json` in the output folder holds the same, less `out`, `config`, `seconds`. */
export interface TrainResult {
  /** The output folder: `config.json`, `summary.json` and `fold-<k>/model.ckpt` per fold. */
  out: string;
  /** The complete settings, defaults filled in (as saved in `config.json`). */
  config: RunConfig;
  /** The dataset's short name. */
  dataset: string;
  /** The evaluation protocol. */
  protocol: string;
  /** Every trained fold, in order. */
  folds: FoldResult[];
  /** Test accuracies averaged over the folds. */
  mean: {
    /** Top-1 accuracy. */
    top1: number;
    /** Mean per-class accuracy. */
    meanClass: number;
  };
  /** Wall time of the call. */
  seconds: number;
}

/** The settings of `options` (file under the given ones) validated, with every default filled in. */
async function trainConfig(options: TrainOptions): Promise<RunConfig> {
  const { config: file, resume: _r, signal: _s, onProgress: _p, command: _c, ...settings } = options;
  return resolveRunConfig(file ? await readConfigFile(file) : {}, settings, file ?? 'options');
}

/**
 * Trains the GCN on every fold of a protocol (or the one `fold`), evaluates each on its test part and
 * saves `fold-<k>/model.ckpt` under `out` (default `runs/<dataset>`), exactly as `skelprune train`.
 * An output folder that holds a run is refused unless `resume` is set and the settings are the same.
 *
 * @example
 * ```ts
 * const run = await train({ dataset: 'synthetic', fold: 1, out: 'runs/dense' });
 * console.log(run.mean.top1, run.folds[0].checkpoint);
 * ```
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  return runTraining(await trainConfig(options), options);
}

/** `train` with validated settings (the CLI validates its own, naming its flags in errors). */
export async function runTraining(
  config: RunConfig,
  options: LongRunOptions<TrainProgressEvent>,
): Promise<TrainResult> {
  return withUserErrors(trainProtocol(config, options));
}

async function trainProtocol(
  config: RunConfig,
  { resume = false, signal, onProgress = () => {}, command = 'train' }: LongRunOptions<TrainProgressEvent>,
): Promise<TrainResult> {
  throwIfCancelled(signal);
  const out = config.out ?? join('runs', config.dataset);
  await guardOutput(out, config, resume);
  const dataset = await loadRunDataset(config);
  const protocol = runProtocol(config, dataset);
  const folds = dataset.protocols[protocol];
  if (!folds)
    throw new SkelpruneError(
      `${dataset.name} has no protocol '${protocol}' (protocols: ${Object.keys(dataset.protocols).join(', ')})`,
    );
  if (config.fold !== 'all' && config.fold > folds.length) {
    throw new SkelpruneError(`--fold ${config.fold}: protocol '${protocol}' has ${folds.length} fold(s)`);
  }
  const foldIndices = config.fold === 'all' ? folds.map((_, i) => i) : [config.fold - 1];
  await writeJsonAtomic(join(out, 'config.json'), config);
  const { name, title } = dataset;
  onProgress({
    type: 'start',
    dataset: name,
    title,
    protocol,
    folds: folds.length,
    foldIndices,
    jobs: config.jobs,
    out,
  });

  const jobs: FoldJob[] = foldIndices.map((foldIndex) => ({
    config,
    foldIndex,
    dir: join(out, `fold-${foldIndex + 1}`),
    command,
  }));
  const started = performance.now();
  const results = await runFoldJobs<FoldResult>(
    jobs.map((args) => jobSpec('../train/experiment.js', import.meta.url, 'trainFold', args)),
    config.jobs,
    { signal, onProgress },
  );
  const seconds = (performance.now() - started) / 1000;
  const { top1, meanClass } = meanMetrics(results.map((r) => r.metrics));
  const summary = { dataset: dataset.name, protocol, folds: results, mean: { top1, meanClass } };
  await writeJsonAtomic(join(out, 'summary.json'), summary);
  return { out, config, ...summary, seconds };
}

/** Refuses to mix runs: an output folder is reused only with resume and the same settings. */
async function guardOutput(out: string, config: RunConfig, resume: boolean): Promise<void> {
  if (!checkRunFolder(out, resume)) return;
  const previous = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  const current = config as unknown as Record<string, unknown>;
  const differing = Object.keys({ ...previous, ...current }).filter(
    (key) => key !== 'jobs' && JSON.stringify(previous[key]) !== JSON.stringify(current[key]),
  );
  if (differing.length > 0) {
    throw new SkelpruneError(
      `--resume: settings differ from the run in ${out} (${differing.join(', ')}); resume with the same settings`,
    );
  }
}

/** Which sequences `evaluate` classifies: the fold's test or training part, or the whole dataset. */
export const EVALUATION_SPLITS = ['test', 'train', 'all'] as const;

/** Options of `evaluate`, those of `skelprune eval`. */
export interface EvaluateOptions {
  /** A checkpoint written by `train` or `prune`. */
  model: string;
  /** The dataset's format. */
  dataset: DatasetKind;
  /** The dataset's folder (not needed for synthetic data). */
  path?: string;
  /** Synthetic data only: the generator's options (default: its defaults, as in the CLI). */
  synthetic?: SyntheticOptions;
  /** Default: the protocol the model was trained with. */
  protocol?: string;
  /** 1-based fold; default: the one the model was trained on. */
  fold?: number;
  /** Default `test`. */
  split?: (typeof EVALUATION_SPLITS)[number];
}

/** What `evaluate` returns. Accuracies are fractions in [0, 1]. */
export interface EvaluationResult {
  /** The checkpoint evaluated. */
  model: string;
  /** The dataset's short name. */
  dataset: string;
  /** The dataset's title. */
  title: string;
  /** The evaluation protocol. */
  protocol: string;
  /** 0-based fold. */
  foldIndex: number;
  /** The fold's name. */
  fold: string;
  /** The sequences classified. */
  split: (typeof EVALUATION_SPLITS)[number];
  /** Sequences classified. */
  sequences: number;
  /** Top-1 and mean-class accuracy, and the confusion matrix `confusion[true][predicted]`. */
  metrics: ClassificationMetrics;
  /** Inference throughput (batched). */
  sequencesPerSecond: number;
  /** Class names, indexed by label. */
  classNames: string[];
}

/**
 * Evaluates a checkpoint on a dataset: by default the test part of the fold it was trained on, as
 * `skelprune eval`.
 */
export async function evaluate(options: EvaluateOptions): Promise<EvaluationResult> {
  return withUserErrors(evaluateCheckpoint(options));
}

async function evaluateCheckpoint(options: EvaluateOptions): Promise<EvaluationResult> {
  const { split = 'test' } = options;
  if (options.fold !== undefined && !(Number.isSafeInteger(options.fold) && options.fold >= 1))
    throw new SkelpruneError(`--fold: expected a fold number (1, 2, ...), found ${options.fold}`);
  const checkpoint = await readCheckpoint(options.model);
  const { model, input } = modelFromCheckpoint(checkpoint, options.model);
  const { classNames } = checkpoint.meta;
  const dataset = await loadRunDataset(options);
  checkCompatible(dataset, classNames, input.nodes, options.model);
  const provenance = checkpoint.meta.provenance as { protocol?: string; foldIndex?: number };
  const protocol = options.protocol ?? provenance.protocol ?? Object.keys(dataset.protocols)[0];
  const folds = dataset.protocols[protocol];
  if (!folds)
    throw new SkelpruneError(
      `--protocol ${protocol}: ${dataset.name} has no such protocol (protocols: ${Object.keys(dataset.protocols).join(', ') || 'none'})`,
    );
  const foldIndex = options.fold !== undefined ? options.fold - 1 : (provenance.foldIndex ?? 0);
  if (foldIndex >= folds.length) {
    const names = folds.map((f, i) => `${i + 1} '${f.name}'`).join(', ');
    throw new SkelpruneError(
      `--fold ${foldIndex + 1}: protocol '${protocol}' of ${dataset.name} has ${folds.length} fold(s): ${names}`,
    );
  }
  const fold = folds[foldIndex];
  const ids = new Set(
    split === 'test' ? fold.test : split === 'train' ? fold.train : dataset.sequences.map((s) => s.id),
  );
  const sequences = dataset.sequences.filter((s) => ids.has(s.id));
  const batch = input.encode(sequences);
  const started = performance.now();
  const { predicted } = predictBatch(model, batch, input);
  const seconds = (performance.now() - started) / 1000;
  return {
    model: options.model,
    dataset: dataset.name,
    title: dataset.title,
    protocol,
    foldIndex,
    fold: fold.name,
    split,
    sequences: sequences.length,
    metrics: classificationMetrics(predicted, batch.labels, classNames.length),
    sequencesPerSecond: sequences.length / Math.max(seconds, 1e-9),
    classNames: [...classNames],
  };
}

function checkCompatible(
  dataset: Dataset,
  classNames: readonly string[],
  nodes: number,
  source: string,
): void {
  const datasetNodes = dataset.graph.persons * dataset.graph.jointNames.length;
  if (datasetNodes !== nodes || dataset.classNames.length !== classNames.length) {
    throw new SkelpruneError(
      `${source} expects ${nodes} joints and ${classNames.length} classes; ${dataset.name} has ${datasetNodes} joints and ${dataset.classNames.length} classes`,
    );
  }
}

/**
 * Refuses an output folder of `train` or `prune` that names a file, or that already holds a run
 * (its `config.json`) unless `resume` is set. Returns whether it holds the run being resumed.
 */
export function checkRunFolder(out: string, resume: boolean): boolean {
  checkOutputFolder(out);
  if (!existsSync(join(out, 'config.json'))) return false;
  if (!resume)
    throw new SkelpruneError(
      `${out} already holds a run; pass --resume to continue it or choose another --out`,
    );
  return true;
}

/** Refuses an output folder path that names a file (`--out notes.txt`) before any work is done. */
export function checkOutputFolder(out: string): void {
  let isFolder: boolean | undefined;
  try {
    isFolder = statSync(out, { throwIfNoEntry: false })?.isDirectory();
  } catch (error) {
    throw userError(error, out);
  }
  if (isFolder === false)
    throw new SkelpruneError(`--out ${out} is a file, not a folder; choose another --out`);
}
