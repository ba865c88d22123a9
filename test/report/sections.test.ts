import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { reproduce } from '../../src/api/reproduce.js';
import {
  accuracyPoints,
  curveChart,
  lossPoints,
  MASK_SERIES,
  maskPoints,
  phaseStarts,
  readRunLogs,
  schedulePoints,
} from '../../src/report/curves.js';
import { datasetFingerprint } from '../../src/report/provenance.js';
import type { RunFigures } from '../../src/report/results.js';
import { cellCommands, classAccuracies, runDetails } from '../../src/report/run-details.js';
import { detailSections } from '../../src/report/sections.js';
import { projectRoot } from '../helpers.js';
import { reproduceResults, runFigures } from './fixtures.js';

const record = (
  phase: string,
  epoch: number,
  loss: number,
  extra: Record<string, number>,
  validation = true,
) =>
  JSON.stringify({
    phase,
    epoch,
    loss,
    lr: 0.001,
    trainAccuracy: epoch / 10,
    validation: validation ? { top1: epoch / 5, meanClass: epoch / 5, loss: loss + 1 } : null,
    seconds: 0.1,
    extra,
  });

/** Two CTF pruning epochs and one fine-tuning epoch, fold 1 only. */
const CTF_LOG = [
  record('prune', 1, 3, { softKept: 0.9, targetKept: 0.5, roundedKept: 0.95, sigma: 0.3, lambda: 1e-4 }),
  record('prune', 2, 2.5, { softKept: 0.6, targetKept: 0.1, roundedKept: 0.62, sigma: 0.01, lambda: 1e-2 }),
  'not json',
  record('finetune', 1, 1.5, {}, false),
].join('\n');

function runFolderWithLog(log: string | null): string {
  const dir = mkdtempSync(join(tmpdir(), 'skelprune-sections-'));
  mkdirSync(join(dir, 'fold-1'), { recursive: true });
  if (log !== null) writeFileSync(join(dir, 'fold-1', 'log.jsonl'), log);
  return dir;
}

describe('training curves from log.jsonl', () => {
  it('turns a known log into the charts’ data values', async () => {
    const logs = await readRunLogs(runFolderWithLog(CTF_LOG));
    assert.equal(logs.length, 1);
    assert.equal(logs[0].records.length, 3, 'the line that is not a record is skipped');
    const starts = phaseStarts(logs);
    assert.deepEqual(starts, [{ epoch: 2.5, phase: 'finetune' }]);

    const spec = curveChart(lossPoints(logs), {
      title: 't',
      yTitle: 'loss',
      log: true,
      starts,
    }) as unknown as {
      layer: { data: { values: unknown[] } }[];
    };
    assert.deepEqual(spec.layer[0].data.values, [
      { fold: 'fold 1', epoch: 1, phase: 'prune', series: 'train', value: 3 },
      { fold: 'fold 1', epoch: 1, phase: 'prune', series: 'validation', value: 4 },
      { fold: 'fold 1', epoch: 2, phase: 'prune', series: 'train', value: 2.5 },
      { fold: 'fold 1', epoch: 2, phase: 'prune', series: 'validation', value: 3.5 },
      { fold: 'fold 1', epoch: 3, phase: 'finetune', series: 'train', value: 1.5 },
    ]);
    assert.deepEqual(spec.layer[1].data.values, starts, 'the phase boundary is a rule');
    assert.deepEqual(
      accuracyPoints(logs).map((p) => [p.epoch, p.series, Math.round(p.value)]),
      [
        [1, 'train', 10],
        [1, 'validation', 20],
        [2, 'train', 20],
        [2, 'validation', 40],
        [3, 'train', 10],
      ],
    );
    const mask = maskPoints(logs);
    assert.deepEqual(
      mask.filter((p) => p.series === MASK_SERIES.soft).map((p) => [p.epoch, p.value]),
      [
        [1, 90],
        [2, 60],
      ],
    );
    assert.deepEqual(
      mask.filter((p) => p.series === MASK_SERIES.target).map((p) => [p.epoch, p.value]),
      [
        [1, 50],
        [2, 10],
      ],
    );
    assert.ok(
      mask.every((p) => p.phase === 'prune'),
      'only the pruning phase has a mask',
    );
    assert.deepEqual(
      schedulePoints(logs).map((p) => [p.series.split(' ')[0], p.value]),
      [
        ['σ', 0.3],
        ['λ', 1e-4],
        ['σ', 0.01],
        ['λ', 1e-2],
      ],
    );
  });

  it('handles runs without logs: no curves, a note, and the other sections still made', async () => {
    assert.deepEqual(await readRunLogs(runFolderWithLog(null)), []);
    assert.deepEqual(await readRunLogs('/nonexistent/skelprune/run'), []);
    const results = reproduceResults(0, [runFigures('dense', 0, [0.8]), runFigures('ctf', 0.9, [0.7])]);
    for (const run of results.runs) run.checkpoint = `/nonexistent/skelprune/${run.method}/fold-1/model.ckpt`;
    const sections = await detailSections(results);
    assert.deepEqual(
      sections.map((s) => s.id),
      ['training-curves', 'runs', 'provenance'],
    );
    assert.match(sections[0].html, /No run folder holds a training log/);
    assert.match(sections[1].html, /per-layer tables need/);
    assert.match(sections[2].html, /not recorded/, 'older results without provenance fields');
  });

  it('escapes every text it shows', async () => {
    const results = reproduceResults(0, [runFigures('dense', 0, [0.8])]);
    results.classNames = ['<b>a</b>', 'b & c'];
    results.provenance.command = 'skelprune reproduce --out "<x>"';
    results.runs[0].checkpoint = '/nonexistent/skelprune/dense/fold-1/model.ckpt';
    const html = (await detailSections(results)).map((s) => s.html).join('');
    assert.doesNotMatch(html, /<b>a<\/b>|"<x>"/);
    assert.match(html, /&lt;b&gt;a&lt;\/b&gt;/);
  });
});

describe('per-run details', () => {
  it('computes per-class accuracy and the most frequent confusion', () => {
    const classes = classAccuracies(
      [
        [3, 1],
        [0, 4],
      ],
      ['a', 'b'],
    );
    assert.deepEqual(classes[0], {
      name: 'a',
      sequences: 4,
      correct: 3,
      accuracy: 0.75,
      confusedWith: { name: 'b', count: 1 },
    });
    assert.equal(classes[1].confusedWith, null);
  });

  it('quotes paths with spaces in the commands for a cell', () => {
    const dense = { ...runFigures('dense', 0, [0.8]), checkpoint: '/r s/dense/fold-1/model.ckpt' };
    const ctf = { ...runFigures('ctf', 0.9, [0.7]), checkpoint: '/r s/ctf/90%/fold-1/model.ckpt' };
    assert.deepEqual(cellCommands(ctf, dense), [
      "skelprune train --config '/r s/dense/config.json' --out runs/cell/dense",
      "skelprune prune --config '/r s/ctf/90%/config.json' --from runs/cell/dense --out runs/cell/ctf-90",
    ]);
  });

  it('on a real reproduction: table totals equal the achieved rate and FLOPs, the cell commands redo the run, provenance is recorded', async () => {
    const out = mkdtempSync(join(tmpdir(), 'skelprune-details-'));
    const { results } = await reproduce({ quick: true, methods: ['ctf'], rates: [0.9], out });
    const ctf = results.runs.find((r) => r.method === 'ctf') as RunFigures;
    const details = await runDetails(ctf, results);
    assert.ok(details.pruning, details.notes.join(' '));
    const { totals, layers, costs } = details.pruning;
    assert.ok(Math.abs(totals.achievedRate - ctf.achievedRate) < 1e-12);
    assert.deepEqual(totals.flops, ctf.flops);
    assert.equal(layers.at(-1)![0], 'total');
    assert.equal(layers.at(-1)![2], `${(100 * ctf.achievedRate).toFixed(2)}%`);
    assert.deepEqual(
      costs.at(-1),
      ['total', ctf.flops.dense, ctf.flops.compacted, ctf.flops.sparse].map((v) => v.toLocaleString('en-US')),
    );
    assert.equal((details.config?.json as { method?: string } | undefined)?.method, 'ctf');

    // The log carries the mask figures, the rounded mask among them.
    const logs = await readRunLogs(join(out, 'ctf', '90%'));
    assert.ok(logs[0].records.filter((r) => r.phase === 'prune').every((r) => 'roundedKept' in r.extra));

    // Provenance: commit (or why none), dataset, phases.
    const p = results.provenance;
    assert.ok(p.code && (p.code.commit === null ? p.code.note : /^[0-9a-f]{40}$/.test(p.code.commit)));
    assert.equal(p.data?.kind, 'synthetic');
    assert.deepEqual(
      p.phases?.map((x) => x.phase),
      ['dense training', 'pruning and fine-tuning', 'export and timing'],
    );
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const id of ['training-curves', 'runs', 'provenance']) assert.match(html, new RegExp(`id="${id}"`));
    assert.ok(existsSync(join(out, 'plots', 'curves', 'ctf-90-mask.svg')));

    // The commands, run elsewhere, give the same pruned model.
    const cell = mkdtempSync(join(tmpdir(), 'skelprune-cell-'));
    for (const line of details.commands) {
      const run = spawnSync(
        'sh',
        [
          '-c',
          line.replace(/^skelprune /, `"${process.execPath}" "${join(projectRoot, 'bin/skelprune.js')}" `),
        ],
        {
          cwd: cell,
          encoding: 'utf8',
        },
      );
      assert.equal(run.status, 0, `${line}\n${run.stderr}`);
    }
    const redone = JSON.parse(readFileSync(join(cell, 'runs/cell/ctf-90/result.json'), 'utf8'));
    assert.equal(redone.achievedRate, ctf.achievedRate);
    assert.equal(redone.metrics.top1, ctf.top1);
  });
});

describe('dataset fingerprint', () => {
  it('hashes the sorted file list with sizes, independent of creation order', async () => {
    const a = mkdtempSync(join(tmpdir(), 'skelprune-fp-'));
    const b = mkdtempSync(join(tmpdir(), 'skelprune-fp-'));
    mkdirSync(join(a, 'sub'));
    mkdirSync(join(b, 'sub'));
    writeFileSync(join(a, 'x.txt'), '12');
    writeFileSync(join(a, 'sub', 'y.txt'), '345');
    writeFileSync(join(b, 'sub', 'y.txt'), '345');
    writeFileSync(join(b, 'x.txt'), '12');
    const fa = await datasetFingerprint('generic', a);
    const fb = await datasetFingerprint('generic', b);
    assert.equal(fa.files, 2);
    assert.equal(fa.bytes, 5);
    assert.equal(fa.sha256, fb.sha256);
    writeFileSync(join(b, 'x.txt'), '123');
    assert.notEqual((await datasetFingerprint('generic', b)).sha256, fa.sha256);
    assert.equal((await datasetFingerprint('synthetic', undefined)).sha256, null);
  });
});
