/**
 * `skelprune worker`: runs cells of sweeps from a job queue (`reproduce --queue`) until stopped. The
 * queue's client is loaded when it runs, not with the CLI.
 */
import type { Command } from 'commander';
import { parseNumber, parsePositiveInteger } from '../arguments.js';

/** The help of `--queue`, shared by every command that takes one. */
export const QUEUE_URL_HELP =
  'the Redis URL of the job queue: redis://[user:password@]host[:port][/db], or rediss:// for TLS (docs/distributed.md)';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'run cells of sweeps from a job queue (reproduce --queue) until stopped: each in its own process, results to the sweep’s shared output folder; SIGTERM or Ctrl-C hands running cells back to the queue',
    )
    .requiredOption('--queue <url>', QUEUE_URL_HELP)
    .option(
      '--concurrency <n>',
      'cells run at once, each in its own process with its share of the cores',
      parsePositiveInteger,
      1,
    )
    .option(
      '--stall-timeout <seconds>',
      'after this long without a heartbeat from a worker (killed, machine lost), its cell goes to another worker',
      parseNumber,
      30,
    )
    .addHelpText(
      'after',
      '\nEvery worker must see the sweep’s output folder and dataset at the paths reproduce was given (a shared\nfile system) and run the same skelprune version; it refuses to start otherwise.\n\nExample:\n  skelprune worker --queue redis://:password@queue-host:6379/0 --concurrency 2',
    )
    .action(async (flags: { queue: string; concurrency: number; stallTimeout: number }) => {
      const stopping = new AbortController();
      const stop = (signal: NodeJS.Signals) => {
        // A second signal does not wait for the hand-back.
        if (stopping.signal.aborted) process.exit(130);
        console.log(`${new Date().toISOString()} ${signal}: handing running cells back and stopping`);
        stopping.abort();
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      const { runWorker } = await import('../../queue/worker.js');
      try {
        await runWorker({
          queue: flags.queue,
          concurrency: flags.concurrency,
          stallTimeout: flags.stallTimeout,
          signal: stopping.signal,
          onLog: (line) => console.log(`${new Date().toISOString()} ${line}`),
        });
      } finally {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
      }
      // Connections to a Redis that is gone would keep retrying: the worker is done, so is the process.
      process.exit();
    });
}
