/** Creating folders without Node's recursive `mkdir`, which can spin forever. */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * `mkdir -p`, one folder at a time. Node's `mkdir(path, { recursive: true })` never returns where a
 * parent exists but refuses children with ENOENT (anywhere under /proc, or below a dangling symbolic
 * link); here that ENOENT is thrown at once.
 */
export async function makeDirectory(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let current = dir; ; current = dirname(current)) {
    const exists = await stat(current).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    if (exists || dirname(current) === current) break;
    missing.unshift(current);
  }
  for (const folder of missing) {
    await mkdir(folder).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
}
