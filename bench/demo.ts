/**
 * The browser demo's figures, in headless Chromium (Debian's, as the tests): the time from navigation
 * to the first prediction, the bytes a visit downloads (compressed, as `skelprune serve` sends them)
 * for the page, for the dense model when compared and for the camera mode, and the live per-frame
 * latency of the hand tracker and of the models.
 *
 * `npm run bench:demo` trains and exports its models first (synthetic data, about a minute): the
 * 20-joint body models of `npm run demo`'s kind for the page, and a hand model pair for the camera
 * mode. The tracker runs on Chromium's fake camera (a test pattern: it finds no hand but does the
 * same work per frame) with software WebGL (SwiftShader), far slower than a GPU; the models' time per
 * frame comes from replayed tracker results of synthetic hand motions.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page, type Request } from 'playwright-core';
import { generateSynthetic } from '../src/data/synthetic.js';
import { formatTable } from '../src/report/table.js';
import { CHROMIUM } from '../test/browser.js';
import { projectRoot } from '../test/helpers.js';
import { noHand, trackerResults } from '../test/web/landmarks.js';

const cli = join(projectRoot, 'bin/skelprune.js');
const work = mkdtempSync(join(tmpdir(), 'skelprune-bench-demo-'));
const LOADS = 5;

function skelprune(...args: string[]): void {
  const run = spawnSync(process.execPath, [cli, ...args], { cwd: work, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`skelprune ${args.join(' ')}: ${run.stderr}`);
}

function models(kind: 'body' | 'hand'): void {
  const data = [
    '--dataset',
    'synthetic',
    '--set',
    'synthetic.sequencesPerClass=20',
    `synthetic.joints=${kind}`,
  ];
  skelprune('train', ...data, '--fold', '1', '--epochs', '12', '--out', `${kind}-train`);
  const prune = ['--method', 'ctf', '--rate', '0.9', '--prune-epochs', '10', '--finetune-epochs', '5'];
  skelprune(
    'prune',
    ...data,
    ...prune,
    '--from',
    `${kind}-train/fold-1/model.ckpt`,
    '--out',
    `${kind}-prune`,
  );
  skelprune('export', '--model', `${kind}-train/fold-1/model.ckpt`, '--out', `${kind}-dense.skp`);
  skelprune('export', '--model', `${kind}-prune/model.ckpt`, '--out', `${kind}-pruned.skp`);
}

function serve(model: string, dense: string): Promise<{ server: ChildProcess; url: string }> {
  const server = spawn(process.execPath, [cli, 'serve', '--model', model, '--dense', dense, '--port', '0'], {
    cwd: work,
  });
  let stdout = '';
  return new Promise((resolve, reject) => {
    server.stdout.on('data', (chunk) => {
      stdout += chunk;
      const url = stdout.match(/http:\/\/\S+\//);
      if (url) resolve({ server, url: url[0] });
    });
    server.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
}

/** Bytes on the wire (compressed bodies) of the requests made while `action` runs. */
async function transferred(
  page: Page,
  action: () => Promise<unknown>,
): Promise<{ bytes: number; files: number }> {
  const requests: Request[] = [];
  const listener = (request: Request) => requests.push(request);
  page.on('requestfinished', listener);
  await action();
  page.off('requestfinished', listener);
  const sizes = await Promise.all(requests.map(async (r) => (await r.sizes()).responseBodySize));
  return { bytes: sizes.reduce((a, b) => a + b, 0), files: requests.length };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const ms = (value: number | null | undefined) =>
  value == null ? '—' : value < 1 ? `${(value * 1000).toFixed(0)} µs` : `${value.toFixed(1)} ms`;

async function main(): Promise<void> {
  process.stderr.write('training and exporting the body and hand models...\n');
  models('body');
  models('hand');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });
  const body = await serve(join(work, 'body-pruned.skp'), join(work, 'body-dense.skp'));
  const rows: string[][] = [];
  try {
    // Navigation to first prediction, and the page's download, each load in a fresh context (cold cache).
    const firsts: number[] = [];
    let page0 = { bytes: 0, files: 0 };
    for (let load = 0; load < LOADS; load++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const size = await transferred(page, async () => {
        await page.goto(body.url);
        await page.waitForFunction(() => document.body.dataset.firstPredictionMs, null, { timeout: 30_000 });
      });
      if (load === 0) page0 = size;
      firsts.push(Number(await page.evaluate(() => document.body.dataset.firstPredictionMs)));
      if (load === 0) {
        const dense = await transferred(page, async () => {
          await page.locator('#compare').check();
          await page.waitForFunction(() => document.body.dataset.speedup, null, { timeout: 30_000 });
        });
        const speedup = await page.locator('#speedup').textContent();
        rows.push(['dense model, when compared', kb(dense.bytes), `${dense.files} file(s); ${speedup}`]);
        const camera = await transferred(page, async () => {
          await page.locator('#camera-toggle').click();
          await page.waitForFunction(() => document.body.dataset.camera === 'on', null, { timeout: 60_000 });
        });
        rows.push([
          'hand tracker, when the camera starts',
          kb(camera.bytes),
          `${camera.files} files from mediapipe/hands/`,
        ]);
      }
      await context.close();
    }
    rows.unshift(['page, first visit (HTML, script, CSS, model)', kb(page0.bytes), `${page0.files} files`]);
    rows.unshift([
      'navigation → first prediction',
      `${median(firsts)} ms`,
      `median of ${LOADS} cold loads (${Math.min(...firsts)}–${Math.max(...firsts)} ms)`,
    ]);
  } finally {
    body.server.kill();
  }

  // Live: the tracker on the fake camera, then the hand models on replayed tracker results at 30 fps.
  const hand = await serve(join(work, 'hand-pruned.skp'), join(work, 'hand-dense.skp'));
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(hand.url);
    await page.locator('body[data-ready]').waitFor();
    await page.locator('#compare').check();
    await page.locator('#camera-toggle').click();
    await page.waitForFunction(() => document.body.dataset.camera === 'on', null, { timeout: 60_000 });
    await page.waitForTimeout(10_000);
    type Stats = {
      trackingMs: number | null;
      modelMs: Record<string, number>;
      framesPerSecond: number | null;
    };
    const stats = () =>
      page.evaluate(() =>
        (window as unknown as { skelpruneDemo: { liveStats(): Stats } }).skelpruneDemo.liveStats(),
      );
    const tracking = await stats();
    await page.evaluate(() => {
      (
        window as unknown as { skelpruneDemo: { live: { trackerPaused: boolean } } }
      ).skelpruneDemo.live.trackerPaused = true;
    });
    const motions = generateSynthetic({ joints: 'hand', sequencesPerClass: 2 });
    const results = motions.sequences.flatMap((s) => [...trackerResults(s), ...noHand(10)]);
    await page.evaluate(
      (r) =>
        (
          window as unknown as {
            skelpruneDemo: { live: { replay(r: unknown, interval: number): Promise<void> } };
          }
        ).skelpruneDemo.live.replay(r, 33),
      results,
    );
    const model = await stats();
    rows.push([
      'live: hand tracking per frame',
      ms(tracking.trackingMs),
      `MediaPipe Hands (lite) on the fake camera, software WebGL; ${tracking.framesPerSecond?.toFixed(1)} frames/s`,
    ]);
    for (const slot of ['pruned', 'dense']) {
      rows.push([
        `live: ${slot} hand model per frame`,
        ms(model.modelMs[slot]),
        'preprocessing and inference, last 50 frames',
      ]);
    }
  } finally {
    hand.server.kill();
    await browser.close();
    rmSync(work, { recursive: true, force: true });
  }
  console.log(formatTable([['figure', 'value', 'how'], ...rows], 'lrl', true).join('\n'));
}

await main();
