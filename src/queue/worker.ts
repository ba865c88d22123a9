/**
 * `skelprune worker`: takes cells from the job queue and runs them until stopped. Each cell runs in a
 * child process (runInChild), so this process stays free to renew its jobs' locks with Redis however
 * long a training step takes. A worker that dies loses its locks: BullMQ sees its jobs stalled and
 * hands them to another worker, which resumes them from their last saved epoch. Stopping (the signal;
 * SIGTERM or Ctrl-C for the command) hands running jobs back the same way, without counting an attempt.
 */
import { availableParallelism, hostname } from 'node:os';
import { type Job, WaitingError, Worker } from 'bullmq';
import { ConfigError, SkelpruneError } from '../errors.js';
import type { PruneResult } from '../prune/run.js';
import type { SpeedFigures } from '../report/results.js';
import {
  type CellEvent,
  cellJob,
  cellStarted,
  cellWork,
  type SweepCell,
  savedCellResult,
} from '../report/sweep.js';
import type { FoldResult } from '../train/experiment.js';
import { runInChild } from '../train/jobs.js';
import { formatPercent } from '../train/metrics.js';
import { connectionOptions, openQueue, QUEUE_NAME } from './connection.js';
import { type CellJobData, GATE, type GateJobData } from './flows.js';
import { type CellProgress, listSweeps, workerProblem } from './sweeps.js';
import { redactUrl } from './url.js';

/** Options of `runWorker`, those of `skelprune worker`, with the same defaults. */
export interface WorkerOptions {
  /** The Redis URL of the queue (`redis://` or `rediss://`). */
  queue: string;
  /** Cells run at once, each in its own process (default 1). */
  concurrency?: number;
  /**
   * Seconds after which the job of a worker that stopped renewing its lock (killed, machine lost) is
   * handed to another worker (default 30).
   */
  stallTimeout?: number;
  /**
   * Stops the worker: it takes no more cells, hands the running ones back to the queue (the next
   * worker resumes each from its last saved epoch) and resolves. When Redis does not answer within
   * 10 s it resolves without handing back (the cells return when their locks expire), and its
   * connections may still be retrying: end the process then.
   */
  signal?: AbortSignal;
  /** One line per thing the worker does: a cell started, finished, failed or handed back. */
  onLog?: (line: string) => void;
}

/** How often a job's worker may be lost before BullMQ marks it failed instead of handing it on. */
const MAX_STALLS = 2;

/** How long a stopping worker waits for the queue to take its cells back (Redis may be gone). */
const HAND_BACK_MS = 10_000;

/** Whether a promise settles within `ms` milliseconds. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a finished cell's log line says about its result. */
function summary(cell: SweepCell, result: unknown): string {
  if (cell.kind === 'timing') return `batch-1 ${((result as SpeedFigures).p50Ms * 1000).toFixed(0)} µs`;
  return `top-1 ${formatPercent((result as FoldResult | PruneResult).metrics.top1)}`;
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** Refuses to start on a machine that cannot run the cells of a sweep still running. */
async function checkOpenSweeps(queue: Parameters<typeof listSweeps>[0]): Promise<void> {
  for (const sweep of await listSweeps(queue)) {
    const problem = sweep.finished ? null : workerProblem(sweep);
    if (problem) throw new SkelpruneError(problem);
  }
}

/** What running cells share within one worker. */
interface CellContext {
  log: (line: string) => void;
  /** Kernel threads of each cell's process. */
  threads: number;
  /** The running cells' processes, aborted to hand their cells back. */
  running: Set<AbortController>;
  /** This worker cannot run a cell: it stops, with this error. */
  fail: (error: SkelpruneError) => void;
}

/** Reports a cell's events as its job's progress (and says when it resumes from a checkpoint). */
function progressReporter(job: Job<CellJobData>, log: (line: string) => void) {
  const { cell } = job.data;
  const progress: CellProgress = { done: 0, total: cell.work, measured: 0, seconds: 0 };
  return (event: CellEvent) => {
    if (event.type === 'start' && event.resumedAt > 0)
      log(`${cell.label}: resuming after epoch ${event.resumedAt}, from its resume checkpoint`);
    const work = cellWork(cell, event);
    if (!work && !cellStarted(event)) return;
    if (work) {
      progress.done = work.done;
      progress.measured++;
      progress.seconds += work.seconds;
    }
    job.updateProgress({ ...progress }).catch(() => {}); // progress is advisory; the result is not
  };
}

/**
 * Runs one cell's job: back to the queue when this machine cannot run it, at once when its result
 * exists, else in a child process; handed back when the worker stops meanwhile.
 */
async function runCell(
  job: Job<CellJobData>,
  token: string | undefined,
  context: CellContext,
): Promise<string> {
  const { sweep, cell } = job.data;
  const { log } = context;
  const problem = workerProblem(sweep);
  if (problem) {
    await job.moveToWait(token);
    context.fail(new SkelpruneError(problem));
    throw new WaitingError();
  }
  const started = performance.now();
  const saved = await savedCellResult(cell);
  if (saved !== null) {
    log(`${cell.label}: already done (its result is in its folder)`);
    return summary(cell, saved);
  }
  const attempt = `attempt ${job.attemptsMade + 1}/${job.opts.attempts ?? 1}`;
  log(`started ${cell.label} (sweep ${sweep.id.slice(0, 8)}, ${attempt})`);
  const controller = new AbortController();
  context.running.add(controller);
  try {
    const result = await runInChild<unknown, CellEvent>(cellJob(cell), progressReporter(job, log), {
      signal: controller.signal,
      threads: context.threads,
    });
    log(`finished ${cell.label} in ${seconds(started)}: ${summary(cell, result)}`);
    return summary(cell, result);
  } catch (error) {
    if (controller.signal.aborted) {
      await job.moveToWait(token);
      log(`handed back ${cell.label}: the next worker resumes it from its last saved epoch`);
      throw new WaitingError();
    }
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const message = (error as Error).message.split('\n')[0];
    log(
      `failed ${cell.label} (${attempt}): ${message}${last ? '; no attempt left' : '; it will be retried'}`,
    );
    throw error;
  } finally {
    context.running.delete(controller);
  }
}

/**
 * Runs cells from the queue until the signal aborts (resolving once running cells are handed back),
 * or until a cell comes from a sweep this machine cannot run (its output folder or dataset are not
 * visible here, or another skelprune version planned it): that cell goes back to the queue for
 * another worker and this one stops with an error saying why. Also refuses to start in that case.
 */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const concurrency = options.concurrency ?? 1;
  const stallTimeout = options.stallTimeout ?? 30;
  if (!(Number.isSafeInteger(concurrency) && concurrency >= 1))
    throw new ConfigError(`worker: concurrency: expected a whole number ≥ 1, found ${concurrency}`);
  if (!(stallTimeout > 0))
    throw new ConfigError(`worker: stallTimeout: expected seconds > 0, found ${stallTimeout}`);
  const log = options.onLog ?? (() => {});
  const { queue, flows, close } = await openQueue(options.queue, log);
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  let fatal: SkelpruneError | null = null;
  let abandoned = false;
  try {
    await checkOpenSweeps(queue);
    if (options.signal?.aborted) return;
    const name = `${hostname()}:${process.pid}`;
    const context: CellContext = {
      log,
      threads: Math.max(1, Math.floor(availableParallelism() / concurrency)),
      running: new Set(),
      fail: (error) => {
        fatal ??= error;
        stop();
      },
    };
    /** A gate adds the flows of its done cell's dependants. */
    const release = async (job: Job<GateJobData>) => {
      await flows.addBulk(job.data.release);
      log(`released ${job.data.release.length} cell(s) that start from ${job.data.label}`);
    };
    const worker = new Worker(
      QUEUE_NAME,
      (job, token) =>
        job.name === GATE
          ? release(job as Job<GateJobData>)
          : runCell(job as Job<CellJobData>, token, context),
      {
        connection: connectionOptions(options.queue),
        concurrency,
        name,
        autorun: false,
        lockDuration: stallTimeout * 1000,
        stalledInterval: stallTimeout * 1000,
        maxStalledCount: MAX_STALLS,
      },
    );
    // A lost connection repeats its error on every retry: say it once, until another comes.
    let lastError = '';
    worker.on('error', (error) => {
      if (error.message !== lastError) log(`job queue: ${error.message}`);
      lastError = error.message;
    });
    const finished = worker.run();
    log(
      `worker ${name} on ${redactUrl(options.queue)}: ${concurrency} cell(s) at a time, ${context.threads} kernel thread(s) each; stop with SIGTERM or Ctrl-C`,
    );
    if (!stopped.signal.aborted)
      await new Promise((resolve) => stopped.signal.addEventListener('abort', resolve));
    // Closing first takes no new job; then the running ones are stopped and handed back.
    const closing = worker.close();
    for (const controller of context.running) controller.abort();
    if (!(await settlesWithin(closing, HAND_BACK_MS))) {
      // Closing waits for a Redis that is gone; BullMQ's connections keep retrying (exit the process).
      abandoned = true;
      log(
        'the job queue does not answer: stopping without handing back; the cells go back to the queue when their locks expire',
      );
      return;
    }
    await finished;
  } finally {
    options.signal?.removeEventListener('abort', stop);
    if (!abandoned) await close();
  }
  if (fatal) throw fatal;
}
