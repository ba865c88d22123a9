/**
 * File writes that never leave a half-written file: write a temporary sibling, then rename over.
 * A temporary's name embeds its writer's pid (`<target>.<pid>.<8 hex>.tmp`), so a later write of the
 * same target, or a resumed run, can tell the leftovers of a killed writer from a live one's.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { makeDirectory } from './directory.js';

/** Temporaries this process is writing now (a leftover of an earlier process may bear our pid). */
const writing = new Set<string>();

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await writeFilesAtomic([{ path, data }]);
}

/** `value` as indented JSON with a final newline, written atomically (`writeFileAtomic`). */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Writes several files that belong together (a model and its ONNX twin): every temporary is written
 * and synced first, and only when all of them succeeded are they renamed over their targets, so an
 * unwritable second destination leaves the first target untouched too.
 */
export async function writeFilesAtomic(
  files: readonly { path: string; data: Uint8Array | string }[],
): Promise<void> {
  const temps: string[] = [];
  try {
    for (const { path, data } of files) {
      await makeDirectory(dirname(path));
      await removeStaleTemps(path);
      const tmp = join(
        dirname(path),
        `${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
      );
      writing.add(resolve(tmp));
      temps.push(tmp);
      const handle = await open(tmp, 'w');
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    for (const [i, { path }] of files.entries()) await rename(temps[i], path);
  } catch (error) {
    await Promise.all(temps.map((tmp) => rm(tmp, { force: true })));
    throw error;
  } finally {
    for (const tmp of temps) writing.delete(resolve(tmp));
  }
}

/** Whether process `pid` exists (signal 0 tests without signalling; EPERM: it exists, not ours). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporaries of `path` left by writers that were killed mid-write: those whose pid names
 * no living process, and those bearing this process's pid that it is not writing (a pid reused since,
 * as in containers). A temporary whose pid is alive is kept: it may be another process writing now
 * (if the pid was merely reused, the file is only left over, never a live write destroyed). Returns
 * the paths removed.
 */
export async function removeStaleTemps(path: string): Promise<string[]> {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = name.startsWith(prefix)
      ? /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name.slice(prefix.length))
      : null;
    if (!match) continue;
    const tmp = join(dir, name);
    const pid = Number(match[1]);
    const stale = pid === process.pid ? !writing.has(resolve(tmp)) : !processAlive(pid);
    if (!stale) continue;
    await rm(tmp, { force: true });
    removed.push(tmp);
  }
  return removed;
}
