/**
 * `skelprune reproduce`: the paper's protocol in one run. The dense baseline is trained on every fold,
 * every method is applied at every rate on every fold from that baseline, and each fold-1 model is
 * exported and timed. These are the cells of the sweep (sweep.ts); a runner runs them, here (`localCells`)
 * or on a job queue (src/queue), and the results come from their outcomes either way. Every cell writes
 * its own result and is skipped when found again, so an interrupted run resumes where it stopped.
 */
import os from 'node:os';
import { runJobs } from '../train/jobs.js';
import { codeState, datasetFingerprint, PhaseClock, type PhaseTime } from './provenance.js';
import type { Provenance, ReproduceResults } from './results.js';
import {
  type CellEvent,
  type CellKind,
  type CellOutcome,
  cellJob,
  cellStarted,
  cellWork,
  planSweep,
  type SweepPlan,
  type SweepSettings,
  sweepResults,
  writeRunSettings,
} from './sweep.js';

export { parseMethodSpec, runLabel } from './sweep.js';

/** How many cells of a sweep are in each state (reported by a sweep on a job queue). */
export interface CellCounts {
  /** Finished, now or earlier. */
  done: number;
  /** Running on a worker. */
  running: number;
  /** Failed after their retries, or unable to run because a cell they need failed. */
  failed: number;
  /** Queued, retrying after a failure, or waiting for the cell they start from. */
  waiting: number;
  /** Every cell of the sweep. */
  total: number;
}

/** Overall progress of `reproduce`. */
export interface ReproduceProgress {
  /** Fraction of all work done: epochs and timing steps, weighed by their measured seconds. */
  fraction: number;
  /**
   * What is running now: the jobs' labels joined by ` · `, the first three and a count of the others
   * (`starting` before any); on a job queue, after the cells' counts and the workers connected.
   */
  status: string;
  /** With a job queue: the cells in each state. */
  cells?: CellCounts;
}

/** What a runner reports: each cell's outcome (by cell id) and the wall time of each phase. */
export interface CellRun {
  outcomes: Map<string, CellOutcome>;
  phases: PhaseTime[];
}

/** Runs every cell of a plan, reporting the progress of the whole; a cancelled run rejects. */
export type CellRunner = (
  plan: SweepPlan,
  context: { onProgress: (p: ReproduceProgress) => void; signal?: AbortSignal },
) => Promise<CellRun>;

export interface ReproduceOptions extends SweepSettings {
  /** Runs the cells (default `localCells(1)`). */
  run?: CellRunner;
  version: string;
  /** Stops the reproduction; finished cells are kept and skipped when it is run again. */
  signal?: AbortSignal;
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

/** Running jobs named in the status; the others are counted. */
const SHOWN_RUNNING = 3;

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

  /** Epoch `done` of a job has ended; the `epochs` epochs measured since the last call took `seconds`. */
  epoch(job: string, done: number, seconds: number, label: string, epochs = 1): void {
    const entry = this.jobs.get(job)!;
    const cost = this.costs.get(entry.kind) ?? { seconds: 0, epochs: 0 };
    this.costs.set(entry.kind, { seconds: cost.seconds + seconds, epochs: cost.epochs + epochs });
    entry.done = Math.min(done, entry.total);
    if (entry.done < entry.total) this.running.set(job, label);
    else this.running.delete(job);
    this.emit();
  }

  /** A job stopped before its end and waits to run again (its work done so far is kept). */
  stop(job: string): void {
    if (this.running.delete(job)) this.emit();
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
    const running = [...this.running.values()];
    const shown = running.slice(0, SHOWN_RUNNING).join(' · ');
    const more = running.length > SHOWN_RUNNING ? ` · +${running.length - SHOWN_RUNNING} more` : '';
    this.report({
      fraction: total > 0 ? Math.min(1, done / total) : 0,
      status: `${shown}${more}` || 'starting',
    });
  }
}

/** A WorkMeter planned with every cell of a plan. */
export function cellMeter(plan: SweepPlan, report: (p: ReproduceProgress) => void): WorkMeter {
  const meter = new WorkMeter(report);
  for (const cell of plan.cells) meter.plan(cell.id, cell.group, cell.work);
  return meter;
}

/** The phase of each kind of cell, as the provenance names it. */
export const CELL_PHASES: Readonly<Record<CellKind, string>> = {
  dense: 'dense training',
  prune: 'pruning and fine-tuning',
  timing: 'export and timing',
};

/** The local phases: each kind of cell in turn, timings one at a time (they need a quiet machine). */
const LOCAL_PHASES: readonly { kind: CellKind; alone: boolean }[] = [
  { kind: 'dense', alone: false },
  { kind: 'prune', alone: false },
  { kind: 'timing', alone: true },
];

/**
 * Runs the cells on this machine, at most `jobs` at a time in worker processes (see runJobs); the
 * first failure stops the run.
 */
export function localCells(jobs: number): CellRunner {
  return async (plan, { onProgress, signal }) => {
    const meter = cellMeter(plan, onProgress);
    const clock = new PhaseClock();
    const outcomes = new Map<string, CellOutcome>();
    for (const { kind, alone } of LOCAL_PHASES) {
      const cells = plan.cells.filter((c) => c.kind === kind);
      await clock.time(CELL_PHASES[kind], () =>
        runJobs<unknown, CellEvent>(
          cells.map(cellJob),
          alone ? 1 : jobs,
          (i, event) => {
            const cell = cells[i];
            if (cellStarted(event)) meter.start(cell.id, cell.label);
            const work = cellWork(cell, event);
            if (work) meter.epoch(cell.id, work.done, work.seconds, cell.label);
          },
          {
            signal,
            onResult: (i, result) => {
              outcomes.set(cells[i].id, { ok: true, result });
              meter.finish(cells[i].id);
            },
          },
        ),
      );
    }
    return { outcomes, phases: clock.phases };
  };
}

/** Plans the sweep, runs its cells and makes the results from their outcomes. */
export async function reproduce(
  options: ReproduceOptions,
  onProgress: (p: ReproduceProgress) => void,
): Promise<ReproduceResults> {
  const plan = await planSweep(options);
  await writeRunSettings(plan);
  const run = options.run ?? localCells(1);
  const { outcomes, phases } = await run(plan, { onProgress, signal: options.signal });
  return sweepResults(plan, outcomes, await provenance(options, phases));
}
