/**
 * Sweeps on the job queue: what Redis records of each (its cells, output folder and dataset), the
 * marker file that proves a machine sees its output folder, and the state of its cells, read from
 * BullMQ: the one view behind the progress of `reproduce --queue` and `skelprune queue status`.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Job, JobState, Queue } from 'bullmq';
import type { CellCounts } from '../report/reproduce.js';
import type { SweepCell } from '../report/sweep.js';
import { writeJsonAtomic } from '../util/fs.js';
import { skelpruneVersion } from '../util/version.js';

/** A cell as the registry keeps it: enough to follow its state without its arguments. */
export type CellRef = Pick<SweepCell, 'id' | 'kind' | 'label' | 'after'>;

/** Where a sweep's cells read and write: every worker must see both at these paths. */
export interface SweepPlace {
  /** The sweep's id: a hash of its cells' ids. */
  id: string;
  /** The output folder (absolute), on a file system every worker shares. */
  out: string;
  /** The dataset's folder (absolute); null for synthetic data. */
  data: string | null;
  /** The skelprune version that planned it: every worker must run the same. */
  version: string;
}

/** What Redis records of a sweep. */
export interface SweepRecord extends SweepPlace {
  /** The command that started it. */
  command: string;
  /** When it was first enqueued (ISO 8601), and from which machine. */
  created: string;
  host: string;
  /** When a `reproduce` waiting on it saw every cell end (ISO 8601); absent while it runs. */
  finished?: string;
  cells: CellRef[];
}

const REGISTRY = 'skelprune:sweeps';

/** The job that adds a cell's dependants to the queue once the cell is done (see flows.ts). */
export const gateId = (cellId: string) => `gate-${cellId}`;

/** The marker a sweep leaves in its output folder; a worker that cannot see it cannot see the folder. */
const markerPath = (sweep: SweepPlace) => join(sweep.out, '.sweeps', `${sweep.id}.json`);

/**
 * Records a sweep in Redis (again: as running, keeping when and where it was first started) and its
 * marker in its output folder.
 */
export async function registerSweep(queue: Queue, record: SweepRecord): Promise<SweepRecord> {
  const client = await queue.client;
  const saved = await client.hget(REGISTRY, record.id);
  const first = saved ? (JSON.parse(saved) as SweepRecord) : record;
  const merged = { ...record, created: first.created, host: first.host };
  await writeJsonAtomic(markerPath(merged), {
    sweep: merged.id,
    command: merged.command,
    created: merged.created,
    host: merged.host,
  });
  await client.hset(REGISTRY, { [record.id]: JSON.stringify(merged) });
  return merged;
}

/** Every sweep recorded in Redis, oldest first. */
export async function listSweeps(queue: Queue): Promise<SweepRecord[]> {
  const client = await queue.client;
  const records = Object.values(await client.hgetall(REGISTRY)).map((v) => JSON.parse(v) as SweepRecord);
  return records.sort((a, b) => (a.created < b.created ? -1 : 1));
}

/** Marks a sweep finished, or running again (it stays listed until `queue clean`). */
export async function markFinished(queue: Queue, id: string, finished = true): Promise<void> {
  const client = await queue.client;
  const saved = await client.hget(REGISTRY, id);
  if (!saved) return;
  const record: SweepRecord = {
    ...JSON.parse(saved),
    finished: finished ? new Date().toISOString() : undefined,
  };
  await client.hset(REGISTRY, { [id]: JSON.stringify(record) });
}

/** Forgets a sweep (its files stay). */
export async function forgetSweep(queue: Queue, id: string): Promise<void> {
  await (await queue.client).hdel(REGISTRY, id);
}

/**
 * Why this machine cannot run a sweep's cells (it does not see the output folder or the dataset, or
 * runs another skelprune version), or null when it can.
 */
export function workerProblem(sweep: SweepPlace): string | null {
  if (sweep.version !== skelpruneVersion())
    return `this machine (${hostname()}) runs skelprune ${skelpruneVersion()}, but sweep ${sweep.id.slice(0, 8)} was planned by skelprune ${sweep.version}: install the same version on every machine`;
  if (!existsSync(markerPath(sweep)))
    return `this machine (${hostname()}) does not see the output folder ${sweep.out} of sweep ${sweep.id.slice(0, 8)} (no ${markerPath(sweep)}): mount the shared folder at that same path on every worker (docs/distributed.md)`;
  if (sweep.data !== null && !existsSync(sweep.data))
    return `this machine (${hostname()}) does not see the dataset folder ${sweep.data} of sweep ${sweep.id.slice(0, 8)}: make it readable at that same path on every worker (docs/distributed.md)`;
  return null;
}

/** Where a cell stands. */
export type CellStatus =
  /** Finished (in the queue, or its result found in the output folder). */
  | 'done'
  | 'running'
  /** Failed after its retries. */
  | 'failed'
  /** Cannot run: a cell it needs failed. */
  | 'blocked'
  /** In the queue, waiting for a worker (or for its retry's delay). */
  | 'queued'
  /** Not in the queue yet: the gate of the cell it needs adds it. */
  | 'held'
  /** Not in the queue and nothing will add it: the runner must (it is new, or was dropped). */
  | 'missing';

const PENDING: ReadonlySet<JobState | 'unknown'> = new Set([
  'waiting',
  'prioritized',
  'delayed',
  'waiting-children',
  'active',
]);

/** The BullMQ state of every cell of a sweep, and of every gate (the cells others start from). */
export async function readStates(
  queue: Queue,
  cells: readonly CellRef[],
): Promise<Map<string, JobState | 'unknown'>> {
  const gates = [...new Set(cells.flatMap((c) => (c.after ? [gateId(c.after)] : [])))];
  const ids = [...cells.map((c) => c.id), ...gates];
  const states = await Promise.all(ids.map((id) => queue.getJobState(id)));
  return new Map(ids.map((id, i) => [id, states[i]]));
}

/**
 * Each cell's status from the BullMQ states. `saved` holds the cells whose results were found in the
 * output folder (done even when the queue no longer lists them). Cells come after the cell they need.
 */
export function cellStatuses(
  cells: readonly CellRef[],
  states: ReadonlyMap<string, JobState | 'unknown'>,
  saved: ReadonlySet<string> = new Set(),
): Map<string, CellStatus> {
  const status = new Map<string, CellStatus>();
  for (const cell of cells) {
    const state = states.get(cell.id) ?? 'unknown';
    const before = cell.after === null ? null : status.get(cell.after);
    if (state === 'completed' || (state === 'unknown' && saved.has(cell.id))) status.set(cell.id, 'done');
    else if (state === 'active') status.set(cell.id, 'running');
    else if (state === 'failed') status.set(cell.id, 'failed');
    else if (before === 'failed' || before === 'blocked') status.set(cell.id, 'blocked');
    else if (state !== 'unknown') status.set(cell.id, 'queued');
    else if (
      before !== null &&
      (before !== 'done' || PENDING.has(states.get(gateId(cell.after!)) ?? 'unknown'))
    )
      status.set(cell.id, 'held');
    else status.set(cell.id, 'missing');
  }
  return status;
}

/** How many cells are in each state. */
export function countCells(statuses: ReadonlyMap<string, CellStatus>): CellCounts {
  const counts: CellCounts = { done: 0, running: 0, failed: 0, waiting: 0, total: statuses.size };
  for (const status of statuses.values()) {
    if (status === 'done' || status === 'running') counts[status]++;
    else if (status === 'failed' || status === 'blocked') counts.failed++;
    else counts.waiting++;
  }
  return counts;
}

/** One line of counts, as the progress view shows them. */
export function countsLine(counts: CellCounts): string {
  return `${counts.done}/${counts.total} done · ${counts.running} running · ${counts.failed} failed · ${counts.waiting} waiting`;
}

/** Whether every cell has ended: done, failed, or unable to run because one it needs failed. */
export const sweepEnded = (counts: CellCounts) => counts.running === 0 && counts.waiting === 0;

/** What a running cell reports in its job's progress (see worker.ts). */
export interface CellProgress {
  /** Units of work done (epochs; 1 for a timing), of `total`. */
  done: number;
  total: number;
  /** Epochs measured by this attempt so far, and the seconds they took. */
  measured: number;
  seconds: number;
}

/** A running cell: its job, the worker running it and its progress. */
export interface RunningCell {
  cell: CellRef;
  worker: string;
  progress: CellProgress | null;
  /** When this attempt started (ms since the epoch). */
  startedAt: number;
}

/** The jobs of the cells with a status, as BullMQ has them. */
export async function jobsOf(
  queue: Queue,
  cells: readonly CellRef[],
  statuses: ReadonlyMap<string, CellStatus>,
  wanted: CellStatus,
): Promise<{ cell: CellRef; job: Job }[]> {
  const chosen = cells.filter((c) => statuses.get(c.id) === wanted);
  const jobs = await Promise.all(chosen.map((c) => queue.getJob(c.id)));
  return chosen.flatMap((cell, i) => (jobs[i] ? [{ cell, job: jobs[i] }] : []));
}

/** The running cells of a sweep, from their jobs. */
export async function runningCells(
  queue: Queue,
  cells: readonly CellRef[],
  statuses: ReadonlyMap<string, CellStatus>,
): Promise<RunningCell[]> {
  const running = await jobsOf(queue, cells, statuses, 'running');
  return running.map(({ cell, job }) => ({
    cell,
    worker: job.processedBy ?? 'a worker',
    progress: typeof job.progress === 'object' ? (job.progress as unknown as CellProgress) : null,
    startedAt: job.processedOn ?? 0,
  }));
}

/** Why each failed or blocked cell did not finish: its last error, or the failed cell it needs. */
export async function failureReasons(
  queue: Queue,
  cells: readonly CellRef[],
  statuses: ReadonlyMap<string, CellStatus>,
): Promise<{ cell: CellRef; error: string; attempts: number }[]> {
  const byId = new Map(cells.map((c) => [c.id, c]));
  const failed = await jobsOf(queue, cells, statuses, 'failed');
  const reasons = failed.map(({ cell, job }) => ({
    cell,
    error: job.failedReason || 'failed without a message',
    attempts: job.attemptsMade,
  }));
  for (const cell of cells) {
    if (statuses.get(cell.id) !== 'blocked') continue;
    const needed = byId.get(cell.after!)!;
    reasons.push({ cell, error: `not run: it needs ${needed.label}, which did not finish`, attempts: 0 });
  }
  return reasons;
}

/** The names of the workers connected to the queue (`host:pid`). */
export async function workerNames(queue: Queue): Promise<string[]> {
  const clients = await queue.getWorkers();
  return [...new Set(clients.map((c) => (c.rawname ?? c.name ?? '').split(':w:')[1] ?? 'unnamed'))].sort();
}
