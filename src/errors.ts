/**
 * Errors a user can act on (bad input, bad configuration, a wrong file). The CLI prints their message
 * as one line without a stack trace; anything else is a bug and keeps its stack. The family's root,
 * `SkelpruneError`, is the runtime package's, so errors from loading a model are the same class.
 */
import { SkelpruneError } from '@skelprune/runtime';

export { SkelpruneError };

/** Malformed input data, located by file and (1-based) line. */
export class DataFormatError extends SkelpruneError {
  /** `DataFormatError`. */
  override name = 'DataFormatError';
  /** The file at fault. */
  readonly file: string;
  /** Its 1-based line, when one line is at fault. */
  readonly line: number | undefined;

  constructor(file: string, line: number | undefined, message: string) {
    super(line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`);
    this.file = file;
    this.line = line;
  }
}

/** A configuration key or value that fails validation. */
export class ConfigError extends SkelpruneError {
  /** `ConfigError`. */
  override name = 'ConfigError';
}

/**
 * Long work (training, pruning, a reproduction) stopped by its `AbortSignal`. Every finished epoch is
 * saved, so the same call with `resume: true` continues where it stopped. `cause` is the signal's
 * reason.
 */
export class CancelledError extends SkelpruneError {
  /** `CancelledError`. */
  override name = 'CancelledError';

  constructor(reason: unknown) {
    const why = reason instanceof Error ? reason.message : reason === undefined ? '' : String(reason);
    super(`cancelled${why ? ` (${why})` : ''}; run it again with resume to continue where it stopped`, {
      cause: reason,
    });
  }
}

/** Throws a CancelledError when `signal` has been aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError(signal.reason);
}

/** What went wrong and what to do, per errno code of a failed file-system call. */
const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: 'no such file or directory; check the path',
  EISDIR: 'a folder, not a file; pass a file',
  ENOTDIR: 'a part of this path is a file, not a folder; choose another path',
  EEXIST: 'already exists; choose another path',
  EACCES: 'permission denied; choose another path or change its permissions',
  EPERM: 'operation not permitted; choose another path or change its permissions',
  EROFS: 'the file system is read-only; choose a writable location',
  ENOSPC: 'no space left on the device; free some space or choose another location',
  EDQUOT: 'disk quota exceeded; free some space or choose another location',
  ENAMETOOLONG: 'the name is too long; choose a shorter path',
  ELOOP: 'too many levels of symbolic links; check the path',
  EBUSY: 'the file or folder is busy; choose another path',
};

function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}

/**
 * The SkelpruneError for a failed file-system call (Node's ENOENT, EISDIR, EACCES, ... errors): one
 * line naming the path and what to do. `path` stands in where the error names none (a read of a
 * folder, a write to a full disk). Any other error is returned as it is.
 */
export function userError(error: unknown, path?: string): unknown {
  if (!isSystemError(error)) return error;
  const problem = FILE_PROBLEMS[error.code as string];
  const where = error.path ?? path;
  if (!problem) return error;
  // ENOENT from mkdir: the parent exists but cannot hold a new folder (e.g. under /proc).
  const what =
    error.code === 'ENOENT' && error.syscall === 'mkdir'
      ? 'cannot create a folder here; choose another location'
      : problem;
  if (where === undefined) return new SkelpruneError(what, { cause: error });
  // An atomic write's temporary sibling (`<target>.<pid>.<8 hex>.tmp`) stands for its target.
  return new SkelpruneError(`${where.replace(/\.\d+\.[0-9a-f]{8}\.tmp$/, '')}: ${what}`, { cause: error });
}

/** `work`, with its file-system errors turned into SkelpruneErrors by `userError`. */
export async function withUserErrors<T>(work: Promise<T>, path?: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw userError(error, path);
  }
}
