/**
 * The job queue's Redis URL: `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. A
 * password in it is never printed. (Kept apart from BullMQ so that checking a URL loads no client.)
 */
import { SkelpruneError } from '../errors.js';

/** `url` with its password (if any) replaced by `***`, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return '(an unparsable URL)';
  }
}

/** Refuses anything but `redis://[user:password@]host[:port][/db]` or the same with `rediss://`. */
export function checkQueueUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SkelpruneError(
      `--queue ${redactUrl(url)}: expected a Redis URL, redis://[user:password@]host[:port][/db] (rediss:// for TLS)`,
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new SkelpruneError(
      `--queue ${redactUrl(url)}: expected redis:// or rediss:// (TLS), found ${parsed.protocol}//`,
    );
  if (!/^(\/\d*)?$/.test(parsed.pathname))
    throw new SkelpruneError(`--queue ${redactUrl(url)}: the path is the database number, e.g. /0`);
}

/** A command line with the password of every Redis URL in it replaced by `***` (it is recorded in reports). */
export function redactCommand(command: string): string {
  return command.replace(/(rediss?:\/\/[^\s/@:]*:)[^\s@]*@/g, '$1***@');
}
