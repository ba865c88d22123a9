import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { removeStaleTemps, writeFileAtomic } from '../../src/util/fs.js';

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

describe('atomic writes', () => {
  it('remove the temporaries of a target left by dead writers, and only those', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skelprune-atomic-'));
    const target = join(dir, 'resume.ckpt');
    const dead = deadPid();
    const names = {
      dead: `resume.ckpt.${dead}.0123abcd.tmp`,
      // A leftover of an earlier process that had this process's pid (pids repeat in containers).
      ownLeftover: `resume.ckpt.${process.pid}.89abcdef.tmp`,
      // A living process (our parent) may be writing it right now.
      live: `resume.ckpt.${process.ppid}.01234567.tmp`,
      otherTarget: `model.ckpt.${dead}.0123abcd.tmp`,
      notOurs: `resume.ckpt.${dead}.tmp`,
    };
    for (const name of Object.values(names)) writeFileSync(join(dir, name), 'partial');
    await writeFileAtomic(target, 'complete');
    assert.equal(readFileSync(target, 'utf8'), 'complete');
    assert.deepEqual(
      readdirSync(dir).sort(),
      [names.live, names.otherTarget, names.notOurs, 'resume.ckpt'].sort(),
    );
    assert.deepEqual(await removeStaleTemps(join(dir, 'model.ckpt')), [join(dir, names.otherTarget)]);
  });

  it('never remove a temporary this process is writing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skelprune-atomic-'));
    const target = join(dir, 'out.skp');
    const big = new Uint8Array(8 << 20);
    await Promise.all(Array.from({ length: 6 }, () => writeFileAtomic(target, big)));
    assert.equal(readFileSync(target).length, big.length);
    assert.deepEqual(readdirSync(dir), ['out.skp']);
  });
});
