/**
 * Pruning: `prune` brings trained checkpoints (or a model trained from scratch) to an exact budget with
 * any method and fine-tunes them, as `skelprune prune` does.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import type { DatasetKind } from '../data/load.js';
import { SkelpruneError, throwIfCancelled, withUserErrors } from '../errors.js';
import { type PruneConfig, type pruneConfigSchema, resolvePruneConfig } from '../prune/config.js';
import type { PruneJob, PruneResult } from '../prune/run.js';
import { checkDatasetSource } from '../train/experiment.js';
import { jobSpec } from '../train/jobs.js';
import { meanMetrics } from '../train/metrics.js';
import { readConfigFile } from '../train/run-config.js';
import { writeJsonAtomic } from '../util/fs.js';
import { type FoldProgressEvent, type LongRunOptions, runFoldJobs } from './progress.js';
import { checkRunFolder } from './train.js';

/**
 * The settings of a pruning run: the keys of a `skelprune prune` config file (`method`, `rate`,
 * `budget`, `from`, `pruneEpochs`, ..., nested `ctf` and `magnitude`, and the run settings of
 * training). What is left out takes the CLI's default. `dataset`, `method` and `rate` may come from
 * the `config` file instead.
 *
 * @interface
 */
export type PruneSettings = Omit<Partial<z.input<typeof pruneConfigSchema>>, 'dataset'> & {
  /** The dataset's format (required here or in the config file). */
  dataset?: DatasetKind;
};

/** The first event of `prune`: what is about to be pruned, one run per starting checkpoint. */
export interface PruneStartEvent {
  /** The event's kind. */
  type: 'start';
  /** The pruning method. */
  method: PruneConfig['method'];
  /** The target rate. */
  rate: number;
  /** What the rate counts. */
  budget: PruneConfig['budget'];
  /** Runs in parallel worker processes. */
  jobs: number;
  /** The output folder. */
  out: string;
  /** The runs, in order: the pruned ones, then their controls (`config.control`). */
  runs: {
    /** The checkpoint it starts from; null: from scratch. */
    from: string | null;
    /** Its output folder. */
    dir: string;
    /** Whether it is a control run (nothing pruned, same epochs). */
    control: boolean;
  }[];
}

/** The events of `prune`: its start, then each run's (`run` is the position in `runs`). */
export type PruneProgressEvent = PruneStartEvent | FoldProgressEvent;

/** Options of `prune`: the settings, plus an optional settings file and the long-run controls. */
export interface PruneOptions extends PruneSettings, LongRunOptions<PruneProgressEvent> {
  /** A JSON or YAML file of settings (as `--config`); the settings given here override it. */
  config?: string;
}

/** What `prune` returns; `summary.json` in the output folder holds `folds`. */
export interface PruneRunResult {
  /** The output folder: `model.ckpt` (or `fold-<k>/model.ckpt` per fold when pruning a train folder). */
  out: string;
  /** The complete settings, defaults filled in (as saved in `config.json`). */
  config: PruneConfig;
  /** Every pruned fold, in order. */
  folds: PruneResult[];
  /** Test accuracies averaged over the folds. */
  mean: {
    /** Top-1 accuracy. */
    top1: number;
    /** Mean per-class accuracy. */
    meanClass: number;
  };
}

/** Each pruned fold with its control's accuracy (controls in the order of the folds that have one). */
function withControls(folds: readonly PruneResult[], controls: readonly PruneResult[]): PruneResult[] {
  const byFold = new Map(controls.map((c) => [c.foldIndex, c.metrics.top1]));
  return folds.map((fold) => ({ ...fold, controlTop1: byFold.get(fold.foldIndex) ?? null }));
}

/** Checkpoints to prune: a file, or every fold-N/model.ckpt of a `train` output directory. */
function startingCheckpoints(from: string): { checkpoint: string; fold: string }[] {
  if (!existsSync(from)) throw new SkelpruneError(`--from ${from}: no such file or directory`);
  if (statSync(from).isFile()) return [{ checkpoint: from, fold: '' }];
  const folds: { checkpoint: string; fold: string }[] = [];
  for (let k = 1; existsSync(join(from, `fold-${k}`)); k++) {
    const checkpoint = join(from, `fold-${k}`, 'model.ckpt');
    if (!existsSync(checkpoint))
      throw new SkelpruneError(`${checkpoint} is missing: did training of fold ${k} finish?`);
    folds.push({ checkpoint, fold: `fold-${k}` });
  }
  if (folds.length === 0)
    throw new SkelpruneError(
      `--from ${from}: neither a checkpoint nor a train output directory (no fold-1/)`,
    );
  return folds;
}

/**
 * Prunes to an exact `rate` with `method` (every method and budget of `skelprune prune`), fine-tunes
 * and evaluates. `from` is a trained checkpoint or a `train` output folder (each fold pruned); without
 * it the model is trained pruned from scratch. Writes under `out` (default
 * `runs/prune-<method>-<rate>`).
 *
 * @example
 * ```ts
 * const pruned = await prune({ dataset: 'synthetic', method: 'ctf', rate: 0.9, from: 'runs/dense' });
 * console.log(pruned.folds[0].achievedRate, pruned.folds[0].checkpoint);
 * ```
 */
export async function prune(options: PruneOptions): Promise<PruneRunResult> {
  const { config: file, resume: _r, signal: _s, onProgress: _p, command: _c, ...settings } = options;
  const config = resolvePruneConfig(file ? await readConfigFile(file) : {}, settings, file ?? 'options');
  return runPruning(config, options);
}

/** `prune` with validated settings (the CLI validates its own, naming its flags in errors). */
export async function runPruning(
  config: PruneConfig,
  options: LongRunOptions<PruneProgressEvent>,
): Promise<PruneRunResult> {
  return withUserErrors(pruneRuns(config, options));
}

async function pruneRuns(
  config: PruneConfig,
  { resume = false, signal, onProgress = () => {}, command = 'prune' }: LongRunOptions<PruneProgressEvent>,
): Promise<PruneRunResult> {
  throwIfCancelled(signal);
  checkDatasetSource(config);
  const out = config.out ?? join('runs', `prune-${config.method}-${config.rate}`);
  checkRunFolder(out, resume);
  const starts = config.from ? startingCheckpoints(config.from) : [{ checkpoint: undefined, fold: '' }];
  await writeJsonAtomic(join(out, 'config.json'), config);
  const pruned: PruneJob[] = starts.map((s, i) => ({
    config,
    checkpoint: s.checkpoint,
    dir: starts.length > 1 ? join(out, s.fold) : out,
    command,
    ...(s.checkpoint ? {} : { foldIndex: config.fold === 'all' ? i : config.fold - 1 }),
  }));
  const controls = config.control
    ? pruned
        .filter((job) => job.checkpoint)
        .map((job) => ({ ...job, dir: join(job.dir, 'control'), control: true }))
    : [];
  const jobs = [...pruned, ...controls];
  const { method, rate, budget } = config;
  const runs = jobs.map((job) => ({
    from: job.checkpoint ?? null,
    dir: job.dir,
    control: job.control === true,
  }));
  onProgress({ type: 'start', method, rate, budget, jobs: config.jobs, out, runs });
  const results = await runFoldJobs<PruneResult>(
    jobs.map((args) => jobSpec('../prune/run.js', import.meta.url, 'pruneFold', args)),
    config.jobs,
    { signal, onProgress },
  );
  const folds = withControls(results.slice(0, pruned.length), results.slice(pruned.length));
  await writeJsonAtomic(join(out, 'summary.json'), folds);
  const { top1, meanClass } = meanMetrics(folds.map((r) => r.metrics));
  return { out, config, folds, mean: { top1, meanClass } };
}
