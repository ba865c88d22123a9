/**
 * One training run on one fold of a protocol, from data to a saved, evaluated checkpoint:
 * load → split (fold, then a stratified validation part) → fit preprocessing on the training part →
 * train with per-epoch resumable state → restore the best epoch → evaluate on the test part → save.
 *
 * Files in the fold's directory: `model.ckpt` (the result), `result.json` (metrics), `log.jsonl`
 * (one line per epoch), `confusion.txt`, and `resume.ckpt` while training is under way.
 */

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelInput } from '@skelprune/runtime/internal';
import {
  type Dataset,
  type Fold,
  fitPreprocessing,
  getFold,
  loadDataset,
  validationSplit,
} from '../data/index.js';
import type { SyntheticOptions } from '../data/synthetic.js';
import type { SkeletonSequence } from '../data/types.js';
import { Rng } from '../engine/index.js';
import { SkelpruneError } from '../errors.js';
import { SkeletonGcn } from '../model/gcn.js';
import { modelInputFromGraph } from '../model/input.js';
import { writeFileAtomic } from '../util/fs.js';
import { note } from '../util/notes.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type CheckpointMeta, saveCheckpoint } from './checkpoint.js';
import { type ClassificationMetrics, formatConfusion } from './metrics.js';
import { type RunConfig, runConfigSchema } from './run-config.js';
import { RunSession, type SessionEvent } from './session.js';
import { Trainer } from './trainer.js';

export interface FoldJob {
  config: RunConfig;
  /** 0-based index into the protocol's folds. */
  foldIndex: number;
  dir: string;
  /** The command line, recorded as provenance. */
  command: string;
}

/** One trained fold: test metrics, best epoch, timings and the saved checkpoint. */
export interface FoldResult {
  /** The fold's name in its protocol. */
  fold: string;
  /** The fold's 0-based index in its protocol. */
  foldIndex: number;
  /** Test metrics of the kept weights. */
  metrics: ClassificationMetrics;
  /** The epoch whose weights were kept (1-based): best validation accuracy, or the last without validation. */
  bestEpoch: number;
  /** Epochs trained (fewer than `epochs` when `patience` stopped early). */
  epochsRun: number;
  /** Training time, in seconds (resumed runs included). */
  trainSeconds: number;
  /** Training sequences processed per second (forward + backward + update). */
  trainThroughput: number;
  /** Test sequences classified per second (batched inference). */
  inferenceThroughput: number;
  /** Path of the trained checkpoint (`model.ckpt`). */
  checkpoint: string;
  /** Class names, by label index. */
  classNames: string[];
}

/** What a training or pruning run reports: its start, then every step and epoch of its phases. */
export type FoldEvent = { type: 'start'; fold: string; epochs: number; resumedAt: number } | SessionEvent;

export async function loadRunDataset(config: {
  dataset: RunConfig['dataset'];
  path?: string;
  synthetic?: SyntheticOptions;
}): Promise<Dataset> {
  checkDatasetSource(config);
  const dataset =
    config.dataset === 'synthetic'
      ? await loadDataset({ kind: 'synthetic', synthetic: config.synthetic })
      : await loadDataset({ kind: config.dataset, path: config.path ?? '' });
  noteDatasetIssues(dataset, config);
  return dataset;
}

/**
 * Training on data with issues is allowed (most are skipped files), but never silent: a note counts
 * them and points at `data inspect`; a leak is spelled out, since it inflates every test score.
 */
function noteDatasetIssues(dataset: Dataset, source: { dataset: RunConfig['dataset']; path?: string }): void {
  if (dataset.issues.length === 0) return;
  const where = source.path === undefined ? '' : ` --path ${source.path}`;
  note(
    `${dataset.name}: ${dataset.issues.length} data issue(s); see them with skelprune data inspect --dataset ${source.dataset}${where}`,
  );
  for (const issue of dataset.issues)
    if (issue.message.startsWith('LEAK')) note(`${issue.file}: ${issue.message}`);
}

/**
 * Refuses a folder given for synthetic data: it is generated, so the folder would be silently ignored
 * and the run would train on other data than the user meant.
 */
export function checkDatasetSource(config: { dataset: RunConfig['dataset']; path?: string }): void {
  if (config.dataset === 'synthetic' && config.path !== undefined)
    throw new SkelpruneError(
      `--path ${config.path}: synthetic data is generated, not read from a folder; drop --path, or choose --dataset sbu, fpha or generic to read it`,
    );
}

/** The protocol of a run: the configured one or the dataset's only/standard one. */
export function runProtocol(config: RunConfig, dataset: Dataset): string {
  if (config.protocol) return config.protocol;
  const names = Object.keys(dataset.protocols);
  if (names.length === 0) throw new SkelpruneError(`${dataset.name} defines no evaluation protocol`);
  return names[0];
}

function pick(dataset: Dataset, ids: readonly string[]): SkeletonSequence[] {
  const byId = new Map(dataset.sequences.map((s) => [s.id, s]));
  return ids.map((id) => {
    const sequence = byId.get(id);
    if (!sequence)
      throw new SkelpruneError(`${dataset.name}: the protocol names a sequence '${id}' that was not loaded`);
    return sequence;
  });
}

/** One fold of a protocol and its sequences: training split into train and validation, and test. */
export interface FoldData {
  protocol: string;
  foldIndex: number;
  fold: Fold;
  train: SkeletonSequence[];
  validation: SkeletonSequence[];
  test: SkeletonSequence[];
}

/** A fold's sequences, its validation part a seeded share of its training part (by class or subject). */
export function foldData(
  dataset: Dataset,
  protocol: string,
  foldIndex: number,
  config: Pick<RunConfig, 'validationFraction' | 'validationBy' | 'seed'>,
): FoldData {
  const fold = getFold(dataset, protocol, foldIndex);
  const split = validationSplit(dataset, fold.train, {
    fraction: config.validationFraction,
    by: config.validationBy,
    seed: config.seed,
  });
  const validation = pick(dataset, split.validation);
  noteSmallValidation(validation.length, dataset.classNames.length);
  return {
    protocol,
    foldIndex,
    fold,
    train: pick(dataset, split.train),
    validation,
    test: pick(dataset, fold.test),
  };
}

/** Below these a validation part picks noise when it picks the epoch. */
export const MIN_VALIDATION = { sequences: 100, perClass: 10 } as const;

/**
 * Choosing the epoch by a small validation part picks noise: with 20 sequences one sequence is 5
 * points, validation sits at 100% within a few epochs, and the kept epoch is an early, lucky one
 * (seen on NW-UCLA: validation 76%, test 60.8%). Says so, and what to do instead.
 */
function noteSmallValidation(sequences: number, classes: number): void {
  if (sequences === 0) return;
  if (sequences >= MIN_VALIDATION.sequences && sequences >= MIN_VALIDATION.perClass * classes) return;
  note(
    `the validation part holds ${sequences} sequences (${(100 / sequences).toFixed(1)} points each, fewer than ${Math.max(MIN_VALIDATION.sequences, MIN_VALIDATION.perClass * classes)}): too few to choose an epoch by. Keeping the last epoch of the cosine schedule (--validation-fraction 0) is steadier; see docs/datasets.md, "Choosing a validation scheme"`,
  );
}

/**
 * A freshly initialised model for a fold: preprocessing fitted on its training part, the model input
 * and the checkpoint metadata (provenance: dataset, protocol, fold, seed).
 */
export function freshModel(
  dataset: Dataset,
  data: FoldData,
  config: Pick<RunConfig, 'preprocess' | 'features' | 'model' | 'seed'>,
): { model: SkeletonGcn; input: ModelInput; meta: CheckpointMeta } {
  const preprocessing = fitPreprocessing(data.train, dataset.graph, config.preprocess);
  const input = modelInputFromGraph(dataset.graph, preprocessing, config.features);
  const shape = {
    nodes: input.nodes,
    inputDim: input.dim,
    classes: dataset.classNames.length,
    edges: input.edges(),
  };
  const model = new SkeletonGcn(shape, config.model, new Rng(config.seed).fork('model'));
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    architecture: 'skeleton-gcn',
    model: model.config,
    shape,
    input: input.spec as CheckpointMeta['input'],
    classNames: [...dataset.classNames],
    provenance: {
      dataset: dataset.name,
      protocol: data.protocol,
      fold: data.fold.name,
      foldIndex: data.foldIndex,
      seed: config.seed,
    },
    results: {},
    pruning: null,
  };
  return { model, input, meta };
}

/** The settings that decide a run's result (not where or how parallel it runs). */
function identity(config: RunConfig): string {
  const { jobs: _jobs, out: _out, ...rest } = config;
  return JSON.stringify(rest);
}

/** Settings saved by an earlier version compare with their newer defaults filled in. */
function sameSettings(savedIdentity: string, config: RunConfig): boolean {
  const saved = runConfigSchema.safeParse(JSON.parse(savedIdentity));
  return saved.success && identity(saved.data) === identity(config);
}

/** The result a finished run of `job` saved in its folder; null when there is none with its settings. */
export async function savedFoldResult(job: FoldJob): Promise<FoldResult | null> {
  const resultPath = join(job.dir, 'result.json');
  if (!existsSync(resultPath)) return null;
  const saved = JSON.parse(await readFile(resultPath, 'utf8')) as FoldResult & { identity: string };
  return sameSettings(saved.identity, job.config) ? saved : null;
}

export async function trainFold(
  job: FoldJob,
  onEvent: (event: FoldEvent) => void = () => {},
): Promise<FoldResult> {
  const { config, foldIndex, dir } = job;
  const resultPath = join(dir, 'result.json');
  const saved = await savedFoldResult(job);
  if (saved) return saved;

  const dataset = await loadRunDataset(config);
  const data = foldData(dataset, runProtocol(config, dataset), foldIndex, config);
  const { fold, train } = data;
  const { model, input, meta: fresh } = freshModel(dataset, data, config);
  const trainer = new Trainer(
    model,
    { input, train, validation: data.validation, classes: dataset.classNames.length },
    config,
    config.seed,
  );
  const meta: CheckpointMeta = {
    ...fresh,
    provenance: { ...fresh.provenance, command: job.command, identity: identity(config) },
  };

  const session = new RunSession(dir, meta, model, (saved) => sameSettings(saved, config));
  const point = await session.resume();
  if (point) trainer.loadState(point.trainer, point.trainerTensors);
  onEvent({ type: 'start', fold: fold.name, epochs: config.epochs, resumedAt: trainer.state.epoch });
  const noExtra = () => ({ json: {}, tensors: {} });
  const trainSeconds =
    session.history.reduce((s, r) => s + r.seconds, 0) +
    (await session.run('train', trainer, noExtra, onEvent));

  trainer.restoreBest();
  const testBatch = input.encode(data.test);
  const started = performance.now();
  const evaluation = trainer.evaluateBatch(testBatch);
  const inferenceSeconds = (performance.now() - started) / 1000;
  const epochsRun = trainer.state.epoch;
  const result: FoldResult = {
    fold: fold.name,
    foldIndex,
    metrics: evaluation.metrics,
    bestEpoch: trainer.state.bestEpoch,
    epochsRun,
    trainSeconds,
    trainThroughput: (train.length * epochsRun) / Math.max(trainSeconds, 1e-9),
    inferenceThroughput: testBatch.count / Math.max(inferenceSeconds, 1e-9),
    checkpoint: join(dir, 'model.ckpt'),
    classNames: [...dataset.classNames],
  };
  const results = {
    test: { top1: result.metrics.top1, meanClass: result.metrics.meanClass, count: result.metrics.count },
    bestEpoch: result.bestEpoch,
  };
  await saveCheckpoint(result.checkpoint, { ...meta, results }, model);
  await writeFileAtomic(
    join(dir, 'confusion.txt'),
    `${formatConfusion(result.metrics.confusion, dataset.classNames)}\n`,
  );
  await writeFileAtomic(
    resultPath,
    `${JSON.stringify({ ...result, identity: identity(config) }, null, 2)}\n`,
  );
  await session.finish();
  return result;
}
