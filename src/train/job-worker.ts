/** Child process of `runInChild`: receives one job spec, runs it, streams events and the result back. */
import { SkelpruneError, userError } from '../errors.js';
import type { JobFunction, JobSpec } from './jobs.js';

/** Step events can come every few milliseconds; forward at most this often. */
const EVENT_INTERVAL_MS = 200;

// A parent that is gone (killed, interrupted) can take no more events: stop instead of crashing on
// the closed channel. Runs save after every epoch, so a rerun (`--resume`, or the job queue handing
// the job to another worker) continues from the last one.
const parentGone = () => {
  process.stderr.write('skelprune job worker: the parent process is gone; stopping (resume with --resume)\n');
  process.exit(130);
};
process.once('disconnect', parentGone);
// A send racing the disconnect fails with EPIPE or a closed channel, reported as a process 'error'.
process.once('error', parentGone);

process.once('message', async (spec: JobSpec) => {
  const send = (message: unknown) => new Promise<void>((resolve) => process.send!(message, () => resolve()));
  let lastStep = 0;
  try {
    const mod = (await import(spec.module)) as Record<
      string,
      JobFunction<unknown, unknown, { type?: string }>
    >;
    const result = await mod[spec.fn](spec.args, (event) => {
      const now = performance.now();
      if (event?.type === 'step' && now - lastStep < EVENT_INTERVAL_MS) return;
      lastStep = now;
      process.send!({ type: 'event', event });
    });
    await send({ type: 'result', result });
  } catch (caught) {
    const error = userError(caught);
    const isUserError = error instanceof SkelpruneError;
    const message = isUserError ? error.message : ((error as Error)?.stack ?? String(error));
    await send({ type: 'error', message, userError: isUserError });
  }
  process.off('disconnect', parentGone);
  process.disconnect();
});
