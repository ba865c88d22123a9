/**
 * `reproduce --queue`: the cells of a sweep run by `skelprune worker` processes on any machines. The
 * runner records the sweep, adds every cell that is neither finished nor in the queue, then follows
 * the queue until every cell has ended (done, failed after its retries, or unable to run because one
 * it needs failed), reporting one progress across the workers. Interrupted and started again, it finds
 * the same sweep (same cells, same ids) and adds only what is missing.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlowProducer, Queue } from 'bullmq';
import { throwIfCancelled } from '../errors.js';
import type { PhaseTime } from '../report/provenance.js';
import {
  CELL_PHASES,
  type CellCounts,
  type CellRunner,
  cellMeter,
  type ReproduceProgress,
} from '../report/reproduce.js';
import { type CellOutcome, type SweepCell, type SweepPlan, savedCellResult } from '../report/sweep.js';
import { note } from '../util/notes.js';
import { skelpruneVersion } from '../util/version.js';
import { openQueue } from './connection.js';
import { cellFlow, dependantsOf, type RetryPolicy } from './flows.js';
import {
  type CellProgress,
  type CellStatus,
  cellStatuses,
  countCells,
  countsLine,
  failureReasons,
  jobsOf,
  markFinished,
  readStates,
  registerSweep,
  runningCells,
  type SweepPlace,
  sweepEnded,
  workerNames,
} from './sweeps.js';
import { redactUrl } from './url.js';

/** Options of a sweep on the job queue. */
export interface QueueRunOptions {
  /** The Redis URL (`redis://` or `rediss://`). */
  url: string;
  /** How failed cells are retried. */
  retry: RetryPolicy;
}

/** Milliseconds between two looks at the queue. */
const LOOK_INTERVAL_MS = 1000;

/** A sweep's id: a hash of its cells' ids, so the same command finds the same sweep. */
function sweepId(plan: SweepPlan): string {
  const hash = createHash('sha256');
  for (const id of plan.cells.map((c) => c.id).sort()) hash.update(`${id}\n`);
  return hash.digest('hex').slice(0, 16);
}

/** Runs a plan's cells on the job queue at `options.url` (see the module's comment). */
export function queueCells(options: QueueRunOptions): CellRunner {
  return async (plan, { onProgress, signal }) => {
    const connection = await openQueue(options.url, note);
    try {
      return await followSweep(connection.queue, connection.flows, plan, options, onProgress, signal);
    } finally {
      await connection.close();
    }
  };
}

async function followSweep(
  queue: Queue,
  flows: FlowProducer,
  plan: SweepPlan,
  options: QueueRunOptions,
  onProgress: (p: ReproduceProgress) => void,
  signal: AbortSignal | undefined,
) {
  const place: SweepPlace = {
    id: sweepId(plan),
    out: plan.out,
    data: plan.data,
    version: skelpruneVersion(),
  };
  const cellRefs = plan.cells.map(({ id, kind, label, after }) => ({ id, kind, label, after }));
  await registerSweep(queue, {
    ...place,
    command: plan.command,
    created: new Date().toISOString(),
    host: hostname(),
    cells: cellRefs,
  });
  // Cells the queue does not list but whose results are in the folder are done: never enqueued again.
  let states = await readStates(queue, plan.cells);
  const saved = new Set<string>();
  for (const cell of plan.cells) {
    if (states.get(cell.id) === 'unknown' && (await savedCellResult(cell)) !== null) saved.add(cell.id);
  }
  const dependants = dependantsOf(plan.cells.filter((c) => !saved.has(c.id)));
  let counts = countCells(cellStatuses(plan.cells, states, saved));
  let workers: string[] = [];
  const meter = cellMeter(plan, (p) =>
    onProgress({
      ...p,
      status: `${countsLine(counts)} · ${workers.length} worker(s) · ${p.status}`,
      cells: counts,
    }),
  );
  const follow = progressFollower(meter);
  for (let look = 0; ; look++) {
    let statuses = cellStatuses(plan.cells, states, saved);
    const missing = plan.cells.filter((c) => statuses.get(c.id) === 'missing');
    if (missing.length > 0) {
      await flows.addBulk(missing.map((c) => cellFlow(c, place, dependants, options.retry)));
      states = await readStates(queue, plan.cells);
      statuses = cellStatuses(plan.cells, states, saved);
    }
    counts = countCells(statuses);
    workers = await workerNames(queue);
    if (look === 0) announce(place, options.url, counts, missing.length, workers.length);
    await follow(queue, plan, statuses);
    if (sweepEnded(counts)) return finish(queue, plan, place, statuses);
    try {
      await sleep(LOOK_INTERVAL_MS, undefined, { signal });
    } catch {
      throwIfCancelled(signal);
    }
    states = await readStates(queue, plan.cells);
  }
}

/** The first line about a sweep: what was found, what was enqueued, and who will run it. */
function announce(place: SweepPlace, url: string, counts: CellCounts, added: number, workers: number): void {
  note(
    `sweep ${place.id.slice(0, 8)} on ${redactUrl(url)}: ${counts.total} cells, ${counts.done} done before, ${added} enqueued now; ${countsLine(counts)}. Interrupting this command leaves the sweep to the workers; the same command re-attaches to it`,
  );
  if (workers === 0 && !sweepEnded(counts))
    note(
      `no worker is connected yet: start skelprune worker --queue ${redactUrl(url)} on each worker machine`,
    );
  if (counts.failed > 0)
    note(
      `${counts.failed} cell(s) failed before and stay failed: skelprune queue retry --queue ${redactUrl(url)} runs them again`,
    );
}

/**
 * Feeds the progress meter from the queue: cells that ended are finished, cells waiting again no
 * longer shown running, and running ones report the epochs their attempt measured since the last
 * look (progress is per attempt, keyed by its start).
 */
function progressFollower(meter: ReturnType<typeof cellMeter>) {
  const ended = new Set<string>();
  const seen = new Map<string, CellProgress>();
  return async (queue: Queue, plan: SweepPlan, statuses: ReadonlyMap<string, CellStatus>) => {
    for (const cell of plan.cells) {
      const status = statuses.get(cell.id);
      if (status === 'running' || ended.has(cell.id)) continue;
      if (status === 'done' || status === 'failed' || status === 'blocked') {
        ended.add(cell.id);
        meter.finish(cell.id);
      } else meter.stop(cell.id); // handed back, or its worker lost: waiting again
    }
    for (const { cell, worker, progress, startedAt } of await runningCells(queue, plan.cells, statuses)) {
      const label = `${cell.label} (${worker})`;
      const key = `${cell.id}@${startedAt}`;
      const last = seen.get(key) ?? { done: 0, total: 0, measured: 0, seconds: 0 };
      if (progress && progress.measured > last.measured) {
        meter.epoch(
          cell.id,
          progress.done,
          progress.seconds - last.seconds,
          label,
          progress.measured - last.measured,
        );
        seen.set(key, progress);
      } else meter.start(cell.id, label);
    }
  };
}

/**
 * The outcome of every cell once the sweep has ended: a done cell's result from the output folder
 * (the one source of results, whoever ran it), a failed one's last error; and the phases' wall times
 * from the jobs' start and finish times.
 */
async function finish(
  queue: Queue,
  plan: SweepPlan,
  place: SweepPlace,
  statuses: ReadonlyMap<string, CellStatus>,
): Promise<{ outcomes: Map<string, CellOutcome>; phases: PhaseTime[] }> {
  const reasons = new Map(
    (await failureReasons(queue, plan.cells, statuses)).map((r) => [r.cell.id, r.error.split('\n')[0]]),
  );
  const outcomes = new Map<string, CellOutcome>();
  for (const cell of plan.cells) {
    const reason = reasons.get(cell.id);
    const result = reason === undefined ? await savedCellResult(cell) : null;
    outcomes.set(
      cell.id,
      result !== null
        ? { ok: true, result }
        : { ok: false, error: reason ?? `finished, but its result is missing from ${place.out}` },
    );
  }
  await markFinished(queue, place.id);
  return { outcomes, phases: await phases(queue, plan.cells, statuses) };
}

/** Per kind of cell, from the first start to the last finish of its jobs in the queue. */
async function phases(
  queue: Queue,
  cells: readonly SweepCell[],
  statuses: ReadonlyMap<string, CellStatus>,
): Promise<PhaseTime[]> {
  const done = await jobsOf(queue, cells, statuses, 'done');
  return (Object.keys(CELL_PHASES) as SweepCell['kind'][]).flatMap((kind) => {
    const jobs = done.filter(({ cell }) => cell.kind === kind).map(({ job }) => job);
    if (jobs.length === 0) return [];
    const start = Math.min(...jobs.map((j) => j.processedOn ?? Number.POSITIVE_INFINITY));
    const end = Math.max(...jobs.map((j) => j.finishedOn ?? 0));
    return [{ phase: CELL_PHASES[kind], seconds: Math.max(0, end - start) / 1000 }];
  });
}
