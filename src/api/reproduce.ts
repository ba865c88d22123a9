/**
 * The paper's experiment in one call (`reproduce`, as `skelprune reproduce`), and repetitions with
 * other seeds averaged into one report (`combine`, as `skelprune combine`).
 */
import { join } from 'node:path';
import type { DatasetKind } from '../data/load.js';
import { ConfigError, throwIfCancelled, withUserErrors } from '../errors.js';
import { METHODS } from '../prune/methods.js';
import { writeArtifacts } from '../report/artifacts.js';
import { combineResults, readResults } from '../report/combine.js';
import {
  parseMethodSpec,
  type ReproduceProgress,
  reproduce as runReproduction,
} from '../report/reproduce.js';
import type { ReproduceResults } from '../report/results.js';
import { skelpruneVersion } from '../util/version.js';
import type { PruneSettings } from './prune.js';
import { checkOutputFolder, type TrainSettings } from './train.js';

/** The reduced protocol of `quick`: synthetic data, one fold, small model, few epochs, two rates. */
const QUICK = {
  rates: [0.5, 0.9],
  train: {
    fold: 1,
    epochs: 12,
    synthetic: { sequencesPerClass: 20 },
    model: { heads: 4, headDim: 4, encodingChannels: 16, convChannels: 32, fcUnits: 64 },
  },
  prune: { pruneEpochs: 8, finetuneEpochs: 3, fold: 1, synthetic: { sequencesPerClass: 20 } },
  speedRepeats: 200,
};

const DEFAULT_RATES = [0.9, 0.95, 0.98];

/** Options of `reproduce`, those of `skelprune reproduce`, with the same defaults. */
export interface ReproduceOptions {
  /** Required unless `quick`. */
  dataset?: DatasetKind;
  /** The dataset's folder (not needed for synthetic data). */
  path?: string;
  /** Pruning rates in (0, 1) (default 0.9, 0.95, 0.98). */
  rates?: number[];
  /** Methods, each optionally with its own budget as `method@budget`, e.g. `ctf@weights+flops` (default: all). */
  methods?: string[];
  /** Runs in parallel worker processes (default 1). */
  jobs?: number;
  /** Output folder (default `runs/reproduce-<dataset>`, `runs/reproduce-quick` with `quick`). */
  out?: string;
  /** Random seed (default 0). */
  seed?: number;
  /** Prune every method and rate with seeds seed, seed + 1, ... from the same dense models (default 1). */
  pruneSeeds?: number;
  /** Timed batch-1 calls per exported model (default 1000). */
  speedRepeats?: number;
  /** Settings of the dense training, as for `train`. */
  train?: TrainSettings;
  /** Settings of pruning, as for `prune` (method and rate come from `methods` and `rates`). */
  prune?: PruneSettings;
  /** A reduced protocol on the synthetic data (about a minute) producing every artifact. */
  quick?: boolean;
  /** Recorded as the provenance of the results (default `reproduce`). */
  command?: string;
  /** Overall progress: the fraction of the work done and what is running. */
  onProgress?: (progress: ReproduceProgress) => void;
  /** Cancels the reproduction (rejecting with a CancelledError); run it again to continue. */
  signal?: AbortSignal;
}

/** What `reproduce` and `combine` return. */
export interface ReproduceReport {
  /** Every figure of the tables, with provenance (also in `out/results.json`). */
  results: ReproduceResults;
  /** The output folder. */
  out: string;
  /** The files written: results.json, results.md, report.html, plots, mask pictures. */
  files: string[];
}

/**
 * The whole protocol: the dense baseline on every fold, every method at every rate on every fold from
 * it, each fold-1 model exported and timed; then tables, plots, mask pictures and an HTML report in
 * `out`. Every step's result is kept, so an interrupted (or cancelled) reproduction resumes by itself.
 */
export async function reproduce(options: ReproduceOptions): Promise<ReproduceReport> {
  const quick = options.quick ?? false;
  const dataset = quick ? 'synthetic' : options.dataset;
  if (!dataset) throw new ConfigError('reproduce: a dataset is required (or quick)');
  const rates = options.rates ?? (quick ? QUICK.rates : DEFAULT_RATES);
  if (rates.some((r) => !(r > 0 && r < 1)))
    throw new ConfigError(`reproduce: expected rates in (0, 1), found ${rates.join(', ')}`);
  const methods = options.methods ?? [...METHODS];
  for (const spec of methods) {
    try {
      parseMethodSpec(spec);
    } catch (error) {
      throw new ConfigError(`reproduce: ${(error as Error).message}`);
    }
  }
  for (const [name, value, least] of [
    ['jobs', options.jobs, 1],
    ['seed', options.seed, 0],
    ['pruneSeeds', options.pruneSeeds, 1],
    ['speedRepeats', options.speedRepeats, 1],
  ] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= least))
      throw new ConfigError(`reproduce: ${name}: expected a whole number ≥ ${least}, found ${value}`);
  }
  const out = options.out ?? join('runs', `reproduce-${quick ? 'quick' : dataset}`);
  checkOutputFolder(out);
  throwIfCancelled(options.signal);
  const results = await withUserErrors(
    runReproduction(
      {
        dataset,
        path: options.path,
        rates,
        methods,
        jobs: options.jobs ?? 1,
        out,
        seed: options.seed ?? 0,
        pruneSeeds: options.pruneSeeds ?? 1,
        train: { ...(quick ? QUICK.train : {}), ...options.train },
        prune: { ...(quick ? QUICK.prune : {}), ...options.prune },
        speedRepeats: quick ? QUICK.speedRepeats : (options.speedRepeats ?? 1000),
        command: options.command ?? 'reproduce',
        version: skelpruneVersion(),
        signal: options.signal,
      },
      options.onProgress ?? (() => {}),
    ),
  );
  // Recorded so that every report of a quick run says its figures mean nothing.
  if (quick) results.quick = true;
  return { results, out, files: await withUserErrors(writeArtifacts(results, out)) };
}

/** Options of `combine`. */
export interface CombineOptions {
  /** Output folders of `reproduce` repeating one protocol with different seeds (two or more). */
  runs: string[];
  /** Output folder of the combined report. */
  out: string;
  /** Recorded as the provenance of the results (default `combine`). */
  command?: string;
}

/** What `combine` returns: the report, and the runs left out because not every source has them. */
export interface CombineReport extends ReproduceReport {
  /** Runs (method and rate) missing from at least one source. */
  leftOut: string[];
}

/**
 * Averages reproductions that repeat one protocol with different seeds (each with its own dense
 * models) into one report: accuracies become means over the repetitions, with their spread.
 */
export async function combine(options: CombineOptions): Promise<CombineReport> {
  checkOutputFolder(options.out);
  // One at a time: with several unreadable runs, the error names the first one given, every time.
  const sources: Awaited<ReturnType<typeof readResults>>[] = [];
  for (const run of options.runs) sources.push(await withUserErrors(readResults(run)));
  const { results, leftOut } = combineResults(sources, options.command ?? 'combine');
  const files = await withUserErrors(writeArtifacts(results, options.out));
  return { results, leftOut, out: options.out, files };
}
