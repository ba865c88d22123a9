/**
 * `skelprune reproduce`: the paper's protocol in one run. The dense baseline is trained on every fold,
 * every method is applied at every rate on every fold from that baseline, and each fold-1 model is
 * exported and timed. Every step writes its own result and is skipped when found again, so an
 * interrupted run resumes where it stopped.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { ENGINE_REVISION, type RuntimeModel } from '@skelprune/runtime/internal';
import type { DatasetKind } from '../data/load.js';
import { noGrad } from '../engine/index.js';
import { throwIfCancelled } from '../errors.js';
import { compactionPlan, type PrunedCost } from '../model/compaction.js';
import type { SkeletonGcn } from '../model/gcn.js';
import { BUDGET_KINDS, type BudgetKind } from '../prune/budget.js';
import { type PruneConfig, resolvePruneConfig } from '../prune/config.js';
import { METHODS, type MethodName } from '../prune/methods.js';
import { flopTotals, structuredShare } from '../prune/report.js';
import type { PruneEvent, PruneJob, PruneResult } from '../prune/run.js';
import { compactModel as buildCompact } from '../runtime/compact.js';
import { measureSpeeds, runtimeRunner } from '../runtime/latency.js';
import { loadModelFile, saveModelFile } from '../runtime/model-io.js';
import { toRuntimeModel } from '../runtime/runtime-model.js';
import {
  type Checkpoint,
  checkpointMasks,
  loadCheckpoint,
  modelFromCheckpoint,
} from '../train/checkpoint.js';
import type { FoldEvent, FoldJob, FoldResult } from '../train/experiment.js';
import { loadRunDataset, runProtocol } from '../train/experiment.js';
import { jobSpec, runJobs } from '../train/jobs.js';
import { type ClassificationMetrics, meanMetrics } from '../train/metrics.js';
import { resolveRunConfig } from '../train/run-config.js';
import { writeFileAtomic } from '../util/fs.js';
import { codeState, datasetFingerprint, PhaseClock, type PhaseTime } from './provenance.js';
import {
  averageOverSeeds,
  mean,
  type Provenance,
  type ReproduceResults,
  type RunFigures,
  rateLabel,
  type SeedFigures,
  type SpeedFigures,
} from './results.js';

export interface ReproduceOptions {
  dataset: DatasetKind;
  path?: string;
  rates: number[];
  /** Methods, each optionally with its own budget: `ctf`, `ctf@weights+flops` (see parseMethodSpec). */
  methods: string[];
  jobs: number;
  out: string;
  seed: number;
  /** Pruning runs per method and rate, with seeds seed, seed + 1, ..., from the same dense models. */
  pruneSeeds: number;
  /** Settings for the dense training and for pruning (config keys, as for train and prune). */
  train: Record<string, unknown>;
  prune: Record<string, unknown>;
  /** Timed batch-1 calls per exported model. */
  speedRepeats: number;
  command: string;
  version: string;
  /** Stops the reproduction (see runJobs); finished runs are kept and skipped when it is run again. */
  signal?: AbortSignal;
}

/** Overall progress of `reproduce`. */
export interface ReproduceProgress {
  /** Fraction of all work done: epochs and timing steps, weighed by their measured seconds. */
  fraction: number;
  /** What is running now, e.g. the jobs' labels joined by ` · ` (`starting` before any). */
  status: string;
}

async function provenance(options: ReproduceOptions, phases: PhaseTime[]): Promise<Provenance> {
  return {
    command: options.command,
    seed: options.seed,
    date: new Date().toISOString(),
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.availableParallelism(),
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
    },
    skelprune: options.version,
    code: codeState(),
    data: await datasetFingerprint(options.dataset, options.path),
    phases,
  };
}

/**
 * Overall progress of a reproduction. Each job's work is its epochs (a timing step counts as one),
 * weighed by the measured seconds per epoch of its kind (dense, or the method): epochs differ (on SBU
 * a CTF pruning epoch takes 1.95 s, a dense one 1.34 s, a magnitude-pruning one 1.14 s) and timing a
 * model takes as long as dozens of epochs. A kind not measured yet is assumed to cost the mean of
 * those that are.
 */
export class WorkMeter {
  private readonly jobs = new Map<string, { kind: string; done: number; total: number }>();
  private readonly costs = new Map<string, { seconds: number; epochs: number }>();
  private readonly running = new Map<string, string>();
  constructor(private readonly report: (p: ReproduceProgress) => void) {}

  plan(job: string, kind: string, total: number): void {
    this.jobs.set(job, { kind, done: 0, total });
  }

  start(job: string, label: string): void {
    this.running.set(job, label);
    this.emit();
  }

  /** Epoch `done` of a job has ended after `seconds`. */
  epoch(job: string, done: number, seconds: number, label: string): void {
    const entry = this.jobs.get(job)!;
    const cost = this.costs.get(entry.kind) ?? { seconds: 0, epochs: 0 };
    this.costs.set(entry.kind, { seconds: cost.seconds + seconds, epochs: cost.epochs + 1 });
    entry.done = Math.min(done, entry.total);
    if (entry.done < entry.total) this.running.set(job, label);
    else this.running.delete(job);
    this.emit();
  }

  finish(job: string): void {
    const entry = this.jobs.get(job)!;
    entry.done = entry.total;
    this.running.delete(job);
    this.emit();
  }

  private emit(): void {
    const measured = [...this.costs.values()];
    const fallback = measured.length
      ? measured.reduce((s, c) => s + c.seconds / c.epochs, 0) / measured.length
      : 1;
    const perEpoch = (kind: string) => {
      const cost = this.costs.get(kind);
      return cost ? cost.seconds / cost.epochs : fallback;
    };
    let done = 0;
    let total = 0;
    for (const job of this.jobs.values()) {
      done += job.done * perEpoch(job.kind);
      total += job.total * perEpoch(job.kind);
    }
    this.report({
      fraction: total > 0 ? Math.min(1, done / total) : 0,
      status: [...this.running.values()].join(' · ') || 'starting',
    });
  }
}

/**
 * A method of the protocol, optionally with a budget of its own: `method[@budget]`. Without one it
 * prunes under the shared settings' budget (weights unless `--set prune.budget=...`).
 */
export function parseMethodSpec(spec: string): { method: MethodName; budget?: BudgetKind } {
  const [method, budget, extra] = spec.split('@');
  if (!(METHODS as readonly string[]).includes(method))
    throw new RangeError(`unknown method '${method}' in '${spec}' (methods: ${METHODS.join(', ')})`);
  if (extra !== undefined || (budget !== undefined && !(BUDGET_KINDS as readonly string[]).includes(budget)))
    throw new RangeError(
      `'${spec}': expected method[@budget] with a budget among ${BUDGET_KINDS.join(', ')}`,
    );
  return { method: method as MethodName, ...(budget === undefined ? {} : { budget: budget as BudgetKind }) };
}

/** The name of a run in tables, plots and folders: its method, and its budget unless by weights. */
export const runLabel = (run: { method: string; budget: BudgetKind }) =>
  run.budget === 'weights' ? run.method : `${run.method}@${run.budget}`;

export async function reproduce(
  options: ReproduceOptions,
  onProgress: (p: ReproduceProgress) => void,
): Promise<ReproduceResults> {
  const base = { dataset: options.dataset, path: options.path, seed: options.seed };
  const denseConfig = resolveRunConfig(
    {},
    { ...base, ...options.train, out: join(options.out, 'dense'), jobs: options.jobs },
  );
  const dataset = await loadRunDataset(denseConfig);
  const protocol = runProtocol(denseConfig, dataset);
  const allFolds = dataset.protocols[protocol];
  const folds = denseConfig.fold === 'all' ? allFolds.map((_, i) => i) : [denseConfig.fold - 1];
  const pruneConfigs = options.methods.flatMap((spec) =>
    options.rates.map((rate) =>
      resolvePruneConfig(
        {},
        { ...base, ...options.prune, ...parseMethodSpec(spec), rate, fold: denseConfig.fold },
      ),
    ),
  );
  const foldDir = (dir: string, k: number) => join(dir, `fold-${k + 1}`);
  const denseJobs: FoldJob[] = folds.map((k) => ({
    config: denseConfig,
    foldIndex: k,
    dir: foldDir(denseConfig.out!, k),
    command: options.command,
  }));
  // Per method and rate: every seed's folds, the first seed's in the folder an unseeded run uses.
  const seeds = Array.from({ length: options.pruneSeeds }, (_, s) => options.seed + s);
  const runDir = (config: PruneConfig) => join(options.out, runLabel(config), rateLabel(config.rate));
  const pruneJobs: PruneJob[] = pruneConfigs.flatMap((config) =>
    seeds.flatMap((seed) =>
      folds.map((k) => ({
        config: { ...config, seed },
        dir: foldDir(seed === options.seed ? runDir(config) : join(runDir(config), `seed-${seed}`), k),
        command: options.command,
      })),
    ),
  );
  // Each run folder's resolved settings, as `train` and `prune` save them (for the report and reruns).
  const settings: [string, object][] = [
    [denseConfig.out!, denseConfig],
    ...pruneConfigs.map((c): [string, object] => [runDir(c), c]),
  ];
  for (const [folder, config] of settings) {
    await mkdir(folder, { recursive: true });
    await writeFileAtomic(join(folder, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  }
  const clock = new PhaseClock();
  const meter = new WorkMeter(onProgress);
  denseJobs.forEach((_, i) => {
    meter.plan(`dense-${i}`, 'dense', denseConfig.epochs);
  });
  pruneJobs.forEach(({ config }, i) => {
    meter.plan(`prune-${i}`, runLabel(config), config.pruneEpochs + config.finetuneEpochs);
  });
  for (const c of ['dense', ...pruneConfigs.keys()]) meter.plan(`speed-${c}`, 'timing', 1);

  // 1. The dense baseline on every fold.
  const denseResults = await clock.time('dense training', () =>
    runJobs<FoldResult, FoldEvent>(
      denseJobs.map((args) => jobSpec('../train/experiment.js', import.meta.url, 'trainFold', args)),
      options.jobs,
      (i, event) => {
        if (event.type !== 'epoch') return;
        const { epoch, seconds } = event.record;
        meter.epoch(`dense-${i}`, epoch, seconds, `dense fold ${folds[i] + 1}`);
      },
      { signal: options.signal },
    ),
  );
  for (const i of denseResults.keys()) meter.finish(`dense-${i}`);

  // 2. Every method at every rate on every fold, from the dense checkpoints.
  for (const [j, job] of pruneJobs.entries()) job.checkpoint = denseResults[j % folds.length].checkpoint;
  const prunePhaseEpochs = new Map<number, number>();
  const pruneResults = await clock.time('pruning and fine-tuning', () =>
    runJobs<PruneResult, PruneEvent>(
      pruneJobs.map((args) => jobSpec('../prune/run.js', import.meta.url, 'pruneFold', args)),
      options.jobs,
      (i, event) => {
        if (event.type !== 'epoch') return;
        if (event.phase === 'prune') prunePhaseEpochs.set(i, event.record.epoch);
        const done = (event.phase === 'finetune' ? (prunePhaseEpochs.get(i) ?? 0) : 0) + event.record.epoch;
        const { config } = pruneJobs[i];
        const seed = seeds.length > 1 ? ` seed ${config.seed}` : '';
        const name = `${runLabel(config)} ${rateLabel(config.rate)}${seed} fold ${(i % folds.length) + 1}`;
        meter.epoch(`prune-${i}`, done, event.record.seconds, name);
      },
      { signal: options.signal },
    ),
  );
  for (const i of pruneResults.keys()) meter.finish(`prune-${i}`);

  // 3. Export and time the fold-1 models one at a time (timings need a quiet machine).
  const timed = async <T>(job: string, label: string, cached: T | null, measure: () => Promise<T>) => {
    if (cached) {
      meter.finish(job);
      return cached;
    }
    throwIfCancelled(options.signal);
    meter.start(job, `timing ${label}`);
    const started = performance.now();
    const figures = await measure();
    meter.epoch(job, 1, (performance.now() - started) / 1000, label);
    return figures;
  };
  // Each fold-1 checkpoint is read once, for its export and for its figures.
  const runs = await clock.time('export and timing', () => exportAndTime());
  async function exportAndTime(): Promise<RunFigures[]> {
    const densePath = join(options.out, 'dense', 'model.skp');
    const denseCheckpoint = await loadCheckpoint(denseResults[0].checkpoint);
    const denseModel = await exportModel(denseCheckpoint, denseResults[0].checkpoint, densePath);
    const denseSpeed = await timed('speed-dense', 'dense', await cachedSpeed(densePath), () =>
      timeModel(denseModel, densePath, options, null),
    );
    const runs: RunFigures[] = [await denseFigures(denseResults, denseCheckpoint, denseSpeed)];
    for (const [c, config] of pruneConfigs.entries()) {
      const bySeed = seeds.map((_, s) => {
        const first = (c * seeds.length + s) * folds.length;
        return pruneResults.slice(first, first + folds.length);
      });
      const source = bySeed[0][0].checkpoint;
      const checkpoint = await loadCheckpoint(source);
      const skpPath = join(runDir(config), 'model.skp');
      const speed = await timed(
        `speed-${c}`,
        `${runLabel(config)} ${rateLabel(config.rate)}`,
        await cachedSpeed(skpPath),
        async () => timeModel(await exportModel(checkpoint, source, skpPath), skpPath, options, denseModel),
      );
      runs.push(prunedFigures(bySeed, seeds, checkpoint, speed));
    }
    return runs;
  }
  return {
    dataset: { name: dataset.name, title: dataset.title, protocol, folds: folds.length },
    provenance: await provenance(options, clock.phases),
    classNames: [...dataset.classNames],
    runs,
  };
}

/** The .skp export of a checkpoint read from `source` (cached: an existing file is loaded). */
async function exportModel(checkpoint: Checkpoint, source: string, skpPath: string): Promise<RuntimeModel> {
  if (existsSync(skpPath)) return (await loadModelFile(skpPath)).model;
  const { model } = modelFromCheckpoint(checkpoint, source);
  const runtime = toRuntimeModel(noGrad(() => buildCompact(model, checkpointMasks(checkpoint))));
  await saveModelFile(skpPath, {
    model: runtime,
    input: checkpoint.meta.input,
    classNames: checkpoint.meta.classNames,
    info: { source },
  });
  return runtime;
}

const speedPath = (skpPath: string) => skpPath.replace(/\.skp$/, '.speed.json');

/** The speed measured earlier for an exported model, if both files are there and the engine is the same. */
async function cachedSpeed(skpPath: string): Promise<SpeedFigures | null> {
  const path = speedPath(skpPath);
  if (!existsSync(path) || !existsSync(skpPath)) return null;
  const figures = JSON.parse(await readFile(path, 'utf8')) as Partial<SpeedFigures>;
  return figures.engineRevision === ENGINE_REVISION ? (figures as SpeedFigures) : null;
}

/**
 * Times an exported model and caches the figures beside it. With the dense model given, the two are
 * timed interleaved and the speed-up is the ratio of that one measurement.
 */
async function timeModel(
  model: RuntimeModel,
  skpPath: string,
  options: ReproduceOptions,
  dense: RuntimeModel | null,
): Promise<SpeedFigures> {
  const runners = [dense, model].flatMap((m) => (m ? [runtimeRunner(m)] : []));
  try {
    const speeds = await measureSpeeds(runners, { repeats: options.speedRepeats });
    const speed = speeds[speeds.length - 1];
    const figures: SpeedFigures = {
      p50Ms: speed.p50Ms,
      p90Ms: speed.p90Ms,
      throughput: speed.throughput,
      bytes: (await stat(skpPath)).size,
      speedup: speeds[0].p50Ms / speed.p50Ms,
      engineRevision: ENGINE_REVISION,
    };
    await writeFileAtomic(speedPath(skpPath), `${JSON.stringify(figures, null, 2)}\n`);
    return figures;
  } finally {
    for (const runner of runners) runner.dispose();
  }
}

/** One seed's fold results as the tables show them, with the confusion matrix summed over its folds. */
function seedFigures(
  results: readonly { fold: string; metrics: ClassificationMetrics }[],
  achievedRate: number,
): SeedFigures & { confusion: number[][] } {
  const { top1, meanClass, confusion } = meanMetrics(results.map((r) => r.metrics));
  const folds = results.map((f) => ({ fold: f.fold, top1: f.metrics.top1, meanClass: f.metrics.meanClass }));
  return { achievedRate, folds, top1, meanClass, confusion };
}

/**
 * A checkpoint's model and its layer costs under the current compaction: cached results may predate a
 * change in how the runtime executes a pruned model, so the reported FLOPs are always recomputed.
 */
function checkpointCosts(
  checkpoint: Checkpoint,
  source: string,
): { model: SkeletonGcn; costs: PrunedCost[] } {
  const { model } = modelFromCheckpoint(checkpoint, source);
  return { model, costs: compactionPlan(model, checkpointMasks(checkpoint)).costs };
}

function denseFigures(
  results: readonly FoldResult[],
  checkpoint: Checkpoint,
  speed: SpeedFigures,
): RunFigures {
  const { model, costs } = checkpointCosts(checkpoint, results[0].checkpoint);
  const flops = flopTotals({ costs }).dense;
  return {
    method: 'dense',
    rate: 0,
    ...seedFigures(results, 0),
    parameters: model.parameterCount(),
    flops: { dense: flops, compacted: flops, sparse: flops },
    structuredShare: 0,
    speed,
    checkpoint: results[0].checkpoint,
  };
}

/**
 * The figures of one method and rate: accuracies are means over seeds (averageOverSeeds); the
 * confusion matrix, sizes, FLOPs and speed are the first seed's, from its fold-1 `checkpoint`.
 */
function prunedFigures(
  bySeed: readonly (readonly PruneResult[])[],
  seeds: readonly number[],
  checkpoint: Checkpoint,
  speed: SpeedFigures,
): RunFigures {
  const [first] = bySeed[0];
  const perSeed = bySeed.map((r) => seedFigures(r, mean(r.map((f) => f.achievedRate))));
  const { costs } = checkpointCosts(checkpoint, first.checkpoint);
  const flops = flopTotals({ costs });
  const pruned = first.layers.reduce((s, l) => s + l.structure.total - l.structure.kept, 0);
  const denseParameters = costs.reduce((s, c) => s + c.params, 0);
  return {
    method: runLabel(first),
    rate: first.rate,
    ...averageOverSeeds(perSeed.map((figures, s) => ({ seed: seeds[s], figures }))),
    parameters: denseParameters - pruned,
    flops: { dense: flops.dense, compacted: flops.structured, sparse: flops.sparse },
    structuredShare: structuredShare(first),
    speed,
    confusion: perSeed[0].confusion,
    checkpoint: first.checkpoint,
  };
}
