/**
 * Where a reproduction's code and data came from, beyond the machine: the git commit of the skelprune
 * checkout (and whether its tree had changes), a fingerprint of the dataset's files, and the wall
 * time of each phase.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The git state of the skelprune checkout that ran, or why there is none. */
export type CodeState =
  | {
      /** The checked-out commit (40 hex digits). */
      commit: string;
      /** Whether tracked or untracked files differed from that commit. */
      dirty: boolean;
      /** Paths that differed (at most 20, as `git status --porcelain` names them). */
      changes: string[];
    }
  | {
      /** No commit known. */
      commit: null;
      /** Why no commit is recorded (not a git checkout, git not installed, ...). */
      note: string;
    };

/** The dataset's files, fingerprinted, or how a generated dataset was made. */
export interface DatasetFingerprint {
  /** The dataset format (`sbu`, `fpha`, `generic`, `synthetic`). */
  kind: string;
  /** The dataset folder, as given; null for synthetic data. */
  path: string | null;
  /** Regular files under it (symbolic links followed); 0 for synthetic data. */
  files: number;
  /** Their total size in bytes. */
  bytes: number;
  /** SHA-256 of the sorted lines `relative/path<TAB>size`; null for synthetic data. */
  sha256: string | null;
  /** What the fingerprint covers, or why there is none. */
  note: string;
}

/** The wall time of one phase of a reproduction, in this invocation (steps found done take ~0 s). */
export interface PhaseTime {
  /** `dense training`, `pruning and fine-tuning` or `export and timing`. */
  phase: string;
  /** Wall-clock seconds. */
  seconds: number;
}

/** The package root: three levels above the compiled dist/src/report. */
const packageRoot = () => fileURLToPath(new URL('../../../', import.meta.url));

const git = (args: string[], cwd: string) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });

/** The git commit of the skelprune checkout in `root` (default: this package's), and its changes. */
export function codeState(root = packageRoot()): CodeState {
  let top: string;
  try {
    top = git(['rev-parse', '--show-toplevel'], root).trim();
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return {
      commit: null,
      note: missing
        ? 'git is not installed, so the commit is unknown'
        : `${root} is not inside a git checkout (an installed package), so the commit is unknown`,
    };
  }
  try {
    const commit = git(['rev-parse', 'HEAD'], top).trim();
    const changes = git(['status', '--porcelain'], top)
      .split('\n')
      .filter((line) => line.trim() !== '');
    return { commit, dirty: changes.length > 0, changes: changes.slice(0, 20) };
  } catch (error) {
    return { commit: null, note: `git could not read ${top}: ${(error as Error).message.split('\n')[0]}` };
  }
}

/** The regular files under `dir`, symbolic links followed (each real folder visited once). */
async function listFiles(dir: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  const seen = new Set<string>();
  const walk = async (folder: string) => {
    const info = await stat(folder);
    const key = `${info.dev}:${info.ino}`;
    if (seen.has(key)) return;
    seen.add(key);
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      const target = entry.isSymbolicLink() ? await stat(path).catch(() => null) : null;
      if (entry.isDirectory() || target?.isDirectory()) await walk(path);
      else if (entry.isFile() || target?.isFile())
        out.push({ path: relative(dir, path).split('\\').join('/'), size: (await stat(path)).size });
    }
  };
  await walk(dir);
  return out;
}

/** A fingerprint of the dataset's files: their count, total size and a hash of the sorted list. */
export async function datasetFingerprint(
  kind: string,
  path: string | undefined,
): Promise<DatasetFingerprint> {
  if (kind === 'synthetic' || path === undefined) {
    return {
      kind,
      path: path ?? null,
      files: 0,
      bytes: 0,
      sha256: null,
      note: 'generated from the seed and synthetic settings (see the runs’ configuration); no files',
    };
  }
  const files = (await listFiles(path)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f.path}\t${f.size}\n`);
  return {
    kind,
    path,
    files: files.length,
    bytes: files.reduce((s, f) => s + f.size, 0),
    sha256: hash.digest('hex'),
    note: 'SHA-256 of the sorted list of files with their sizes (names and sizes, not contents)',
  };
}

/** Times phases one after the other. */
export class PhaseClock {
  readonly phases: PhaseTime[] = [];

  async time<T>(phase: string, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await run();
    } finally {
      this.phases.push({ phase, seconds: (performance.now() - started) / 1000 });
    }
  }
}
