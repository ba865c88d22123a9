import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ENGINE_REVISION } from '@skelprune/runtime/internal';
import { decode } from 'fast-png';
import { parseMethodSpec, runLabel, WorkMeter } from '../../src/report/reproduce.js';
import type { ReproduceResults } from '../../src/report/results.js';
import { inkFraction, launchChromium, skipWithoutChromium } from '../browser.js';
import { projectRoot } from '../helpers.js';

const out = mkdtempSync(join(tmpdir(), 'skelprune-reproduce-'));
const artifacts = join(projectRoot, 'test-artifacts');

describe('reproduce --quick', () => {
  it('runs the reduced protocol and writes every artifact', () => {
    const run = spawnSync(
      process.execPath,
      [join(projectRoot, 'bin/skelprune.js'), 'reproduce', '--quick', '--out', out],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(run.status, 0, run.stderr);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ReproduceResults;
    assert.equal(results.runs[0].method, 'dense');
    assert.equal(results.runs.length, 1 + 7 * 2, 'dense + 7 methods × 2 rates');
    for (const run of results.runs.slice(1)) {
      assert.ok(
        Math.abs(run.achievedRate - run.rate) < 0.001,
        `${run.method} ${run.rate}: achieved ${run.achievedRate}`,
      );
      assert.ok(run.speed && run.speed.p50Ms > 0 && run.speed.bytes > 0);
    }
    assert.match(results.provenance.command, /reproduce --quick/);
    assert.ok(results.provenance.machine.cores > 0 && results.provenance.date);
    assert.match(readFileSync(join(out, 'results.md'), 'utf8'), /\| ctf +\| +90% \| +90\.00% \|/);
    for (const chart of ['accuracy-vs-rate', 'speedup-vs-rate', 'confusion-dense', 'confusion-ctf-90']) {
      assert.match(readFileSync(join(out, 'plots', `${chart}.svg`), 'utf8'), /^<svg/);
      assert.ok(existsSync(join(out, 'plots', `${chart}.png`)));
    }
    const masks = readdirSync(join(out, 'masks'));
    for (const method of ['ctf', 'mp-structured', 'mp-unstructured']) {
      for (const layer of ['encoder', 'query', 'key', 'conv', 'fc'])
        assert.ok(masks.includes(`${method}-90-${layer}.png`), `${method} ${layer}`);
    }
    const picture = decode(readFileSync(join(out, 'masks', 'ctf-90-conv.png')));
    assert.ok(
      inkFraction(picture.data as Uint8Array, picture.channels) > 0,
      'the conv mask shows kept weights',
    );
  });

  it('retimes a model timed by another engine revision and recomputes FLOPs from the checkpoint', () => {
    const speedFile = join(out, 'ctf', '90%', 'model.speed.json');
    const resultFile = join(out, 'ctf', '90%', 'fold-1', 'result.json');
    const before = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ReproduceResults;
    const ctfBefore = before.runs.find((r) => r.method === 'ctf' && r.rate === 0.9)!;
    const stale = { ...JSON.parse(readFileSync(speedFile, 'utf8')), p50Ms: 1e6, engineRevision: 0 };
    writeFileSync(speedFile, JSON.stringify(stale));
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as { costs: { structuredMacs: number }[] };
    for (const cost of result.costs) cost.structuredMacs = 1;
    writeFileSync(resultFile, JSON.stringify(result));

    const run = spawnSync(
      process.execPath,
      [join(projectRoot, 'bin/skelprune.js'), 'reproduce', '--quick', '--out', out],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    const after = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ReproduceResults;
    const ctf = after.runs.find((r) => r.method === 'ctf' && r.rate === 0.9)!;
    assert.ok(ctf.speed && ctf.speed.p50Ms < 1e6, 'the stale timing was taken again');
    assert.equal(ctf.speed.engineRevision, ENGINE_REVISION);
    assert.equal(ctf.flops.compacted, ctfBefore.flops.compacted, 'FLOPs come from the checkpoint');
  });

  it('writes a self-contained HTML report that opens in Chromium without console errors', {
    skip: skipWithoutChromium,
  }, async () => {
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no external resources');
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`file://${join(out, 'report.html')}`);
      assert.equal(
        await page.locator('h1').textContent(),
        'Coarse-to-fine pruning on Synthetic motions (seed 1)',
      );
      assert.equal(await page.locator('.charts svg').count(), 2);
      assert.ok((await page.locator('.masks img').count()) >= 15);
      mkdirSync(artifacts, { recursive: true });
      const screenshot = await page.screenshot({ path: join(artifacts, 'report.png'), fullPage: false });
      const image = decode(screenshot);
      assert.ok(inkFraction(image.data as Uint8Array, image.channels) > 0.02, 'the screenshot is not blank');
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  it('prunes with several seeds from the same dense models, reusing the first seed’s runs', () => {
    const before = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ReproduceResults;
    const single = before.runs.find((r) => r.method === 'mp-unstructured' && r.rate === 0.9)!;
    const args = ['reproduce', '--quick', '--out', out, '--methods', 'mp-unstructured', '--rates', '0.9'];
    const run = spawnSync(
      process.execPath,
      [join(projectRoot, 'bin/skelprune.js'), ...args, '--prune-seeds', '2'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(run.status, 0, run.stderr);
    const after = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ReproduceResults;
    const seeded = after.runs.find((r) => r.method === 'mp-unstructured')!;
    assert.deepEqual(
      seeded.seeds?.map((s) => s.seed),
      [0, 1],
      'seeds from --seed (default 0) on',
    );
    assert.equal(seeded.seeds![0].top1, single.top1, 'the first seed is the earlier single-seed run');
    assert.equal(seeded.top1, (seeded.seeds![0].top1 + seeded.seeds![1].top1) / 2);
    const second = JSON.parse(
      readFileSync(join(out, 'mp-unstructured', '90%', 'seed-1', 'fold-1', 'result.json'), 'utf8'),
    ) as { identity: string };
    assert.equal(JSON.parse(second.identity).config.seed, 1);
    const table = readFileSync(join(out, 'results.md'), 'utf8');
    assert.match(table, /over 2 pruning seeds/);
    assert.match(table, /\| mp-unstructured \|.*\d% ± \d+\.\d\d \|/);
    const bad = spawnSync(
      process.execPath,
      [join(projectRoot, 'bin/skelprune.js'), ...args, '--prune-seeds', '0'],
      {
        encoding: 'utf8',
      },
    );
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--prune-seeds.*expected a whole number ≥ 1, found '0'/);
  });
});

describe('reproduce method specs', () => {
  it('parses method[@budget], names runs by both, and rejects unknown parts by name', () => {
    assert.deepEqual(parseMethodSpec('ctf'), { method: 'ctf' });
    assert.deepEqual(parseMethodSpec('ctf@weights+flops'), { method: 'ctf', budget: 'weights+flops' });
    assert.equal(runLabel({ method: 'ctf', budget: 'weights' }), 'ctf');
    assert.equal(runLabel({ method: 'ctf', budget: 'weights+flops' }), 'ctf@weights+flops');
    assert.throws(() => parseMethodSpec('ctff'), /unknown method 'ctff' in 'ctff'/);
    assert.throws(() => parseMethodSpec('ctf@bytes'), /'ctf@bytes': expected method\[@budget\]/);
    const run = spawnSync(
      process.execPath,
      [join(projectRoot, 'bin/skelprune.js'), 'reproduce', '--quick', '--methods', 'ctf,l2'],
      { encoding: 'utf8' },
    );
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /unknown method 'l2' in 'l2'/);
  });
});

describe('reproduce progress', () => {
  it('weighs epochs by their measured seconds, assuming the mean for kinds not seen yet', () => {
    const fractions: number[] = [];
    const meter = new WorkMeter((p) => fractions.push(p.fraction));
    meter.plan('dense-0', 'dense', 10);
    meter.plan('prune-0', 'ctf', 10);
    for (let e = 1; e <= 10; e++) meter.epoch('dense-0', e, 1, 'dense');
    // Before any CTF epoch, a CTF epoch is assumed to cost what a dense one does: half done.
    assert.equal(fractions.at(-1), 0.5);
    meter.epoch('prune-0', 1, 3, 'ctf');
    // Measured at 3 s a CTF epoch, the work is 10·1 + 10·3 s, of which 10 + 3 are done.
    assert.ok(Math.abs(fractions.at(-1)! - 13 / 40) < 1e-12, String(fractions.at(-1)));
    meter.finish('prune-0');
    assert.equal(fractions.at(-1), 1);
  });
});
