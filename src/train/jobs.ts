/**
 * Runs independent jobs (SBU's folds, pruning rates) in parallel worker processes, so both cores
 * work. A job names an exported async function `(args, emit) => result` in a module; workers import
 * it, stream its events back and return its result. With one job at a time everything runs
 * in-process. Parallel workers use one kernel thread each, so jobs do not fight over the cores.
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

/** A worker is killed when the signal aborts; the job rejects once the process is gone. */
function runInWorker<R, E>(
  spec: JobSpec,
  onEvent: (event: E) => void,
  signal: AbortSignal | undefined,
): Promise<R> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, [], {
      env: { ...process.env, SKELPRUNE_THREADS: '1' },
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
      const run = parallel > 1 ? runInWorker<R, E> : runInProcess<R, E>;
      try {
        throwIfCancelled(signal);
        results[index] = await run(specs[index], (event) => onEvent(index, event), signal);
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
