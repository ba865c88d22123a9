/**
 * The paper's experiment in one call (`reproduce`, as `skelprune reproduce`), on this machine or on
 * a job queue, and repetitions with other seeds averaged into one report (`combine`, as `skelprune
 * combine`).
 */
import { join, resolve } from 'node:path';
import type { DatasetKind } from '../data/load.js';
import { ConfigError, throwIfCancelled, withUserErrors } from '../errors.js';
import { METHODS } from '../prune/methods.js';
import { checkQueueUrl, redactCommand } from '../queue/url.js';
import { writeArtifacts } from '../report/artifacts.js';
import { combineResults, readResults } from '../report/combine.js';
import {
  type CellRunner,
  localCells,
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
  /**
   * A Redis URL (`redis://[user:password@]host[:port][/db]`, `rediss://` for TLS): run the cells on the
   * job queue there, by `skelprune worker` processes on any machines that share `out`
   * (docs/distributed.md), instead of on this machine. The same call again re-attaches to the sweep
   * and enqueues only what is neither finished nor queued.
   */
  queue?: string;
  /** With `queue`: tries per cell before it is marked failed (default 3). */
  attempts?: number;
  /** With `queue`: seconds before a failed cell's first retry, each later one waiting twice as long (default 10). */
  retryDelay?: number;
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
  /** Recorded as the provenance of the results (default `reproduce`), any Redis password in it hidden. */
  command?: string;
  /** Overall progress: the fraction of the work done and what is running. */
  onProgress?: (progress: ReproduceProgress) => void;
  /** Cancels the reproduction (rejecting with a CancelledError); run it again to continue. */
  signal?: AbortSignal;
}

/** What `reproduce` and `combine` return. */
export interface ReproduceReport {
  /**
   * Every figure of the tables, with provenance (also in `out/results.json`). On a job queue, cells
   * that failed after their retries are named in `results.failures` and their rows left out.
   */
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
 * With `queue` the steps run on workers (docs/distributed.md): the call waits for every one to end,
 * and steps that failed after their retries are named in the report instead of stopping it (without
 * every dense fold there is no report: it rejects, naming the failures).
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
    ['attempts', options.attempts, 1],
  ] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= least))
      throw new ConfigError(`reproduce: ${name}: expected a whole number ≥ ${least}, found ${value}`);
  }
  const given = options.out ?? join('runs', `reproduce-${quick ? 'quick' : dataset}`);
  checkOutputFolder(given);
  const run = await cellRunner(options);
  // Workers on other machines see the folders at the same absolute paths (docs/distributed.md).
  const out = options.queue ? resolve(given) : given;
  const path = options.queue && options.path !== undefined ? resolve(options.path) : options.path;
  throwIfCancelled(options.signal);
  const results = await withUserErrors(
    runReproduction(
      {
        dataset,
        path,
        rates,
        methods,
        jobs: options.jobs ?? 1,
        run,
        out,
        seed: options.seed ?? 0,
        pruneSeeds: options.pruneSeeds ?? 1,
        train: { ...(quick ? QUICK.train : {}), ...options.train },
        prune: { ...(quick ? QUICK.prune : {}), ...options.prune },
        speedRepeats: quick ? QUICK.speedRepeats : (options.speedRepeats ?? 1000),
        // Recorded in the reports and on the queue: a Redis password in it is hidden.
        command: redactCommand(options.command ?? 'reproduce'),
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

/**
 * Where the cells run: on this machine (`jobs` at a time), or on the job queue at `queue` (its client
 * is loaded only then).
 */
async function cellRunner(options: ReproduceOptions): Promise<CellRunner> {
  if (options.queue === undefined) {
    for (const name of ['attempts', 'retryDelay'] as const)
      if (options[name] !== undefined)
        throw new ConfigError(`reproduce: ${name} applies to a job queue; give queue too`);
    return localCells(options.jobs ?? 1);
  }
  if (options.jobs !== undefined && options.jobs !== 1)
    throw new ConfigError(
      'reproduce: jobs runs cells on this machine; with a queue, each worker’s concurrency decides how many run at once',
    );
  const delay = options.retryDelay ?? 10;
  if (!(delay >= 0)) throw new ConfigError(`reproduce: retryDelay: expected seconds ≥ 0, found ${delay}`);
  checkQueueUrl(options.queue);
  const { queueCells } = await import('../queue/coordinator.js');
  return queueCells({ url: options.queue, retry: { attempts: options.attempts ?? 3, delay } });
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
