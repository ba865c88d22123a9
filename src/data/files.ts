/** File-system helpers shared by the readers: user-facing errors for missing paths, bounded parallelism. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { SkelpruneError } from '../errors.js';
import { type FrameFile, type FrameFileFormat, parseFrameFile } from './frame-file.js';

/** Reads a whole file; a missing file is a user error naming it. */
export async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw asUserError(error, path);
  }
}

export async function readFrameFile(path: string, format: FrameFileFormat): Promise<FrameFile> {
  return parseFrameFile(await readBytes(path), path, format);
}

export async function readText(path: string): Promise<string> {
  return Buffer.from(await readBytes(path)).toString('utf8');
}

/** Names of the entries of a directory that are themselves directories, sorted. */
export async function listDirectories(path: string): Promise<string[]> {
  return (await listEntries(path)).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
}

/** Names of the entries of a directory that are regular files, sorted. */
export async function listFiles(path: string): Promise<string[]> {
  return (await listEntries(path)).filter((entry) => entry.isFile()).map((entry) => entry.name);
}

async function listEntries(path: string) {
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (error) {
    throw asUserError(error, path);
  }
}

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Requires `path` to be an existing directory, explaining what the reader expected to find there. */
export async function requireDirectory(path: string, expected: string): Promise<void> {
  const isDirectory = await stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );
  if (!isDirectory) throw new SkelpruneError(`${path}: no such directory (expected ${expected})`);
}

/** Like `Promise.all(items.map(fn))` with at most `limit` calls in flight (file handles are finite). */
export async function mapWithLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function asUserError(error: unknown, path: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new SkelpruneError(`${path}: no such file or directory`);
  if (code === 'EISDIR') return new SkelpruneError(`${path}: is a directory, expected a file`);
  if (code === 'ENOTDIR') return new SkelpruneError(`${path}: is not a directory`);
  if (code === 'EACCES') return new SkelpruneError(`${path}: permission denied`);
  return error;
}
