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
