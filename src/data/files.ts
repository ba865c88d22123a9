/** File-system helpers shared by the readers: user-facing errors for missing paths, bounded parallelism. */
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SkelpruneError } from '../errors.js';
import { type FrameFile, type FrameFileFormat, parseFrameFile } from './frame-file.js';
import { decodeText } from './text.js';

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

/** Reads a UTF-8 text file; another encoding fails naming the file and line (./text.ts). */
export async function readText(path: string): Promise<string> {
  return decodeText(await readBytes(path), path);
}

/** A directory's entries by kind, symbolic links followed, each list sorted by name. */
export interface DirectoryListing {
  /** Regular files, or symbolic links to one. */
  readonly files: string[];
  /** Directories, or symbolic links to one. */
  readonly directories: string[];
  /** Symbolic links whose target cannot be reached (missing, a loop, no permission): name and why. */
  readonly broken: { readonly name: string; readonly reason: string }[];
}

/**
 * Lists a directory following symbolic links (`stat`), so a linked sequence file or folder counts as
 * what it points to, and a link that leads nowhere is listed as broken for the caller to report
 * rather than left out. Other entries (sockets, FIFOs, devices) are not listed.
 */
export async function listDirectory(path: string): Promise<DirectoryListing> {
  const listing: DirectoryListing = { files: [], directories: [], broken: [] };
  for (const entry of await listEntries(path)) {
    if (entry.isFile()) listing.files.push(entry.name);
    else if (entry.isDirectory()) listing.directories.push(entry.name);
    else if (entry.isSymbolicLink()) {
      const target = join(path, entry.name);
      try {
        const info = await stat(target);
        if (info.isFile()) listing.files.push(entry.name);
        else if (info.isDirectory()) listing.directories.push(entry.name);
      } catch (error) {
        listing.broken.push({ name: entry.name, reason: await brokenLinkReason(target, error) });
      }
    }
  }
  return listing;
}

/** Names of the entries of a directory that are directories (or links to one), sorted. */
export async function listDirectories(path: string): Promise<string[]> {
  return (await listDirectory(path)).directories;
}

/** Why `path` is a symbolic link that cannot be followed, or undefined if it is not one (or it can be). */
export async function brokenLink(path: string): Promise<string | undefined> {
  const isLink = await lstat(path).then(
    (info) => info.isSymbolicLink(),
    () => false,
  );
  if (!isLink) return undefined;
  return stat(path).then(
    () => undefined,
    (error) => brokenLinkReason(path, error),
  );
}

async function brokenLinkReason(path: string, error: unknown): Promise<string> {
  const code = (error as NodeJS.ErrnoException).code;
  const target = await readlink(path).then(
    (to) => ` '${to}'`,
    () => '',
  );
  if (code === 'ENOENT' || code === 'ENOTDIR') return `symbolic link to a missing target${target}`;
  if (code === 'ELOOP') return `symbolic link in a loop${target}`;
  if (code === 'EACCES') return `symbolic link to an unreadable target${target} (permission denied)`;
  return `symbolic link to an unreachable target${target} (${code ?? (error as Error).message})`;
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
  if (code === 'ERR_FS_FILE_TOO_LARGE')
    return new SkelpruneError(`${path}: too large to read (2 GiB at most)`);
  return error;
}
