/**
 * bench:queue — a sweep on the job queue against the same sweep run locally: its wall time with 1 and
 * with 2 workers (`skelprune worker` processes on this machine, on a redis-server started here; and
 * one worker running 2 cells at once, which splits the cores between them instead), and
 * the queue's own overhead per job, measured on cells whose results already exist (so a job is nothing
 * but the queue's round trip): enqueue → start on an idle worker, and finish → start of the next job
 * on a busy one. Also the cost every real cell adds on a worker: starting its child process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlowProducer, Queue } from 'bullmq';
import { reproduce } from '../src/api/reproduce.js';
import { QUEUE_NAME } from '../src/queue/connection.js';
import type { CellJobData } from '../src/queue/flows.js';
import { listSweeps, type SweepPlace } from '../src/queue/sweeps.js';
import { cellJob, planSweep, type SweepCell } from '../src/report/sweep.js';
import { runInChild } from '../src/train/jobs.js';
import { skipWithoutRedis, startRedis } from '../test/queue/redis-server.js';

const CLI = fileURLToPath(new URL('../../bin/skelprune.js', import.meta.url));
const ROUND_TRIPS = 30;

/** 4 dense folds, 3 methods at one rate on each, 4 timings: 20 cells of about a second to a few. */
const SWEEP = {
  dataset: 'synthetic',
  methods: ['ctf', 'mp-unstructured', 'l1'],
  rates: [0.9],
  speedRepeats: 200,
  train: {
    fold: 'all',
    epochs: 30,
    synthetic: { sequencesPerClass: 20 },
    model: { heads: 4, headDim: 4, encodingChannels: 16, convChannels: 32, fcUnits: 64 },
  },
  prune: { pruneEpochs: 8, finetuneEpochs: 3, synthetic: { sequencesPerClass: 20 } },
} as const;

const settings = (out: string) => ({
  ...SWEEP,
  methods: [...SWEEP.methods],
  rates: [...SWEEP.rates],
  train: { ...SWEEP.train },
  prune: { ...SWEEP.prune },
  out,
});

const quantile = (values: readonly number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const ms = (values: readonly number[]) =>
  `median ${quantile(values, 0.5).toFixed(1)} ms, p90 ${quantile(values, 0.9).toFixed(1)} ms (${values.length} jobs)`;

/** Starts `skelprune worker` processes and resolves once each says it is ready. */
async function startWorkers(url: string, count: number, concurrency: number): Promise<ChildProcess[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const args = [CLI, 'worker', '--queue', url, '--concurrency', String(concurrency)];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => {
        let output = '';
        child.stdout!.on('data', (d) => {
          output += d;
          if (output.includes('cell(s) at a time')) resolve();
        });
      });
      return child;
    }),
  );
}

async function stopWorkers(workers: ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map((w) => {
      const exited = new Promise((resolve) => w.once('exit', resolve));
      w.kill('SIGTERM');
      return exited;
    }),
  );
}

async function timed<T>(work: () => Promise<T>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

/**
 * The queue's overhead per job, on cells whose results exist (each job completes at once): added one
 * at a time to an idle worker, then all at once to keep it busy.
 */
async function roundTrips(url: string, cells: readonly SweepCell[], sweep: SweepPlace) {
  const queue = new Queue(QUEUE_NAME, { connection: { url } });
  const flows = new FlowProducer({ connection: { url } });
  const job = (n: number) => {
    const cell = cells[n % cells.length];
    return {
      name: cell.kind,
      queueName: QUEUE_NAME,
      data: { sweep, cell } satisfies CellJobData,
      opts: { jobId: `bench-${n}` },
    };
  };
  const idle: number[] = [];
  for (let n = 0; n < ROUND_TRIPS; n++) {
    await flows.add(job(n));
    const done = await finished(queue, `bench-${n}`);
    idle.push(done.processedOn - done.timestamp);
  }
  const burst = Array.from({ length: ROUND_TRIPS }, (_, i) => job(ROUND_TRIPS + i));
  await flows.addBulk(burst);
  const jobs = await Promise.all(burst.map((b) => finished(queue, b.opts.jobId)));
  jobs.sort((a, b) => a.processedOn - b.processedOn);
  const busy = jobs.slice(1).map((j, i) => j.processedOn - jobs[i].finishedOn);
  await Promise.all([queue.close(), flows.close()]);
  return { idle, busy };
}

/** A job's times once it has finished (Redis's clock: polling does not change them). */
async function finished(
  queue: Queue,
  id: string,
): Promise<{ timestamp: number; processedOn: number; finishedOn: number }> {
  for (;;) {
    const job = await queue.getJob(id);
    if (job?.finishedOn)
      return { timestamp: job.timestamp, processedOn: job.processedOn!, finishedOn: job.finishedOn };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Gaps between one job's finish and the next one's start on the same worker, over a real sweep. */
async function sweepGaps(url: string): Promise<number[]> {
  const queue = new Queue(QUEUE_NAME, { connection: { url } });
  const jobs = (await queue.getJobs(['completed'])).filter((j) => j.processedBy && j.finishedOn);
  await queue.close();
  const gaps: number[] = [];
  for (const worker of new Set(jobs.map((j) => j.processedBy))) {
    const own = jobs.filter((j) => j.processedBy === worker).sort((a, b) => a.processedOn! - b.processedOn!);
    for (let i = 1; i < own.length; i++) gaps.push(own[i].processedOn! - own[i - 1].finishedOn!);
  }
  return gaps;
}

async function main(): Promise<void> {
  if (skipWithoutRedis) {
    console.log(`bench:queue skipped: ${skipWithoutRedis}`);
    return;
  }
  const root = mkdtempSync(join(tmpdir(), 'skelprune-bench-queue-'));
  console.log(
    `bench:queue: a sweep of 20 cells (4 dense folds; ctf, mp-unstructured, l1 at 90%; 4 timings), ${availableParallelism()} cores`,
  );
  try {
    const local = await timed(() => reproduce({ ...settings(join(root, 'local')), jobs: 1 }));
    console.log(`  local, --jobs 1:      ${local.toFixed(1)} s`);
    const local2 = await timed(() => reproduce({ ...settings(join(root, 'local2')), jobs: 2 }));
    console.log(`  local, --jobs 2:      ${local2.toFixed(1)} s`);
    for (const [count, concurrency] of [
      [1, 1],
      [2, 1],
      [1, 2],
    ]) {
      const redis = await startRedis();
      const workers = await startWorkers(redis.url, count, concurrency);
      try {
        const out = join(root, `queue-${count}-${concurrency}`);
        const wall = await timed(() => reproduce({ ...settings(out), queue: redis.url }));
        const gaps = ms(await sweepGaps(redis.url));
        const name = `${count} worker(s), --concurrency ${concurrency}`;
        console.log(`  queue, ${name}: ${wall.toFixed(1)} s (finish → next start on a worker: ${gaps})`);
        if (count === 1 && concurrency === 1) {
          const plan = await planSweep({
            ...settings(out),
            out,
            seed: 0,
            pruneSeeds: 1,
            command: 'reproduce',
          });
          const queue = new Queue(QUEUE_NAME, { connection: { url: redis.url } });
          const [sweep] = await listSweeps(queue);
          await queue.close();
          const { idle, busy } = await roundTrips(redis.url, plan.cells, sweep);
          console.log(`  queue overhead, enqueue → start on an idle worker: ${ms(idle)}`);
          console.log(`  queue overhead, finish → next start on a busy worker: ${ms(busy)}`);
          const starts: number[] = [];
          for (const cell of plan.cells.slice(0, 5)) {
            const started = performance.now();
            await runInChild(cellJob(cell), () => {}, { threads: 1 });
            starts.push(performance.now() - started);
          }
          console.log(
            `  per real cell, its child process on the worker (start, imports, read its result): ${ms(starts)}`,
          );
        }
      } finally {
        await stopWorkers(workers);
        await redis.stop();
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
