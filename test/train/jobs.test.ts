import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { describe, it } from 'node:test';
import { jobSpec, runJobs } from '../../src/train/jobs.js';

describe('job workers', () => {
  it('run jobs in parallel processes, in order, with their events', { timeout: 30_000 }, async () => {
    const events: [number, number][] = [];
    const results = await runJobs<number, number>(
      [3, 4, 5].map((n) => jobSpec('./count-job.js', import.meta.url, 'countJob', n)),
      2,
      (index, n) => events.push([index, n]),
    );
    assert.deepEqual(results, [6, 10, 15]);
    assert.deepEqual(
      events.filter(([index]) => index === 1).map(([, n]) => n),
      [1, 2, 3, 4],
    );
  });

  it('stop with one line, not a crash, when their parent goes away', { timeout: 30_000 }, async () => {
    const child = fork(new URL('../../src/train/job-worker.js', import.meta.url), [], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.send(jobSpec('./count-job.js', import.meta.url, 'countJob', -1));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.disconnect();
    assert.equal(await exited, 130);
    assert.equal(
      stderr,
      'skelprune job worker: the parent process is gone; stopping (resume with --resume)\n',
    );
  });
});
