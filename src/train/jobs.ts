/**
 * Runs independent jobs (SBU's folds, pruning rates) in parallel worker processes, so both cores
 * work. A job names an exported async function `(args, emit) => result` in a module; workers import
 * it, stream its events back and return its result. With one job at a time everything runs
 * in-process. Parallel workers use one kernel thread each, so jobs do not fight over the cores. The
 * job queue's workers (src/queue/worker.ts) run each job in a child process the same way (runInChild).
 */
import { fork } from 'node:child_process';
import { CancelledError, SkelpruneError, throwIfCancelled } from '../errors.js';

export interface JobSpec<A = unknown> {
  /** URL of the module exporting the function (e.g. `import.meta.url` of its own module). */
  module: string;
  /** Name of the exported function. */
  fn: string;
  args: A;
}

/** The job running `fn` of the module at `module` (resolved against `base`, an `import.meta.url`). */
export function jobSpec<A>(module: string, base: string, fn: string, args: A): JobSpec<A> {
  return { module: new URL(module, base).href, fn, args };
}

export type JobFunction<A, R, E> = (args: A, emit: (event: E) => void) => Promise<R>;

type WorkerMessage<R, E> =
  | { type: 'event'; event: E }
  | { type: 'result'; result: R }
  | { type: 'error'; message: string; userError: boolean };

const WORKER = new URL('./job-worker.js', import.meta.url);

/**
 * In-process jobs run on this thread, so cancellation is checked where they report progress: every
 * event (after each training step and epoch) first checks the signal and throws if it was aborted.
 */
async function runInProcess<R, E>(
  spec: JobSpec,
  onEvent: (event: E) => void,
  signal: AbortSignal | undefined,
): Promise<R> {
  const mod = (await import(spec.module)) as Record<string, JobFunction<unknown, R, E>>;
  const fn = mod[spec.fn];
  if (typeof fn !== 'function') throw new Error(`job: ${spec.module} exports no function '${spec.fn}'`);
  return fn(spec.args, (event) => {
    throwIfCancelled(signal);
    onEvent(event);
  });
}

/** Options of a job run in a child process. */
export interface ChildJobOptions {
  /** Kills the process; the job then rejects with a CancelledError once it is gone. */
  signal?: AbortSignal;
  /** Kernel threads of the process (default 1: parallel jobs do not fight over the cores). */
  threads?: number;
}

/**
 * Runs a job in a child process (job-worker.js), streaming its events back; the process is killed when
 * the signal aborts, and stops by itself when this process dies (it sees its parent gone).
 */
export function runInChild<R, E>(
  spec: JobSpec,
  onEvent: (event: E) => void,
  { signal, threads = 1 }: ChildJobOptions = {},
): Promise<R> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, [], {
      env: { ...process.env, SKELPRUNE_THREADS: String(threads) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let settled = false;
    const cancel = () => child.kill();
    signal?.addEventListener('abort', cancel, { once: true });
    child.on('message', (message: WorkerMessage<R, E>) => {
      if (message.type === 'event') onEvent(message.event);
      else if (message.type === 'result') {
        settled = true;
        resolve(message.result);
      } else {
        settled = true;
        reject(message.userError ? new SkelpruneError(message.message) : new Error(message.message));
      }
    });
    child.on('exit', (code, exitSignal) => {
      signal?.removeEventListener('abort', cancel);
      if (settled) return;
      if (signal?.aborted) reject(new CancelledError(signal.reason));
      else reject(new Error(`job worker exited unexpectedly (${exitSignal ?? `code ${code}`})`));
    });
    child.send(spec);
  });
}

export interface RunJobsOptions<R> {
  /** Stops the jobs: in-process at their next event, in workers by killing the processes. */
  signal?: AbortSignal;
  /** Each job's result as soon as it is there, with the job's index. */
  onResult?: (index: number, result: R) => void;
}

/**
 * Runs every job, at most `parallel` at a time, and returns their results in order. `onEvent`
 * receives each job's events with the job's index. The first failure stops scheduling new jobs and
 * is rethrown once the running ones finish; an aborted signal rejects with a CancelledError.
 */
export async function runJobs<R, E>(
  specs: readonly JobSpec[],
  parallel: number,
  onEvent: (index: number, event: E) => void = () => {},
  { signal, onResult }: RunJobsOptions<R> = {},
): Promise<R[]> {
  const results = new Array<R>(specs.length);
  let next = 0;
  let failure: unknown = null;
  const lane = async () => {
    while (failure === null && next < specs.length) {
      const index = next++;
      try {
        throwIfCancelled(signal);
        const emit = (event: E) => onEvent(index, event);
        results[index] = await (parallel > 1
          ? runInChild<R, E>(specs[index], emit, { signal })
          : runInProcess<R, E>(specs[index], emit, signal));
        onResult?.(index, results[index]);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, specs.length)) }, lane));
  if (failure !== null) throw failure;
  return results;
}
