/**
 * Errors a user can act on (bad input, bad configuration, a wrong file). The CLI prints their message
 * as one line without a stack trace; anything else is a bug and keeps its stack. The family's root,
 * `SkelpruneError`, is the runtime package's, so errors from loading a model are the same class.
 */
import { SkelpruneError } from '@skelprune/runtime';

export { SkelpruneError };

/** Malformed input data, located by file and (1-based) line. */
export class DataFormatError extends SkelpruneError {
  override name = 'DataFormatError';
  readonly file: string;
  readonly line: number | undefined;

  constructor(file: string, line: number | undefined, message: string) {
    super(line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`);
    this.file = file;
    this.line = line;
  }
}

/** A configuration key or value that fails validation. */
export class ConfigError extends SkelpruneError {
  override name = 'ConfigError';
}
