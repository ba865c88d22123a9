/**
 * report.html as a reader sees it, in headless Chromium at 1,280 px: nothing wider than the window,
 * every picture and chart loaded, every table-of-contents link landing on a section, no console
 * errors, and the quick-run warning exactly where the run was quick. Also: every column is explained
 * in the same words in report.html and results.md.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { reproduce } from '../../src/api/reproduce.js';
import { resultsMarkdown } from '../../src/report/artifacts.js';
import { renderHtmlReport } from '../../src/report/html.js';
import {
  COMPARISON_COLUMN_DEFINITIONS,
  QUICK_WARNING,
  RESULT_COLUMN_DEFINITIONS,
  type ReproduceResults,
} from '../../src/report/results.js';
import { launchChromium, skipWithoutChromium } from '../browser.js';
import { projectRoot } from '../helpers.js';
import { reproduceResults, runFigures } from './fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'skelprune-report-page-'));
const quickDir = join(work, 'quick');
const artifacts = join(projectRoot, 'test-artifacts');

/** A full-size (not quick) five-fold result with the widest cells the table can have. */
function fullResults(): ReproduceResults {
  const folds = [0.95, 0.9, 1, 0.97, 0.96];
  const wide = runFigures('ctf@weights+flops', 0.95, folds);
  wide.seeds = [
    { seed: 0, top1: 0.951, meanClass: 0.94 },
    { seed: 1, top1: 0.9575, meanClass: 0.95 },
  ];
  wide.parameters = 12_345_678;
  wide.flops = { dense: 123.45e6, compacted: 123.45e6, sparse: 99.99e6 };
  return {
    ...reproduceResults(0, [
      runFigures('dense', 0, folds),
      runFigures('ctf', 0.9, folds),
      wide,
      runFigures('mp-unstructured', 0.95, folds),
    ]),
    quick: false,
  };
}

/** What a reader's browser finds wrong with a page: overflow, broken pictures, dead links, errors. */
async function inspect(page: Page, file: string) {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`file://${file}`);
  const found = await page.evaluate(() => {
    const root = document.documentElement;
    return {
      pageOverflow: root.scrollWidth - root.clientWidth,
      /** Tables wider than their container (they scroll inside it, but should not need to). */
      scrollingTables: [...document.querySelectorAll('.table-scroll')]
        .filter((d) => d.scrollWidth > d.clientWidth + 1)
        .map((d) => d.querySelector('table')?.className || 'table'),
      images: [...document.querySelectorAll('img')].map((img) => ({
        alt: img.alt,
        loaded: img.complete && img.naturalWidth > 0,
      })),
      rateCharts: [...document.querySelectorAll('.rate-charts svg')].map(
        (svg) => svg.getBoundingClientRect().width,
      ),
      /** Charts of every section (detail sections included) shown but empty (closed <details> aside). */
      emptyCharts: [...document.querySelectorAll('.charts svg')].filter((svg) => {
        const box = svg.getBoundingClientRect();
        return (
          svg.checkVisibility() &&
          (box.width === 0 || box.height === 0 || svg.querySelectorAll('path, rect, line').length === 0)
        );
      }).length,
      anchors: [...document.querySelectorAll('nav.toc a')].map((a) => {
        const id = (a.getAttribute('href') ?? '').slice(1);
        return { id, title: a.textContent, target: document.getElementById(id)?.tagName ?? null };
      }),
      headings: [...document.querySelectorAll('section > h2[id]')].map((h) => h.id),
      banner: document.querySelector('.quick-banner')?.textContent ?? null,
    };
  });
  return { ...found, errors };
}

describe('report.html in a 1,280 px window', { skip: skipWithoutChromium }, () => {
  let browser: Browser;
  before(async () => {
    await reproduce({
      quick: true,
      out: quickDir,
      rates: [0.9],
      methods: ['ctf', 'mp-structured', 'mp-unstructured'],
      speedRepeats: 20,
      train: { epochs: 1, synthetic: { sequencesPerClass: 6 } },
      prune: { pruneEpochs: 1, finetuneEpochs: 1, synthetic: { sequencesPerClass: 6 } },
      command: 'report-page test',
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('shows a quick report whole: fits, loads, links resolve, warns, no errors', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const found = await inspect(page, join(quickDir, 'report.html'));
    assert.ok(found.pageOverflow <= 0, `the page is ${found.pageOverflow} px wider than the window`);
    assert.deepEqual(found.scrollingTables, [], 'tables wider than the page');
    assert.ok(found.images.length >= 15, `${found.images.length} mask pictures`);
    assert.deepEqual(
      found.images.filter((i) => !i.loaded),
      [],
      'pictures that did not load',
    );
    assert.equal(found.rateCharts.length, 2, 'accuracy and speed-up against the rate');
    for (const width of found.rateCharts) assert.ok(width > 200 && width <= 1200, `chart ${width} px wide`);
    assert.equal(found.emptyCharts, 0, 'charts that drew nothing');
    assert.ok(found.anchors.length >= 5, 'a table of contents');
    assert.deepEqual(
      found.anchors.filter((a) => a.target === null),
      [],
      'contents links that lead nowhere',
    );
    assert.deepEqual(
      found.anchors.map((a) => a.id),
      found.headings,
      'every section is in the contents, in order',
    );
    assert.ok(found.banner?.includes('mean nothing'), 'the quick-run warning');
    assert.deepEqual(found.errors, []);

    // A mask thumbnail enlarges in a dialog, and the dialog closes.
    await page.locator('.masks button.zoom').first().click();
    const zoomed = page.locator('dialog#zoom img');
    await zoomed.waitFor();
    assert.ok(await zoomed.evaluate((img: HTMLImageElement) => img.naturalWidth > 0));
    assert.ok((await zoomed.boundingBox())!.height > 300, 'the enlarged picture is large');
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('dialog#zoom[open]').count(), 0);

    mkdirSync(artifacts, { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(artifacts, 'report-page.png') });
    await page.close();
  });

  it('shows no quick-run warning on a full report, and lists its detail sections', async () => {
    const file = join(work, 'full.html');
    const details = [
      { id: 'training-curves', title: 'Training curves', html: '<p>curves</p>' },
      { id: 'masks', title: 'A section named like one of the report’s own', html: '<p>x</p>' },
      { id: 'wide', title: 'Wide content', html: `<table><tr>${'<td>cell</td>'.repeat(400)}</tr></table>` },
    ];
    writeFileSync(file, renderHtmlReport(fullResults(), [], [], details));
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const found = await inspect(page, file);
    assert.equal(found.banner, null);
    assert.ok(found.pageOverflow <= 0, `the page is ${found.pageOverflow} px wider than the window`);
    assert.deepEqual(found.scrollingTables, [], 'the results table fits with its widest cells');
    for (const d of details)
      assert.ok(
        found.anchors.some((a) => a.title === d.title && a.target === 'H2'),
        `${d.title} in the contents`,
      );
    assert.equal(new Set(found.anchors.map((a) => a.id)).size, found.anchors.length, 'ids are unique');
    assert.deepEqual(found.errors, []);
    await page.close();
  });
});

describe('the reports explain every column once, in the same words', () => {
  it('puts each column definition into results.md and report.html, and warns only on quick runs', () => {
    const escaped = (t: string) => t.replace(/&/g, '&amp;').replace(/'/g, '&#39;');
    for (const quick of [true, false]) {
      const results = { ...fullResults(), quick };
      const markdown = resultsMarkdown(results);
      const html = renderHtmlReport(results, [], []);
      for (const { name, explanation } of [...RESULT_COLUMN_DEFINITIONS, ...COMPARISON_COLUMN_DEFINITIONS]) {
        assert.ok(markdown.includes(`- **${name}**: ${explanation}`), `results.md explains ${name}`);
        assert.ok(html.includes(escaped(explanation)), `report.html explains ${name}`);
      }
      assert.equal(markdown.includes(QUICK_WARNING), quick, 'results.md warns of a quick run');
      assert.equal(html.includes('class="quick-banner"'), quick, 'report.html warns of a quick run');
      if (quick) assert.ok(markdown.indexOf(QUICK_WARNING) < markdown.indexOf('| method'), 'at the top');
    }
  });
});
