/** Shared test utilities: tolerant comparisons, PyTorch fixtures, the shared data root. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const projectRoot = new URL('../..', import.meta.url).pathname;
/** PyTorch reference values (a copy of ../shared/fixtures, see test/fixtures/pytorch/README.md). */
export const fixturesDir = join(projectRoot, 'test/fixtures/pytorch');

/** Root of the real datasets (SBU, FPHA); SKELPRUNE_DATA_ROOT overrides ../shared/data. */
export const dataRoot = process.env.SKELPRUNE_DATA_ROOT ?? join(projectRoot, '../shared/data');

/** A skip reason when a dataset folder is missing, for `it(name, { skip }, ...)`. */
export function skipWithoutData(dataset: string): string | false {
  const path = join(dataRoot, dataset);
  return existsSync(path) ? false : `real data not found at ${path} (set SKELPRUNE_DATA_ROOT)`;
}

export interface Fixture {
  name: string;
  attrs: Record<string, unknown>;
  inputs: Record<string, { shape: number[]; data: number[] }>;
  int_inputs: Record<string, number[]>;
  output: { shape: number[]; data: number[] };
  grad_output: { shape: number[]; data: number[] };
  grads: Record<string, { shape: number[]; data: number[] }>;
}

export function loadFixture<T = Fixture>(name: string): T {
  return JSON.parse(readFileSync(join(fixturesDir, `${name}.json`), 'utf8')) as T;
}

/** Element-wise |a − e| ≤ atol + rtol·|e|, naming the first offending index. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol = 1e-5, atol = 1e-6, label = 'values' }: { rtol?: number; atol?: number; label?: string } = {},
): void {
  assert.equal(actual.length, expected.length, `${label}: length ${actual.length} ≠ ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.fail(
        `${label}[${i}]: got ${a}, expected ${e} (|Δ| = ${Math.abs(a - e)}, rtol ${rtol}, atol ${atol})`,
      );
    }
  }
}
