/**
 * `skelprune queue status|retry|clean`: what the job queue holds, running failed cells again, dropping.
 * The queue's client is loaded when a command runs, not with the CLI.
 */
import type { Command } from 'commander';
import type { QueueStatus, SweepStatus } from '../../queue/admin.js';
import { countsLine } from '../../queue/sweeps.js';
import { redactUrl } from '../../queue/url.js';
import { QUEUE_URL_HELP } from './worker.js';

const SWEEP_HELP = 'only the sweep whose id starts with this (queue status lists them)';

function formatSweep(s: SweepStatus, url: string): string {
  const state = s.finished ? `ended ${s.finished}` : s.counts.running > 0 ? 'running' : 'waiting';
  const lines = [
    `sweep ${s.id.slice(0, 8)} (${state}; started ${s.created} on ${s.host}): ${s.command}`,
    `  output folder: ${s.out}`,
    `  ${countsLine(s.counts)}`,
    ...s.running.map((r) => `  running: ${r.cell} on ${r.worker}${r.total ? ` (${r.done}/${r.total})` : ''}`),
    ...s.failed.map(
      (f) =>
        `  failed:  ${f.cell}${f.attempts ? ` after ${f.attempts} attempt(s)` : ''}: ${f.error.split('\n')[0]}`,
    ),
  ];
  if (s.failed.length > 0)
    lines.push(`  run them again: skelprune queue retry --queue ${url} --sweep ${s.id.slice(0, 8)}`);
  return lines.join('\n');
}

function formatStatus(status: QueueStatus): string {
  const workers = status.workers.length;
  const head = `job queue ${status.url}: ${workers} worker(s) connected${workers ? ` (${status.workers.join(', ')})` : ''}`;
  if (status.sweeps.length === 0) return `${head}\nno sweeps`;
  return [head, ...status.sweeps.map((s) => formatSweep(s, status.url))].join('\n\n');
}

export function registerQueueCommands(program: Command): void {
  const queue = program
    .command('queue')
    .description('inspect and manage the job queue of reproduce --queue: status, retry, clean');
  queue
    .command('status')
    .description(
      'every sweep on the queue: cells done, running (and where), failed (with their error), waiting',
    )
    .requiredOption('--queue <url>', QUEUE_URL_HELP)
    .option('--sweep <id>', SWEEP_HELP)
    .action(async (flags: { queue: string; sweep?: string }) => {
      const { queueStatus } = await import('../../queue/admin.js');
      console.log(formatStatus(await queueStatus(flags)));
    });
  queue
    .command('retry')
    .description(
      'run the failed cells again, attempts counted from zero (the cells waiting on them follow); then the same reproduce command follows them and writes the complete report',
    )
    .requiredOption('--queue <url>', QUEUE_URL_HELP)
    .option('--sweep <id>', SWEEP_HELP)
    .action(async (flags: { queue: string; sweep?: string }) => {
      const { retryFailed } = await import('../../queue/admin.js');
      const retried = await retryFailed(flags);
      console.log(
        retried.length === 0
          ? 'no failed cells'
          : `retrying ${retried.length} cell(s): ${retried.join(', ')}\nfollow them with skelprune reproduce (the same command re-attaches) or skelprune queue status --queue ${redactUrl(flags.queue)}`,
      );
    });
  queue
    .command('clean')
    .description(
      'drop sweeps that have ended from the queue (their results stay in their folders); --failed drops only failed cells, --sweep one sweep whatever its state',
    )
    .requiredOption('--queue <url>', QUEUE_URL_HELP)
    .option('--sweep <id>', `${SWEEP_HELP}, dropped even if it has not ended`)
    .option('--failed', 'drop only the failed cells (running the sweep again enqueues them anew)', false)
    .action(async (flags: { queue: string; sweep?: string; failed: boolean }) => {
      const { cleanQueue } = await import('../../queue/admin.js');
      const report = await cleanQueue(flags);
      const left = report.running > 0 ? `; ${report.running} running cell(s) left to finish` : '';
      console.log(
        `dropped ${report.jobs} job(s)${report.sweeps.length ? ` and ${report.sweeps.length} sweep(s): ${report.sweeps.map((id) => id.slice(0, 8)).join(', ')}` : ''}${left}`,
      );
    });
}
