import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decode } from 'fast-png';
import type { Page } from 'playwright-core';
import { writeGenericDataset } from '../../src/data/generic.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { inkFraction, launchChromium, skipWithoutChromium } from '../browser.js';
import { projectRoot } from '../helpers.js';

const cli = join(projectRoot, 'bin/skelprune.js');
const work = mkdtempSync(join(tmpdir(), 'skelprune-demo-'));
const artifacts = join(projectRoot, 'test-artifacts');

function skelprune(...args: string[]): void {
  const run = spawnSync(process.execPath, [cli, ...args], { cwd: work, encoding: 'utf8' });
  assert.equal(run.status, 0, `skelprune ${args.join(' ')}: ${run.stderr}`);
}

/** A dense model and its 90% CTF-pruned version, briefly trained on synthetic data (~15 s). */
function exportModels(): void {
  const data = ['--dataset', 'synthetic', '--set', 'synthetic.sequencesPerClass=20'];
  skelprune('train', ...data, '--fold', '1', '--epochs', '12', '--out', 'train');
  const prune = ['--method', 'ctf', '--rate', '0.9', '--prune-epochs', '10', '--finetune-epochs', '5'];
  skelprune('prune', ...data, ...prune, '--from', 'train/fold-1/model.ckpt', '--out', 'prune');
  skelprune('export', '--model', 'train/fold-1/model.ckpt', '--out', 'dense.skp');
  skelprune('export', '--model', 'prune/model.ckpt', '--out', 'pruned.skp');
}

/** Starts `skelprune serve` on a free port; resolves with the URL it prints. */
function serve(server: ChildProcess): Promise<string> {
  let stdout = '';
  let stderr = '';
  server.stderr?.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    server.stdout?.on('data', (chunk) => {
      stdout += chunk;
      const url = stdout.match(/http:\/\/\S+\//);
      if (url) resolve(url[0]);
    });
    server.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

/** Drops a file on the page's drop zone as a user's drag and drop does. */
async function drop(page: Page, name: string, contents: Uint8Array | string): Promise<void> {
  const bytes = typeof contents === 'string' ? new TextEncoder().encode(contents) : contents;
  await page.evaluate(
    ({ name, data }) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([Uint8Array.from(data)], name));
      const event = new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true });
      document.getElementById('drop-zone')?.dispatchEvent(event);
    },
    { name, data: [...bytes] },
  );
}

/** The error box's text once it shows (dropped files are read asynchronously). */
async function shownError(page: Page): Promise<string> {
  await page.locator('#error').waitFor({ state: 'visible' });
  return (await page.locator('#error').textContent()) ?? '';
}

async function openDemo(url: string, run: (page: Page, errors: string[]) => Promise<void>): Promise<void> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url);
    await page.locator('body[data-ready]').waitFor({ timeout: 20_000 });
    await run(page, errors);
  } finally {
    await browser.close();
  }
}

describe('the browser demo', () => {
  let server: ChildProcess;
  let url: string;

  before(async () => {
    exportModels();
    server = spawn(process.execPath, [
      cli,
      'serve',
      ...['--model', join(work, 'pruned.skp'), '--dense', join(work, 'dense.skp'), '--port', '0'],
    ]);
    url = await serve(server);
  });

  after(() => server?.kill());

  it('serves the page and both models, and nothing outside dist/web', async () => {
    assert.match(await (await fetch(url)).text(), /<title>skelprune/);
    const index = await (await fetch(new URL('models/index.json', url))).json();
    assert.deepEqual(index, [
      { name: 'pruned.skp', url: 'models/model.skp' },
      { name: 'dense.skp', url: 'models/dense.skp' },
    ]);
    const model = new Uint8Array(await (await fetch(new URL('models/model.skp', url))).arrayBuffer());
    assert.deepEqual(model, new Uint8Array(readFileSync(join(work, 'pruned.skp'))));
    assert.equal((await fetch(new URL('%2e%2e%2fpackage.json', url))).status, 404);
  });

  it('refuses a busy port and an unreadable model in one line each', () => {
    const port = new URL(url).port;
    for (const [args, message] of [
      [['--model', join(work, 'pruned.skp'), '--port', port], `skelprune: port ${port} is in use: `],
      [['--model', join(work, 'missing.skp')], 'skelprune: cannot read model file '],
    ] as const) {
      const run = spawnSync(process.execPath, [cli, 'serve', ...args], { encoding: 'utf8' });
      assert.equal(run.status, 1);
      assert.ok(run.stderr.startsWith(message), run.stderr);
    }
  });

  it('plays a bundled sequence in Chromium with the expected class, latencies and both models', {
    skip: skipWithoutChromium,
  }, async () => {
    await openDemo(url, async (page, errors) => {
      assert.equal(await page.evaluate(() => document.body.dataset.backend), 'wasm-simd');
      assert.ok(await page.evaluate(() => crossOriginIsolated), 'served cross-origin isolated');
      // Playing: the frame advances and the pruned model's latency shows.
      await page.waitForFunction(() =>
        /^frame ([3-9]|\d\d)/.test(document.getElementById('frame-label')?.textContent ?? ''),
      );
      const latency = page.locator('.prediction[data-slot="pruned"] .latency');
      assert.match((await latency.textContent()) ?? '', /^\d+(\.\d+)? (µs|ms) per inference/);
      assert.match((await page.locator('.model-sparsity').first().textContent()) ?? '', /^90\.0% /);
      // At the last frame the window holds the whole sequence, as in training.
      await page.locator('#play').click();
      await page.evaluate(() => {
        const frame = document.getElementById('frame') as HTMLInputElement;
        frame.value = frame.max;
        frame.dispatchEvent(new Event('input'));
      });
      const title = (await page.locator('#sequence-title').textContent()) ?? '';
      const trueClass = title.match(/true class: (\S+)\)/)?.[1];
      // Side by side: both models show the true class first, and the speed ratio.
      await page.locator('#compare').check();
      await page.waitForFunction(() =>
        /runs [\d.]+× as fast/.test(document.getElementById('speedup')?.textContent ?? ''),
      );
      for (const slot of ['dense', 'pruned']) {
        const top = page.locator(`.prediction[data-slot="${slot}"] .top-classes li`).first();
        assert.equal(await top.locator('.class-name').textContent(), trueClass, slot);
        assert.equal(await top.getAttribute('class'), 'true-class');
      }
      mkdirSync(artifacts, { recursive: true });
      const screenshot = await page.screenshot({ path: join(artifacts, 'demo.png') });
      const image = decode(screenshot);
      assert.ok(inkFraction(image.data as Uint8Array, image.channels) > 0.05, 'the screenshot is not blank');
      assert.deepEqual(errors, []);
    });
  });

  it('shows a specific error for each bad dropped file and plays good ones', {
    skip: skipWithoutChromium,
  }, async () => {
    const fphaLine = (t: number) => [t, ...Array.from({ length: 63 }, (_, k) => k)].join(' ');
    const dense = readFileSync(join(work, 'dense.skp'));
    const genericDir = join(work, 'generic');
    await writeGenericDataset(generateSynthetic({ sequencesPerClass: 1, seed: 7 }), genericDir);
    await openDemo(url, async (page, errors) => {
      const cases: [string, string | Uint8Array, RegExp][] = [
        ['broken.skp', dense.subarray(0, 1000), /^broken\.skp: .*truncated/],
        ['notes.txt', 'hello world\n', /^notes\.txt:1: expected an SBU line .* or an FPHA line/],
        [
          'hand.txt',
          `${[1, 2, 3].map(fphaLine).join('\n')}\n`,
          /hand\.txt .*21 joints; the model expects 1 × 20/,
        ],
        [
          'labels.jsonl',
          '{"id": "a", "label": "jump", "subject": "s1", "frames": []}\n',
          /^labels\.jsonl:1: label: expected/,
        ],
      ];
      for (const [name, contents, message] of cases) {
        await drop(page, name, contents);
        assert.match(await shownError(page), message);
      }
      await drop(page, 'sequences.jsonl', readFileSync(join(genericDir, 'sequences.jsonl')));
      await page.waitForFunction(() => document.querySelectorAll('#sequence-list li').length === 16);
      assert.ok(await page.locator('#error').isHidden());
      assert.match((await page.locator('#sequence-title').textContent()) ?? '', /\(true class: motion1\)$/);
      assert.deepEqual(errors, []);
    });
  });
});
