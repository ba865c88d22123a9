/** Parsers of option arguments shared by the commands; commander names the option in the error. */
import { InvalidArgumentError } from 'commander';

/** Any finite number, as typed (`1e-3`, `0.5`); the settings' schema checks its range. */
export function parseNumber(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n))
    throw new InvalidArgumentError(`expected a number, found '${text}'`);
  return n;
}

export function parsePositiveInteger(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a whole number ≥ 1, found '${text}'`);
  return n;
}

export function parseNonNegativeInteger(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected a whole number ≥ 0, found '${text}'`);
  return n;
}

/** A 1-based fold number or `all`. */
export function parseFold(text: string): number | 'all' {
  if (text === 'all') return 'all';
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a fold number (1, 2, ...) or 'all', found '${text}'`);
  return n;
}
