/**
 * The cells of a reproduction, defined once for every way of running them: each dense fold, each
 * method × rate × pruning seed × fold pruned from its dense fold, and each timing of an exported
 * fold-1 model. A cell is a pure function of its arguments (its id is a hash of them), runs as a job
 * (`cellJob`), saves its result in its own folder (`savedCellResult`) and may need one other cell to
 * have finished first (`after`). The local runner (reproduce.ts) and the job queue (src/queue) run the
 * same cells, and both make the results from their outcomes with `sweepResults`.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { DatasetKind } from '../data/load.js';
import { SkelpruneError } from '../errors.js';
import { compactionPlan, type PrunedCost } from '../model/compaction.js';
import type { SkeletonGcn } from '../model/gcn.js';
import { BUDGET_KINDS, type BudgetKind } from '../prune/budget.js';
import { type PruneConfig, resolvePruneConfig } from '../prune/config.js';
import { METHODS, type MethodName } from '../prune/methods.js';
import { flopTotals, structuredShare } from '../prune/report.js';
import { type PruneJob, type PruneResult, savedPruneResult } from '../prune/run.js';
import {
  type Checkpoint,
  checkpointMasks,
  loadCheckpoint,
  modelFromCheckpoint,
} from '../train/checkpoint.js';
import {
  type FoldEvent,
  type FoldJob,
  type FoldResult,
  loadRunDataset,
  runProtocol,
  savedFoldResult,
} from '../train/experiment.js';
import { type JobSpec, jobSpec } from '../train/jobs.js';
import { type ClassificationMetrics, meanMetrics } from '../train/metrics.js';
import { resolveRunConfig } from '../train/run-config.js';
import { writeJsonAtomic } from '../util/fs.js';
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
import { savedSpeed, type TimingEvent, type TimingJob } from './timing.js';

/** The settings of a reproduction that decide its cells. */
export interface SweepSettings {
  dataset: DatasetKind;
  path?: string;
  rates: number[];
  /** Methods, each optionally with its own budget: `ctf`, `ctf@weights+flops` (see parseMethodSpec). */
  methods: string[];
  out: string;
  seed: number;
  /** Pruning runs per method and rate, with seeds seed, seed + 1, ..., from the same dense models. */
  pruneSeeds: number;
  /** Settings for the dense training and for pruning (config keys, as for train and prune). */
  train: Record<string, unknown>;
  prune: Record<string, unknown>;
  /** Timed batch-1 calls per exported model. */
  speedRepeats: number;
  /** Recorded in every checkpoint's provenance (not part of any cell's identity). */
  command: string;
  /** Recorded in the dense settings (not part of any cell's identity). */
  jobs?: number;
}

interface CellBase {
  /** `<kind>-<hash of the kind and the arguments, less the command line and the parallelism>`. */
  id: string;
  /** What the progress view and the reports call it, e.g. `ctf 90% fold 2`. */
  label: string;
  /** The cell whose result this one starts from; null for a dense fold. */
  after: string | null;
  /** Units of work for progress: epochs of training or pruning, 1 for a timing. */
  work: number;
  /** Cells whose units cost the same: `dense`, the method's label, `timing`. */
  group: string;
}

/** One job of a reproduction. */
export type SweepCell = CellBase &
  (
    | { kind: 'dense'; args: FoldJob }
    | { kind: 'prune'; args: PruneJob }
    | { kind: 'timing'; args: TimingJob }
  );

/** The kinds of cells, in the order a local run takes them. */
export type CellKind = SweepCell['kind'];

/** What a cell reports while it runs (sent from worker processes too). */
export type CellEvent = FoldEvent | TimingEvent;

/** How a cell ended: its result, or why there is none. */
export type CellOutcome = { ok: true; result: unknown } | { ok: false; error: string };

/** A pruned row of the tables: one method and rate, its cells by seed and fold, and its timing. */
interface PlannedRow {
  config: PruneConfig;
  cells: string[][];
  timing: string;
}

/** Every cell of a reproduction, and how their results make the tables. */
export interface SweepPlan {
  cells: SweepCell[];
  /** The output folder and the dataset's folder (null for synthetic data), as given. */
  out: string;
  data: string | null;
  command: string;
  dataset: ReproduceResults['dataset'];
  classNames: string[];
  /** Each run folder's resolved settings, as `train` and `prune` save them (config.json). */
  settings: [string, object][];
  /** The dense folds, their timing, and their controls with the epochs they add (none when off). */
  dense: { folds: string[]; timing: string; controls: string[]; controlEpochs: number };
  rows: PlannedRow[];
  seeds: number[];
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

/** JSON with keys sorted at every level, so equal values hash the same whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * A cell's id: a hash of what decides its result, its arguments (less the command line recorded and
 * the parallelism) and the id of the cell whose result it starts from.
 */
export function cellId(kind: CellKind, args: object, after: string | null = null): string {
  const { command: _command, ...spec } = args as { command?: string; config?: object };
  const config = spec.config && { ...spec.config, jobs: undefined };
  const hash = createHash('sha256')
    .update(canonicalJson({ kind, ...spec, config, after }))
    .digest('hex');
  return `${kind}-${hash.slice(0, 24)}`;
}

/** The cells and the layout of the tables: dense folds, then each method × rate, then the timings. */
export async function planSweep(options: SweepSettings): Promise<SweepPlan> {
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
  const seeds = Array.from({ length: options.pruneSeeds }, (_, s) => options.seed + s);
  const foldDir = (dir: string, k: number) => join(dir, `fold-${k + 1}`);
  const runDir = (config: PruneConfig) => join(options.out, runLabel(config), rateLabel(config.rate));
  const cells: SweepCell[] = [];
  const add = (cell: Omit<CellBase, 'id'> & Pick<SweepCell, 'kind' | 'args'>) => {
    const id = cellId(cell.kind, cell.args, cell.after);
    cells.push({ ...cell, id } as SweepCell);
    return id;
  };

  const denseRuns = folds.map((k) => {
    const args: FoldJob = {
      config: denseConfig,
      foldIndex: k,
      dir: foldDir(denseConfig.out!, k),
      command: options.command,
    };
    const id = add({
      kind: 'dense',
      args,
      label: `dense fold ${k + 1}`,
      after: null,
      work: denseConfig.epochs,
      group: 'dense',
    });
    return { id, checkpoint: join(args.dir, 'model.ckpt') };
  });
  const denseExport = { checkpoint: denseRuns[0].checkpoint, skp: join(options.out, 'dense', 'model.skp') };
  const timingOf = (label: string, run: TimingJob, after: string) =>
    add({ kind: 'timing', args: run, label: `timing ${label}`, after, work: 1, group: 'timing' });
  const denseTiming = timingOf(
    'dense',
    { ...denseExport, dense: null, repeats: options.speedRepeats },
    denseRuns[0].id,
  );

  // The control: each dense fold trained the pruning runs' extra epochs, nothing pruned.
  const controlConfig = pruneConfigs.find((c) => c.control);
  const controls = controlConfig
    ? folds.map((k, f) =>
        add({
          kind: 'prune',
          args: {
            config: controlConfig,
            checkpoint: denseRuns[f].checkpoint,
            dir: foldDir(join(options.out, 'dense-control'), k),
            command: options.command,
            control: true,
          },
          label: `dense control fold ${k + 1}`,
          after: denseRuns[f].id,
          work: controlConfig.pruneEpochs + controlConfig.finetuneEpochs,
          group: 'dense control',
        }),
      )
    : [];

  // Per method and rate: every seed's folds, the first seed's in the folder an unseeded run uses.
  const rows = pruneConfigs.map((config): PlannedRow => {
    const name = `${runLabel(config)} ${rateLabel(config.rate)}`;
    const bySeed = seeds.map((seed) =>
      folds.map((k, f) => {
        const dir = foldDir(seed === options.seed ? runDir(config) : join(runDir(config), `seed-${seed}`), k);
        const args: PruneJob = {
          config: { ...config, seed },
          checkpoint: denseRuns[f].checkpoint,
          dir,
          command: options.command,
        };
        const label = `${name}${seeds.length > 1 ? ` seed ${seed}` : ''} fold ${k + 1}`;
        const work = config.pruneEpochs + config.finetuneEpochs;
        return {
          id: add({ kind: 'prune', args, label, after: denseRuns[f].id, work, group: runLabel(config) }),
          dir,
        };
      }),
    );
    const first = {
      checkpoint: join(bySeed[0][0].dir, 'model.ckpt'),
      skp: join(runDir(config), 'model.skp'),
    };
    const timing = timingOf(
      name,
      { ...first, dense: denseExport, repeats: options.speedRepeats },
      bySeed[0][0].id,
    );
    return { config, cells: bySeed.map((s) => s.map((c) => c.id)), timing };
  });
  return {
    cells: sortCells(cells),
    out: options.out,
    data: options.dataset === 'synthetic' ? null : (options.path ?? null),
    command: options.command,
    dataset: { name: dataset.name, title: dataset.title, protocol, folds: folds.length },
    classNames: [...dataset.classNames],
    settings: [[denseConfig.out!, denseConfig], ...pruneConfigs.map((c): [string, object] => [runDir(c), c])],
    dense: {
      folds: denseRuns.map((r) => r.id),
      timing: denseTiming,
      controls,
      controlEpochs: controlConfig ? controlConfig.pruneEpochs + controlConfig.finetuneEpochs : 0,
    },
    rows,
    seeds,
  };
}

const KIND_ORDER: readonly CellKind[] = ['dense', 'prune', 'timing'];

/** Dense folds first, then pruning, then timings, each in the order planned. */
const sortCells = (cells: SweepCell[]) => KIND_ORDER.flatMap((kind) => cells.filter((c) => c.kind === kind));

/** Writes each run folder's resolved settings (config.json), as `train` and `prune` do. */
export async function writeRunSettings(plan: SweepPlan): Promise<void> {
  for (const [folder, config] of plan.settings) await writeJsonAtomic(join(folder, 'config.json'), config);
}

const CELL_FUNCTIONS: Record<CellKind, [module: string, fn: string]> = {
  dense: ['../train/experiment.js', 'trainFold'],
  prune: ['../prune/run.js', 'pruneFold'],
  timing: ['./timing.js', 'timeRun'],
};

/** The job that runs a cell, in this process or a worker process (see runJobs). */
export function cellJob(cell: SweepCell): JobSpec {
  const [module, fn] = CELL_FUNCTIONS[cell.kind];
  return jobSpec(module, import.meta.url, fn, cell.args);
}

/** The result a cell saved when it finished; null when it has not (it then runs in full). */
export function savedCellResult(cell: SweepCell): Promise<unknown> {
  switch (cell.kind) {
    case 'dense':
      return savedFoldResult(cell.args);
    case 'prune':
      return savedPruneResult(cell.args);
    case 'timing':
      return savedSpeed(cell.args);
  }
}

/**
 * Work a cell's event reports done, or null: after an epoch, the cell's epochs done so far (a pruning
 * cell's fine-tuning epochs come after its pruning ones), after a timing its one unit.
 */
export function cellWork(cell: SweepCell, event: CellEvent): { done: number; seconds: number } | null {
  if (event.type === 'timed') return { done: 1, seconds: event.seconds };
  if (event.type !== 'epoch') return null;
  const { epoch, seconds } = event.record;
  return { done: event.phase === 'prune' ? epoch : cell.work - (event.epochs - epoch), seconds };
}

/** Whether an event says a cell has started its work (not sent by a cell whose result was saved). */
export const cellStarted = (event: CellEvent) => event.type === 'start' || event.type === 'timing';

/** The cells that failed, or could not run, as the reports name them; with a failed dense fold, an error. */
function failures(
  plan: SweepPlan,
  outcomes: ReadonlyMap<string, CellOutcome>,
): { cell: string; error: string }[] {
  return plan.cells.flatMap((cell) => {
    const outcome = outcomes.get(cell.id);
    return outcome && !outcome.ok ? [{ cell: cell.label, error: outcome.error }] : [];
  });
}

/**
 * The figures of every run from its cells' outcomes, with the failed cells named (`failures`): a row
 * with a failed pruning cell is left out, one whose timing failed has no speed. Without every dense
 * fold there is no baseline to report against, so that is an error naming what failed.
 */
export async function sweepResults(
  plan: SweepPlan,
  outcomes: ReadonlyMap<string, CellOutcome>,
  provenance: Provenance,
): Promise<ReproduceResults> {
  const failed = failures(plan, outcomes);
  const result = <T>(id: string): T | null => {
    const outcome = outcomes.get(id);
    return outcome?.ok ? (outcome.result as T) : null;
  };
  const denseResults = plan.dense.folds.map((id) => result<FoldResult>(id));
  if (denseResults.some((r) => r === null)) {
    const list = failed.map((f) => `${f.cell}: ${f.error}`).join('; ');
    throw new SkelpruneError(`no report without every dense fold; ${failed.length} cell(s) failed: ${list}`);
  }
  const dense = denseResults as FoldResult[];
  const denseCheckpoint = await loadCheckpoint(dense[0].checkpoint);
  const controls = plan.dense.controls.map((id) => result<PruneResult>(id));
  const complete = controls.length > 0 && controls.every((c) => c !== null);
  const control = complete ? controlFigures(controls as PruneResult[], plan.dense.controlEpochs) : undefined;
  const runs: RunFigures[] = [
    { ...denseFigures(dense, denseCheckpoint, result(plan.dense.timing)), ...(control ? { control } : {}) },
  ];
  for (const row of plan.rows) {
    const bySeed = row.cells.map((ids) => ids.map((id) => result<PruneResult>(id)));
    if (bySeed.some((r) => r.some((f) => f === null))) continue;
    const complete = bySeed as PruneResult[][];
    const checkpoint = await loadCheckpoint(complete[0][0].checkpoint);
    runs.push(prunedFigures(complete, plan.seeds, checkpoint, result(row.timing)));
  }
  return {
    dataset: plan.dataset,
    provenance,
    classNames: plan.classNames,
    runs,
    ...(failed.length > 0 ? { failures: failed } : {}),
  };
}

/** The control's accuracies: its folds, their means, and the extra epochs it trained. */
function controlFigures(results: readonly PruneResult[], epochs: number): NonNullable<RunFigures['control']> {
  const { top1, meanClass, folds } = seedFigures(results, 0);
  return { epochs, top1, meanClass, folds };
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
  speed: SpeedFigures | null,
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
  speed: SpeedFigures | null,
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
