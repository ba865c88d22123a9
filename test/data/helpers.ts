/** Shared test helpers: where the real datasets live, and scratch folders under the OS temp dir. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/data). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** `$SKELPRUNE_DATA_ROOT`, or `../shared/data` beside the repository. */
export const DATA_ROOT = process.env.SKELPRUNE_DATA_ROOT ?? resolve(REPO_ROOT, '../shared/data');

/** The real dataset folder, and a skip reason for node:test when it is absent. */
export function realDataset(name: 'SBU' | 'FPHA'): { path: string; skip: string | false } {
  const path = join(DATA_ROOT, name);
  const skip = existsSync(path)
    ? false
    : `real ${name} data not found at ${path} (set SKELPRUNE_DATA_ROOT to the folder holding ${name}/)`;
  return { path, skip };
}

let scratchRoot: string | undefined;

/** A fresh empty folder under the OS temp dir; all of them are removed when the process exits. */
export function scratchDir(label: string): string {
  if (!scratchRoot) {
    const root = mkdtempSync(join(tmpdir(), 'skelprune-test-'));
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
    scratchRoot = root;
  }
  return mkdtempSync(join(scratchRoot, `${label}-`));
}

/** A line of `count` numbers joined by `separator`, values derived from `seed` (not real data). */
export function numberLine(count: number, separator: string, seed = 1): string {
  return Array.from({ length: count }, (_, i) => ((seed * 37 + i * 13) % 1000) / 997).join(separator);
}
