/**
 * `skelprune queue status|retry|clean`: what the job queue holds, sweep by sweep (cells done, running,
 * failed with their errors, waiting), running failed cells again, and dropping what is no longer
 * wanted. Results in the output folders are never touched.
 */
import type { Queue } from 'bullmq';
import { SkelpruneError } from '../errors.js';
import type { CellCounts } from '../report/reproduce.js';
import { openQueue } from './connection.js';
import {
  type CellRef,
  type CellStatus,
  cellStatuses,
  countCells,
  failureReasons,
  forgetSweep,
  gateId,
  listSweeps,
  markFinished,
  readStates,
  runningCells,
  type SweepRecord,
  sweepEnded,
  workerNames,
} from './sweeps.js';
import { redactUrl } from './url.js';

/** Options every `queue` command shares. */
export interface QueueCommandOptions {
  /** The Redis URL of the queue (`redis://` or `rediss://`). */
  queue: string;
  /** Only the sweep whose id starts with this (default: every sweep). */
  sweep?: string;
}

/** One sweep on the queue. */
export interface SweepStatus {
  /** The sweep's id (`reproduce` prints its first 8 characters). */
  id: string;
  /** Its output folder. */
  out: string;
  /** The command that started it. */
  command: string;
  /** When it was first enqueued (ISO 8601). */
  created: string;
  /** The machine that first enqueued it. */
  host: string;
  /** When a `reproduce` waiting on it saw every cell end; null while it runs or was left. */
  finished: string | null;
  /** Its cells in each state. */
  counts: CellCounts;
  /** The running cells. */
  running: {
    /** The cell, e.g. `ctf 90% fold 2`. */
    cell: string;
    /** The worker running it (`host:pid`). */
    worker: string;
    /** Units of work done: epochs (a timing is one unit). */
    done: number;
    /** Units of work in all (0 until the cell reports its first). */
    total: number;
  }[];
  /** The failed cells, and those that cannot run because one they need failed. */
  failed: {
    /** The cell, e.g. `ctf 90% fold 2`. */
    cell: string;
    /** Its last error, or which failed cell it needs. */
    error: string;
    /** Tries made (0 for a cell that could not run). */
    attempts: number;
  }[];
}

/** What `queueStatus` returns. */
export interface QueueStatus {
  /** The queue's URL with its password hidden. */
  url: string;
  /** The workers connected now (`host:pid`). */
  workers: string[];
  /** Every sweep the queue records, oldest first. */
  sweeps: SweepStatus[];
}

/** The sweeps chosen by an id prefix (every sweep without one). */
function chosen(sweeps: SweepRecord[], prefix: string | undefined): SweepRecord[] {
  if (prefix === undefined) return sweeps;
  const matches = sweeps.filter((s) => s.id.startsWith(prefix));
  if (matches.length === 0)
    throw new SkelpruneError(
      `--sweep ${prefix}: no such sweep on the queue (skelprune queue status lists them)`,
    );
  if (matches.length > 1)
    throw new SkelpruneError(
      `--sweep ${prefix}: ${matches.length} sweeps start with it; give more of the id`,
    );
  return matches;
}

/** Each cell's status in a sweep, from the queue alone. */
async function statusesOf(queue: Queue, sweep: SweepRecord): Promise<Map<string, CellStatus>> {
  return cellStatuses(sweep.cells, await readStates(queue, sweep.cells));
}

/** Runs `work` on the queue at `url`, closing it afterwards. */
async function withQueue<T>(url: string, work: (queue: Queue) => Promise<T>): Promise<T> {
  const connection = await openQueue(url, () => {});
  try {
    return await work(connection.queue);
  } finally {
    await connection.close();
  }
}

/** Every sweep on the queue (or the one chosen): its cells' states, the running and the failed ones. */
export function queueStatus(options: QueueCommandOptions): Promise<QueueStatus> {
  return withQueue(options.queue, async (queue) => {
    const sweeps: SweepStatus[] = [];
    for (const sweep of chosen(await listSweeps(queue), options.sweep)) {
      const statuses = await statusesOf(queue, sweep);
      const running = await runningCells(queue, sweep.cells, statuses);
      const failed = await failureReasons(queue, sweep.cells, statuses);
      sweeps.push({
        id: sweep.id,
        out: sweep.out,
        command: sweep.command,
        created: sweep.created,
        host: sweep.host,
        finished: sweep.finished ?? null,
        counts: countCells(statuses),
        running: running.map((r) => ({
          cell: r.cell.label,
          worker: r.worker,
          done: r.progress?.done ?? 0,
          total: r.progress?.total ?? 0,
        })),
        failed: failed.map((f) => ({ cell: f.cell.label, error: f.error, attempts: f.attempts })),
      });
    }
    return { url: redactUrl(options.queue), workers: await workerNames(queue), sweeps };
  });
}

/** The failed jobs of a sweep: its failed cells, and gates that failed to add their cells' dependants. */
async function failedJobs(queue: Queue, sweep: SweepRecord): Promise<{ id: string; label: string }[]> {
  const states = await readStates(queue, sweep.cells);
  const statuses = cellStatuses(sweep.cells, states);
  return sweep.cells.flatMap((cell: CellRef) => [
    ...(statuses.get(cell.id) === 'failed' ? [{ id: cell.id, label: cell.label }] : []),
    ...(states.get(gateId(cell.id)) === 'failed'
      ? [{ id: gateId(cell.id), label: `release after ${cell.label}` }]
      : []),
  ]);
}

/**
 * Runs the failed cells again (of every sweep, or the one chosen) with their attempts counted from
 * zero; the cells that could not run because of them follow once they are done. Returns their labels.
 */
export function retryFailed(options: QueueCommandOptions): Promise<string[]> {
  return withQueue(options.queue, async (queue) => {
    const retried: string[] = [];
    for (const sweep of chosen(await listSweeps(queue), options.sweep)) {
      const failed = await failedJobs(queue, sweep);
      for (const { id, label } of failed) {
        await (await queue.getJob(id))?.retry('failed', {
          resetAttemptsMade: true,
          resetAttemptsStarted: true,
        });
        retried.push(label);
      }
      if (failed.length > 0) await markFinished(queue, sweep.id, false);
    }
    return retried;
  });
}

/** Options of `cleanQueue`. */
export interface CleanOptions extends QueueCommandOptions {
  /** Drop only the failed cells (a later `reproduce` of their sweep enqueues them again). */
  failed?: boolean;
}

/** What `cleanQueue` dropped. */
export interface CleanReport {
  /** The sweeps forgotten (ids). */
  sweeps: string[];
  /** Jobs removed from the queue. */
  jobs: number;
  /** Running cells left to finish (a running job cannot be removed). */
  running: number;
}

/** Removes a job and, through its gate, the flow it heads; false when it (or its child) is running. */
async function removeJob(queue: Queue, id: string): Promise<boolean> {
  const gate = await queue.getJob(gateId(id));
  return (await queue.remove(gate ? gate.id! : id, { removeChildren: true })) === 1;
}

/**
 * Drops from the queue: with `failed`, the failed cells (a later `reproduce` of their sweep enqueues
 * them again); with `sweep`, that sweep whatever its state; otherwise every sweep that has ended.
 * Running cells cannot be dropped and are left to finish.
 */
export function cleanQueue(options: CleanOptions): Promise<CleanReport> {
  return withQueue(options.queue, async (queue) => {
    const report: CleanReport = { sweeps: [], jobs: 0, running: 0 };
    for (const sweep of chosen(await listSweeps(queue), options.sweep)) {
      const statuses = await statusesOf(queue, sweep);
      if (options.failed) {
        for (const cell of sweep.cells.filter((c) => statuses.get(c.id) === 'failed'))
          report.jobs += Number(await removeJob(queue, cell.id));
        continue;
      }
      if (options.sweep === undefined && !sweepEnded(countCells(statuses))) continue;
      // Gates first: removing one removes its cell, and no gate is left to release a removed cell's dependants.
      for (const id of [...sweep.cells.map((c) => gateId(c.id)), ...sweep.cells.map((c) => c.id)]) {
        if (!(await queue.getJob(id))) continue;
        if ((await queue.remove(id, { removeChildren: true })) === 1) report.jobs++;
      }
      report.running += [...statuses.values()].filter((s) => s === 'running').length;
      await forgetSweep(queue, sweep.id);
      report.sweeps.push(sweep.id);
    }
    return report;
  });
}
