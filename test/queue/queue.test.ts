/**
 * The job queue (`reproduce --queue`, `skelprune worker`, `skelprune queue`): URLs, ids and errors
 * without a server; then sweeps on a real redis-server, run by worker processes: results identical to
 * a local run, a worker killed with kill -9 (and one stopped with SIGTERM) mid-job, a finished sweep
 * that enqueues nothing, a poisoned cell that ends as a named failure and is retried, a worker that
 * does not see the output folder, a password and TLS.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CancelledError,
  ConfigError,
  cleanQueue,
  queueStatus,
  type ReproduceOptions,
  type ReproduceProgress,
  type ReproduceResults,
  reproduce,
} from '../../src/index.js';
import { checkQueueUrl, redactCommand, redactUrl } from '../../src/queue/url.js';
import { cellId, planSweep } from '../../src/report/sweep.js';
import { projectRoot } from '../helpers.js';
import { freePort, type RedisServer, skipWithoutRedis, startRedis } from './redis-server.js';

const cli = join(projectRoot, 'bin/skelprune.js');
const temp = () => mkdtempSync(join(tmpdir(), 'skelprune-queue-'));

const synthetic = { sequencesPerClass: 12 };
const model = { heads: 2, headDim: 4, encodingChannels: 8, convChannels: 16, fcUnits: 32 };
/** A small sweep of 19 cells: 4 dense folds, their 4 controls, 2 methods at one rate on each fold, 3 timings. */
const sweep = {
  dataset: 'synthetic',
  methods: ['ctf', 'mp-unstructured'],
  rates: [0.5],
  speedRepeats: 20,
  seed: 3,
  train: { fold: 'all', epochs: 40, synthetic, model },
  prune: { pruneEpochs: 2, finetuneEpochs: 1, synthetic },
} satisfies ReproduceOptions;
/** The same sweep as flags of `skelprune reproduce`. */
const sweepFlags = [
  ...[
    '--dataset',
    'synthetic',
    '--methods',
    'ctf,mp-unstructured',
    '--rates',
    '0.5',
    '--speed-repeats',
    '20',
  ],
  ...['--seed', '3', '--set', 'train.fold=all', 'train.epochs=40', 'train.synthetic.sequencesPerClass=12'],
  ...Object.entries(model).map(([key, value]) => `train.model.${key}=${value}`),
  ...['prune.pruneEpochs=2', 'prune.finetuneEpochs=1', 'prune.synthetic.sequencesPerClass=12'],
];

/** What must not depend on where cells ran: accuracies, rates, sizes, FLOPs, confusion matrices. */
function figures(results: ReproduceResults) {
  return results.runs.map((r) => ({
    method: r.method,
    rate: r.rate,
    achievedRate: r.achievedRate,
    folds: r.folds,
    top1: r.top1,
    meanClass: r.meanClass,
    parameters: r.parameters,
    flops: r.flops,
    structuredShare: r.structuredShare,
    confusion: r.confusion,
    control: r.control,
  }));
}

function skelprune(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
}

/** `skelprune` without blocking this process, so that the workers' output keeps being read meanwhile. */
function skelpruneAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}

interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  output: () => string;
  exited: Promise<number | string | null>;
}

function startWorker(url: string): WorkerProcess {
  const child = spawn(process.execPath, [cli, 'worker', '--queue', url, '--stall-timeout', '2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  return { child, pid: child.pid!, output: () => output, exited };
}

/** Stops workers with SIGTERM (those still running) and returns their exit codes. */
async function stopWorkers(workers: readonly WorkerProcess[]): Promise<(number | string | null)[]> {
  for (const w of workers)
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  return Promise.all(workers.map((w) => w.exited));
}

/** Polls the queue until a running cell matches, and returns it. */
async function runningCell(
  url: string,
  match: (r: { cell: string; worker: string; done: number; total: number }) => boolean,
) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const status = await queueStatus({ queue: url });
    const found = status.sweeps.flatMap((s) => s.running).find(match);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('no running cell matched within 60 s');
}

/** Every file under a folder, relative to it. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('job queue URLs and cell ids', () => {
  it('hides passwords, and refuses what is not a Redis URL', () => {
    assert.equal(redactUrl('rediss://user:s3cret@host:6380/2'), 'rediss://user:***@host:6380/2');
    assert.equal(redactUrl('redis://host:6379'), 'redis://host:6379');
    assert.equal(
      redactCommand('skelprune reproduce --queue redis://:s3cret@host/0 --out x'),
      'skelprune reproduce --queue redis://:***@host/0 --out x',
    );
    checkQueueUrl('redis://127.0.0.1:6379/0');
    assert.throws(
      () => checkQueueUrl('http://:s3cret@host'),
      /expected redis:\/\/ or rediss:\/\/ \(TLS\), found http:/,
    );
    assert.throws(() => checkQueueUrl('redis://host/queue'), /the path is the database number/);
    assert.throws(() => checkQueueUrl('not a url'), /expected a Redis URL/);
  });

  it('names an unreachable Redis by its URL without the password, and says what to do', async () => {
    const url = `redis://:hunter2@127.0.0.1:${await freePort()}/0`;
    await assert.rejects(queueStatus({ queue: url }), (error: Error) => {
      assert.match(
        error.message,
        /^cannot use the job queue at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0 \(.*ECONNREFUSED/,
      );
      assert.match(error.message, /start redis-server there, or check the host and port$/);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
    const run = skelprune(['worker', '--queue', url]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^skelprune: cannot use the job queue at redis:\/\/:\*\*\*@/);
    assert.doesNotMatch(run.stderr, /hunter2/);
  });

  it('refuses settings that mix the queue with local runs', async () => {
    const out = join(temp(), 'x');
    await assert.rejects(reproduce({ ...sweep, out, queue: 'redis://127.0.0.1:1/0', jobs: 2 }), ConfigError);
    await assert.rejects(reproduce({ ...sweep, out, attempts: 2 }), /attempts applies to a job queue/);
    await assert.rejects(reproduce({ ...sweep, out, queue: 'ftp://host' }), /expected redis:\/\//);
  });

  it('gives each cell an id from its spec: not the command recorded, nor the parallelism', async () => {
    const settings = { ...sweep, out: '/shared/runs/x', pruneSeeds: 1 };
    const a = await planSweep({ ...settings, command: 'reproduce', jobs: 1 });
    const b = await planSweep({ ...settings, command: 'skelprune reproduce --queue redis://h', jobs: 2 });
    const c = await planSweep({ ...settings, seed: 4, command: 'reproduce' });
    const ids = (plan: typeof a) => plan.cells.map((cell) => cell.id);
    assert.equal(a.cells.length, 19);
    assert.deepEqual(ids(a), ids(b));
    assert.equal(new Set([...ids(a), ...ids(c)]).size, 38, 'another seed: other cells');
    assert.match(a.cells[0].id, /^dense-[0-9a-f]{24}$/);
    assert.equal(cellId('dense', { b: 1, a: { y: 2, x: 1 } }), cellId('dense', { a: { x: 1, y: 2 }, b: 1 }));
    const prune = a.cells.find((cell) => cell.kind === 'prune')!;
    assert.equal(prune.after, a.cells[0].id, 'a pruning cell starts from its dense fold');
  });
});

describe('sweeps on a real redis-server', { skip: skipWithoutRedis }, () => {
  let redis: RedisServer;
  let local: ReproduceResults;
  const queueOut = join(temp(), 'queue');

  before(async () => {
    redis = await startRedis();
    local = (await reproduce({ ...sweep, out: join(temp(), 'local'), jobs: 1 })).results;
  });
  after(() => redis?.stop());

  it('run by 3 worker processes, gives the results of a local run', { timeout: 120_000 }, async () => {
    const workers = [1, 2, 3].map(() => startWorker(redis.url));
    try {
      const progress: ReproduceProgress[] = [];
      const report = await reproduce({
        ...sweep,
        out: queueOut,
        queue: redis.url,
        onProgress: (p) => progress.push(p),
      });
      assert.deepEqual(figures(report.results), figures(local));
      assert.ok(
        progress.some((p) => p.cells && p.cells.running > 0 && / running · .* worker\(s\) · /.test(p.status)),
        'the progress shows cells running on the workers',
      );
      assert.deepEqual(progress.at(-1)?.cells, { done: 19, running: 0, failed: 0, waiting: 0, total: 19 });
      assert.equal(progress.at(-1)?.fraction, 1);
      assert.equal(report.results.failures, undefined);
      assert.ok(
        report.results.runs.every((r) => r.speed && r.speed.p50Ms > 0),
        'every model timed',
      );
      for (const w of workers) assert.match(w.output(), /finished (dense|ctf|mp-unstructured|timing)/);
    } finally {
      assert.deepEqual(await stopWorkers(workers), [0, 0, 0]);
    }
  });

  it('survives a worker killed with kill -9 mid-job, and one stopped with SIGTERM', {
    timeout: 120_000,
  }, async () => {
    const out = join(temp(), 'killed');
    const workers = [1, 2, 3].map(() => startWorker(redis.url));
    const coordinator = reproduce({ ...sweep, out, queue: redis.url });
    try {
      const busy = (r: { cell: string; done: number; total: number }) =>
        r.cell.startsWith('dense') && r.done >= 3 && r.done <= r.total - 10;
      const victim = await runningCell(redis.url, busy);
      const killed = workers.find((w) => victim.worker.endsWith(`:${w.pid}`))!;
      process.kill(killed.pid, 'SIGKILL');
      const second = await runningCell(redis.url, (r) => busy(r) && !r.worker.endsWith(`:${killed.pid}`));
      const stopped = workers.find((w) => second.worker.endsWith(`:${w.pid}`))!;
      stopped.child.kill('SIGTERM');
      assert.equal(await stopped.exited, 0, stopped.output());
      assert.match(stopped.output(), new RegExp(`handed back ${second.cell}: the next worker resumes it`));
      workers.push(startWorker(redis.url));

      const report = await coordinator;
      assert.deepEqual(figures(report.results), figures(local), 'the same figures as the local run');
      const logs = workers.map((w) => w.output()).join('\n');
      for (const cell of [victim.cell, second.cell])
        assert.match(logs, new RegExp(`${cell}: resuming after epoch \\d+, from its resume checkpoint`));
      // No torn, temporary or duplicate files: each dense fold holds its result once, its log one line an epoch.
      const written = files(out);
      assert.deepEqual(
        written.filter((f) => /\.tmp$|resume\.ckpt$/.test(f)),
        [],
      );
      for (const fold of [1, 2, 3, 4]) {
        const dir = join(out, 'dense', `fold-${fold}`);
        assert.deepEqual(readdirSync(dir).sort(), [
          'confusion.txt',
          'log.jsonl',
          'model.ckpt',
          'result.json',
        ]);
        assert.equal(readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').length, 40);
        JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'));
      }
    } finally {
      await stopWorkers(workers);
    }
  });

  it('re-run on a finished sweep, enqueues nothing and writes the report without workers', () => {
    const run = skelprune(['reproduce', ...sweepFlags, '--queue', redis.url, '--out', queueOut]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /: 19 cells, 19 done before, 0 enqueued now; 19\/19 done/);
    const results = JSON.parse(readFileSync(join(queueOut, 'results.json'), 'utf8')) as ReproduceResults;
    assert.deepEqual(figures(results), figures(local));
  });

  it('ends a poisoned cell as a named failure after its retries, and runs it again on retry', {
    timeout: 120_000,
  }, async () => {
    const out = join(temp(), 'poisoned');
    const poison = join(out, 'mp-unstructured', '50%', 'fold-1');
    mkdirSync(join(out, 'mp-unstructured', '50%'), { recursive: true });
    writeFileSync(poison, 'a file where the run folder should be');
    const flags = [
      ...[
        '--dataset',
        'synthetic',
        '--methods',
        'ctf,mp-unstructured',
        '--rates',
        '0.5',
        '--speed-repeats',
        '20',
      ],
      ...['--set', 'train.fold=1', 'train.epochs=3', 'prune.pruneEpochs=1', 'prune.finetuneEpochs=1'],
      ...['train.synthetic.sequencesPerClass=12', 'prune.synthetic.sequencesPerClass=12'],
      ...Object.entries(model).map(([key, value]) => `train.model.${key}=${value}`),
      ...['--queue', redis.url, '--out', out, '--attempts', '2', '--retry-delay', '0.2'],
    ];
    const workers = [1, 2].map(() => startWorker(redis.url));
    try {
      const failed = await skelpruneAsync(['reproduce', ...flags]);
      assert.equal(failed.status, 1, failed.stderr);
      assert.match(failed.stderr, /skelprune: 2 cell\(s\) of the sweep failed; see the report's warning/);
      const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ReproduceResults;
      assert.deepEqual(
        results.runs.map((r) => r.method),
        ['dense', 'ctf'],
      );
      assert.deepEqual(
        results.failures?.map((f) => f.cell),
        ['mp-unstructured 50% fold 1', 'timing mp-unstructured 50%'],
      );
      assert.match(results.failures![0].error, /fold-1.*a part of this path is a file, not a folder/);
      assert.match(
        results.failures![1].error,
        /^not run: it needs mp-unstructured 50% fold 1, which did not finish$/,
      );
      assert.match(readFileSync(join(out, 'results.md'), 'utf8'), /> \*\*2 cells of this sweep failed/);
      assert.match(failed.stdout, /!! 2 cells of this sweep failed/);
      assert.match(
        workers.map((w) => w.output()).join(''),
        /failed mp-unstructured 50% fold 1 \(attempt 2\/2\).*no attempt left/,
      );

      const status = await skelpruneAsync(['queue', 'status', '--queue', redis.url]);
      assert.equal(status.status, 0, status.stderr);
      assert.match(status.stdout, /failed: {2}mp-unstructured 50% fold 1 after 2 attempt\(s\): .*fold-1/);
      assert.match(status.stdout, /run them again: skelprune queue retry/);

      rmSync(poison);
      const retry = await skelpruneAsync(['queue', 'retry', '--queue', redis.url]);
      assert.equal(retry.status, 0, retry.stderr);
      assert.match(retry.stdout, /^retrying 1 cell\(s\): mp-unstructured 50% fold 1/);
      const again = await skelpruneAsync(['reproduce', ...flags]);
      assert.equal(again.status, 0, again.stderr);
      const complete = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ReproduceResults;
      assert.deepEqual(
        complete.runs.map((r) => r.method),
        ['dense', 'ctf', 'mp-unstructured'],
      );
      assert.equal(complete.failures, undefined);
    } finally {
      assert.deepEqual(await stopWorkers(workers), [0, 0]);
    }
  });

  it('has a worker that does not see a sweep’s output folder refuse to start, saying so', {
    timeout: 60_000,
  }, async () => {
    const out = join(temp(), 'hidden');
    const stop = new AbortController();
    const waiting = reproduce({ ...sweep, seed: 9, out, queue: redis.url, signal: stop.signal });
    const deadline = Date.now() + 30_000;
    let id: string | undefined;
    while (!id && Date.now() < deadline) {
      id = (await queueStatus({ queue: redis.url })).sweeps.find((s) => s.out === out)?.id;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    stop.abort();
    await assert.rejects(waiting, CancelledError);
    assert.ok(id, 'the sweep was recorded');
    renameSync(out, `${out}-elsewhere`);
    try {
      const worker = startWorker(redis.url);
      assert.equal(await worker.exited, 1);
      assert.match(
        worker.output(),
        new RegExp(`does not see the output folder ${out} of sweep ${id.slice(0, 8)}`),
      );
    } finally {
      renameSync(`${out}-elsewhere`, out);
    }
    const cleaned = await cleanQueue({ queue: redis.url, sweep: id.slice(0, 8) });
    assert.deepEqual(cleaned.sweeps, [id]);
    assert.ok(cleaned.jobs >= 4, 'its queued dense folds were dropped');
    assert.equal(
      (await queueStatus({ queue: redis.url, sweep: undefined })).sweeps.find((s) => s.id === id),
      undefined,
    );
  });
});

const openssl = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find(existsSync);

describe('a password and TLS', {
  skip: skipWithoutRedis || (openssl ? false : 'no openssl to make a certificate'),
}, () => {
  it('connects with rediss:// and a password, and never prints the password', async () => {
    const dir = temp();
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync(
      openssl!,
      [
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'],
        ...['-keyout', key, '-out', cert, '-addext', 'subjectAltName=IP:127.0.0.1'],
      ],
      { stdio: 'ignore' },
    );
    const redis = await startRedis({ password: 's3cret-pw', tls: { cert, key } });
    try {
      const env = { ...process.env, NODE_EXTRA_CA_CERTS: cert };
      const ok = skelprune(['queue', 'status', '--queue', redis.url], env);
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(
        ok.stdout,
        /^job queue rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0: 0 worker\(s\) connected\nno sweeps/,
      );
      const wrong = skelprune(
        ['queue', 'status', '--queue', redis.url.replace('s3cret-pw', 'wrong-pw')],
        env,
      );
      assert.equal(wrong.status, 1);
      assert.match(
        wrong.stderr,
        /cannot use the job queue at rediss:\/\/:\*\*\*@.*check the user name and password in the URL/,
      );
      for (const run of [ok, wrong]) assert.doesNotMatch(run.stdout + run.stderr, /s3cret-pw|wrong-pw/);
    } finally {
      await redis.stop();
    }
  });
});
