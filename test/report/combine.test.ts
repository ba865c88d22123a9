import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type CombineSource, combineResults, readResults } from '../../src/report/combine.js';
import { projectRoot } from '../helpers.js';
import { reproduceResults, runFigures } from './fixtures.js';

/** A run with two folds whose accuracies are given; the other figures are fixed. */
const run = (method: string, rate: number, fold1: number, fold2: number) =>
  runFigures(method, rate, [fold1, fold2]);
const results = reproduceResults;

const sources: CombineSource[] = [
  { dir: 'runs/s0', results: results(0, [run('dense', 0, 0.9, 1), run('l1', 0.9, 0.8, 0.9)]) },
  {
    dir: 'runs/s1',
    results: results(1, [run('dense', 0, 0.8, 1), run('l1', 0.9, 0.6, 0.9), run('l0', 0.9, 0.5, 0.5)]),
  },
];

describe('combine', () => {
  it('averages each method and rate over the repetitions and keeps each one’s mean', () => {
    const { results: combined, leftOut } = combineResults(sources, 'skelprune combine runs/s0 runs/s1');
    assert.deepEqual(
      combined.runs.map((r) => r.method),
      ['dense', 'l1'],
    );
    assert.deepEqual(leftOut, ['l0 90%'], 'a run missing from one repetition is named, not averaged');
    const l1 = combined.runs[1];
    assert.ok(Math.abs(l1.top1 - 0.8) < 1e-12, `mean of 0.85 and 0.75, found ${l1.top1}`);
    assert.ok(Math.abs(l1.folds[0].top1 - 0.7) < 1e-12, 'fold 1: mean of 0.8 and 0.6');
    assert.deepEqual(
      l1.seeds?.map((s) => s.seed),
      [0, 1],
    );
    assert.deepEqual(
      combined.repetitions?.map((r) => r.dir),
      ['runs/s0', 'runs/s1'],
    );
    assert.equal(combined.provenance.command, 'skelprune combine runs/s0 runs/s1');
  });

  it('refuses runs of different protocols, twice the same seed, or a single run', () => {
    const fpha = {
      ...sources[1],
      results: { ...sources[1].results, dataset: { ...sources[1].results.dataset, name: 'fpha' } },
    };
    assert.throws(
      () => combineResults([sources[0], fpha], 'c'),
      /runs\/s1 is not the same protocol as runs\/s0/,
    );
    const twin = { dir: 'runs/again', results: sources[0].results };
    assert.throws(
      () => combineResults([sources[0], twin], 'c'),
      /runs\/again and runs\/s0 both ran with seed 0/,
    );
    assert.throws(() => combineResults([sources[0]], 'c'), /at least two runs, found 1/);
  });

  it('names the file and the field of an unreadable results.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skelprune-combine-'));
    await assert.rejects(readResults(dir), /results\.json: not found \(expected the output folder/);
    writeFileSync(join(dir, 'results.json'), '{"dataset":');
    await assert.rejects(readResults(dir), /results\.json: not valid JSON/);
    writeFileSync(
      join(dir, 'results.json'),
      JSON.stringify({ ...sources[0].results, runs: [{ method: 'dense' }] }),
    );
    await assert.rejects(readResults(dir), /results\.json: runs\[0\]\.rate: .*found nothing/);
  });

  it('writes the combined report from the command line', () => {
    const root = mkdtempSync(join(tmpdir(), 'skelprune-combine-'));
    const dirs = sources.map((source) => {
      const dir = join(root, source.dir);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'results.json'), JSON.stringify(source.results));
      return dir;
    });
    const out = join(root, 'combined');
    const cli = spawnSync(
      process.execPath,
      [join(projectRoot, 'bin/skelprune.js'), 'combine', ...dirs, '--out', out],
      { encoding: 'utf8' },
    );
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stderr, /left out \(not in every run combined\): l0 90%/);
    const markdown = readFileSync(join(out, 'results.md'), 'utf8');
    assert.match(markdown, /over 2 repetitions of the whole protocol \(seeds 0, 1\)/);
    assert.match(markdown, /\| l1 +\| +90% \| +90\.00% \| 80\.0% ± 5\.00 \|/);
    assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /80\.0% ± 5\.00/);
  });
});
