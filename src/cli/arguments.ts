/** Parsers of option arguments shared by the commands; commander names the option in the error. */
import { InvalidArgumentError } from 'commander';

export function parsePositiveInteger(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a whole number ≥ 1, found '${text}'`);
  return n;
}
