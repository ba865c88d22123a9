/**
 * Checks of untrusted JSON (a model file's description) without a schema library: each reader takes
 * the value and its path, and throws a `SkelpruneError` naming both on the first mismatch. The
 * runtime has no dependencies, so this small set replaces zod here.
 */
import { SkelpruneError } from '../errors.js';

export type Path = string;

/**
 * Any value of untrusted JSON for a message, in bounded time and length: never walks into arrays or
 * objects (`String()` of an array nested 50,000 deep overflows the stack), cuts strings to 40
 * characters. Also the toolkit's, for its checkpoints (`@skelprune/runtime/internal`).
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return String(value);
}

export function invalid(path: Path, expected: string, found: unknown): never {
  throw new SkelpruneError(`'${path}': expected ${expected}, found ${describeValue(found)}`);
}

export function object(path: Path, value: unknown, keys?: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(path, 'an object', value);
  const record = value as Record<string, unknown>;
  if (keys) {
    const unknownKey = Object.keys(record).find((key) => !keys.includes(key));
    if (unknownKey !== undefined)
      invalid(`${path}.${unknownKey}`, `only the keys ${keys.join(', ')}`, unknownKey);
  }
  return record;
}

export function array(path: Path, value: unknown, maxLength = Number.MAX_SAFE_INTEGER): unknown[] {
  if (!Array.isArray(value)) invalid(path, 'an array', value);
  if (value.length > maxLength) invalid(path, `at most ${maxLength} entries`, `${value.length} entries`);
  return value;
}

export function number(path: Path, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    invalid(path, `a finite number in [${min}, ${max}]`, value);
  }
  return value;
}

export function positive(path: Path, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    invalid(path, 'a positive number', value);
  return value;
}

export function integer(path: Path, value: unknown, min = 0, max = 2 ** 31 - 1): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    invalid(path, `an integer in [${min}, ${max}]`, value);
  }
  return value as number;
}

export function string(path: Path, value: unknown): string {
  if (typeof value !== 'string') invalid(path, 'a string', value);
  return value;
}

export function oneOf<T extends string>(path: Path, value: unknown, options: readonly T[]): T {
  if (!options.includes(value as T)) invalid(path, `one of ${options.join(', ')}`, value);
  return value as T;
}

export function integers(path: Path, value: unknown, max: number, maxLength?: number): number[] {
  const values = array(path, value, maxLength);
  // Index lists run to thousands of entries: name an entry's path only when it fails.
  const bad = values.findIndex((v) => !Number.isInteger(v) || (v as number) < 0 || (v as number) > max);
  if (bad >= 0) integer(`${path}.${bad}`, values[bad], 0, max);
  return values.slice() as number[];
}

export function pairs(path: Path, value: unknown, max: number): [number, number][] {
  return array(path, value).map((v, i) => {
    const pair = array(`${path}.${i}`, v);
    if (pair.length !== 2) invalid(`${path}.${i}`, 'a pair of indices', v);
    return [integer(`${path}.${i}.0`, pair[0], 0, max), integer(`${path}.${i}.1`, pair[1], 0, max)];
  });
}
