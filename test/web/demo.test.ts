/**
 * The browser demo in headless Chromium (desktop and a 390 × 844 phone viewport): `skelprune serve`
 * (compression, ETags, the models written into the page, the dense one loaded on demand, the hand
 * tracker's files), recorded sequences classified with the expected classes, the speed-up measured
 * with its spread, announcements only when the top class changes, dropped files with their own
 * error messages, a layout without horizontal scrolling, every control reachable by keyboard, a hand
 * model in FPHA's joint order opening in a working state, and a plain static server. No state logs a
 * console error. The camera mode has its own test (live.test.ts).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  FPHA_FROM_MEDIAPIPE,
  FPHA_HAND_JOINTS,
  MEDIAPIPE_FROM_FPHA,
  MEDIAPIPE_HAND_BONES,
  SkeletonClassifier,
} from '@skelprune/runtime';
import { decode } from 'fast-png';
import type { Browser, FileChooser, Page } from 'playwright-core';
import { writeGenericDataset } from '../../src/data/generic.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { inkFraction, skipWithoutChromium } from '../browser.js';
import { projectRoot } from '../helpers.js';
import { serveStatic } from '../static-server.js';
import { cli, type DemoPage, launch, openPage, serve, skelprune } from './harness.js';

const work = mkdtempSync(join(tmpdir(), 'skelprune-demo-'));
const artifacts = join(projectRoot, 'test-artifacts');
const webRoot = join(projectRoot, 'dist/web');

/** A dense model and its 90% CTF-pruned version, briefly trained on synthetic data (~15 s). */
function exportModels(): void {
  const data = ['--dataset', 'synthetic', '--set', 'synthetic.sequencesPerClass=20'];
  skelprune(work, 'train', ...data, '--fold', '1', '--epochs', '12', '--out', 'train');
  const prune = ['--method', 'ctf', '--rate', '0.9', '--prune-epochs', '10', '--finetune-epochs', '5'];
  skelprune(work, 'prune', ...data, ...prune, '--from', 'train/fold-1/model.ckpt', '--out', 'prune');
  skelprune(work, 'export', '--model', 'train/fold-1/model.ckpt', '--out', 'dense.skp');
  skelprune(work, 'export', '--model', 'prune/model.ckpt', '--out', 'pruned.skp');
}

/**
 * A hand model as an FPHA-trained one looks to the page: FPHA's joint names and order, FPHA-like
 * class names (the synthetic hand motions, reordered and renamed, briefly trained).
 */
function exportFphaOrderModel(): void {
  const motions = generateSynthetic({ joints: 'hand', classes: 4, sequencesPerClass: 8 });
  const dir = join(work, 'fpha-like');
  mkdirSync(dir, { recursive: true });
  const classNames = ['open_juice_bottle', 'close_juice_bottle', 'pour_juice_bottle', 'open_peanut_butter'];
  const skeleton = {
    name: 'fpha-like',
    units: 'mm',
    jointNames: FPHA_HAND_JOINTS,
    bones: MEDIAPIPE_HAND_BONES.map(([a, b]) => [MEDIAPIPE_FROM_FPHA[a], MEDIAPIPE_FROM_FPHA[b]]),
    classNames,
    centerMode: 'every-frame',
  };
  const lines = motions.sequences.map((s) => {
    const frames = Array.from({ length: s.frames }, (_, f) =>
      FPHA_FROM_MEDIAPIPE.map((j) => [...s.positions.subarray((f * 21 + j) * 3, (f * 21 + j) * 3 + 3)]),
    );
    return JSON.stringify({ id: s.id, label: classNames[s.label], subject: s.subject, frames });
  });
  writeFileSync(join(dir, 'skeleton.json'), JSON.stringify(skeleton));
  writeFileSync(join(dir, 'sequences.jsonl'), `${lines.join('\n')}\n`);
  const small = ['--set', 'model.fcUnits=32', 'model.heads=2'];
  skelprune(
    work,
    'train',
    '--dataset',
    'generic',
    '--path',
    dir,
    '--fold',
    '1',
    '--epochs',
    '2',
    ...small,
    '--out',
    'fpha-train',
  );
  skelprune(work, 'export', '--model', 'fpha-train/fold-1/model.ckpt', '--out', 'fpha-like.skp');
}

/** A GET with a chosen Accept-Encoding, without decompressing: status, headers, body bytes. */
function get(url: string, headers: Record<string, string> = {}) {
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
  }>((resolve, reject) => {
    request(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
    })
      .on('error', reject)
      .end();
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

/** How far the page is wider than its viewport (0: no horizontal scrolling). */
function overflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/** Pauses the player at a frame of a sequence chosen by its title. */
async function showFrame(page: Page, title: string, frame: 'last' | number): Promise<void> {
  await page.locator('#sequence-list button', { hasText: new RegExp(`^${title}\\d`) }).click();
  if ((await page.locator('#play').textContent()) === 'Pause') await page.locator('#play').click();
  await page.evaluate((frame) => {
    const slider = document.getElementById('frame') as HTMLInputElement;
    slider.value = frame === 'last' ? slider.max : String(frame);
    slider.dispatchEvent(new Event('input'));
  }, frame);
}

/**
 * Focuses the file chooser and presses Enter, as a keyboard user would. Headless Chromium sometimes
 * drops the first key press into a page that has just taken the focus from another, so a press that
 * opens nothing within 5 s is repeated (three tries), with the focus checked before each.
 */
async function chooserFromKeyboard(page: Page): Promise<FileChooser> {
  for (let attempt = 1; ; attempt++) {
    await page.locator('#file-input').focus();
    await page.waitForFunction(() => document.activeElement?.id === 'file-input');
    try {
      const [chooser] = await Promise.all([
        page.waitForEvent('filechooser', { timeout: 5000 }),
        page.keyboard.press('Enter'),
      ]);
      return chooser;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

describe('the browser demo', () => {
  let server: ChildProcess;
  let url: string;
  let browser: Browser | null = null;
  const open: DemoPage[] = [];

  before(async () => {
    exportModels();
    ({ server, url } = await serve('--model', join(work, 'pruned.skp'), '--dense', join(work, 'dense.skp')));
    if (!skipWithoutChromium) browser = await launch('fake');
  });

  afterEach(async () => {
    for (const page of open.splice(0)) await page.close();
  });

  after(async () => {
    await browser?.close();
    server?.kill();
  });

  async function demoPage(viewport = { width: 1280, height: 900 }, at = url): Promise<DemoPage> {
    assert.ok(browser);
    const page = await openPage(browser, at, { viewport });
    open.push(page);
    return page;
  }

  it('serves the page with its models, compressed and with ETags, the tracker, and nothing else', async () => {
    const page = await get(url, { 'Accept-Encoding': 'identity' });
    const html = page.body.toString('utf8');
    assert.match(html, /<title>skelprune/);
    const served = [
      {
        name: 'pruned.skp',
        url: 'models/model.skp',
        bytes: readFileSync(join(work, 'pruned.skp')).length,
        role: 'model',
      },
      {
        name: 'dense.skp',
        url: 'models/dense.skp',
        bytes: readFileSync(join(work, 'dense.skp')).length,
        role: 'dense',
      },
    ];
    assert.deepEqual(JSON.parse(html.match(/id="served-models">(.*?)<\/script>/)?.[1] ?? 'null'), served);
    assert.deepEqual(await (await fetch(new URL('models/index.json', url))).json(), served);
    const model = new Uint8Array(await (await fetch(new URL('models/model.skp', url))).arrayBuffer());
    assert.deepEqual(model, new Uint8Array(readFileSync(join(work, 'pruned.skp'))));
    // The script: brotli or gzip as accepted, cached for good (its name has a hash), the kernels inside
    // once per instruction set (plain and relaxed SIMD; the shared-memory variants are patched in).
    const script = readdirSync(join(webRoot, 'assets')).find((f) => f.endsWith('.js')) ?? '';
    const raw = readFileSync(join(webRoot, 'assets', script));
    assert.equal(
      raw.toString('latin1').split('AGFzbQ').length - 1,
      2,
      'two wasm binaries (base64 of \\0asm)',
    );
    const scriptUrl = new URL(`assets/${script}`, url).href;
    for (const encoding of ['br', 'gzip']) {
      const response = await get(scriptUrl, { 'Accept-Encoding': encoding });
      assert.equal(response.headers['content-encoding'], encoding);
      assert.ok(
        response.body.length < raw.length / 3,
        `${encoding}: ${response.body.length} of ${raw.length} bytes`,
      );
      assert.equal(response.headers['cache-control'], 'public, max-age=31536000, immutable');
    }
    const plain = await get(scriptUrl);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.length, raw.length);
    const etag = String(plain.headers.etag);
    assert.equal((await get(scriptUrl, { 'If-None-Match': etag })).status, 304);
    // The hand tracker's files come from the installed @mediapipe/hands package.
    const tracker = await get(new URL('mediapipe/hands/hands.js', url).href);
    assert.equal(tracker.status, 200);
    assert.match(String(tracker.headers['content-type']), /^text\/javascript/);
    assert.equal(
      (await get(new URL('mediapipe/hands/hands_solution_simd_wasm_bin.wasm', url).href)).headers[
        'content-type'
      ],
      'application/wasm',
    );
    for (const outside of [
      '%2e%2e%2fpackage.json',
      'mediapipe/hands/..%2fpackage.json',
      'mediapipe/hands/%2e%2e%2f%2e%2e%2fpackage.json',
    ]) {
      assert.equal((await fetch(new URL(outside, url))).status, 404, outside);
    }
  });

  it('refuses a busy port, an unreadable model and --dense alone in one line each', () => {
    const port = new URL(url).port;
    for (const [args, message] of [
      [['--model', join(work, 'pruned.skp'), '--port', port], `skelprune: port ${port} is in use: `],
      [['--model', join(work, 'missing.skp')], 'skelprune: cannot read model file '],
      [['--dense', join(work, 'dense.skp')], 'skelprune: --dense needs --model'],
    ] as const) {
      const run = spawnSync(process.execPath, [cli, 'serve', ...args], { encoding: 'utf8' });
      assert.equal(run.status, 1);
      assert.ok(run.stderr.startsWith(message), run.stderr);
    }
  });

  it('classifies the whole sequence up to the frame shown, loads the dense model when compared, and times both', {
    skip: skipWithoutChromium,
  }, async () => {
    const { page, errors, requests } = await demoPage();
    assert.equal(await page.evaluate(() => document.body.dataset.backend), 'wasm-simd');
    assert.ok(await page.evaluate(() => crossOriginIsolated), 'served cross-origin isolated');
    // Playing: the frame advances and the pruned model's latency shows.
    await page.waitForFunction(() =>
      /^frame ([3-9]|\d\d)/.test(document.getElementById('frame-label')?.textContent ?? ''),
    );
    const latency = page.locator('.prediction[data-slot="pruned"] .latency');
    assert.match((await latency.textContent()) ?? '', /^\d+(\.\d+)? (µs|ms) per inference/);
    assert.match((await page.locator('.model-sparsity').first().textContent()) ?? '', /^90\.0% /);
    // The window defaults to the length of the model's training clips and to the sequence from its
    // start, as in training.
    const { clipFrames } = SkeletonClassifier.fromBytes(readFileSync(join(work, 'pruned.skp'))).info;
    assert.ok(
      clipFrames !== null && clipFrames >= 16 && clipFrames <= 40,
      'the synthetic clips: 16-40 frames',
    );
    assert.equal(await page.locator('#window').inputValue(), String(clipFrames));
    assert.equal(await page.locator('#whole').isChecked(), true);
    assert.ok(!requests.some((r) => r.endsWith('/models/dense.skp')), 'the dense model waits until compared');
    assert.match((await page.locator('#compare-label').textContent()) ?? '', /loads dense\.skp, 1\.6 MB/);
    // motion2 has 39 frames: a 32-frame window misclassified its last frame; the whole sequence does not.
    await showFrame(page, 'synthetic motion2', 'last');
    assert.match((await page.locator('#window-held').textContent()) ?? '', /^holds 39 frames \(all so far/);
    await page.locator('#compare').check();
    await page.locator('.prediction[data-slot="dense"] .top-classes').waitFor();
    assert.ok(requests.some((r) => r.endsWith('/models/dense.skp')));
    for (const slot of ['dense', 'pruned']) {
      const top = page.locator(`.prediction[data-slot="${slot}"] .top-classes li`).first();
      assert.equal(await top.locator('.class-name').textContent(), 'motion2', slot);
      assert.equal(await top.getAttribute('class'), 'true-class');
    }
    // The speed-up as `skelprune bench` measures it, with its spread over the rounds.
    await page.waitForFunction(() => document.body.dataset.speedup, null, { timeout: 30_000 });
    const speedup = (await page.locator('#speedup').textContent()) ?? '';
    const [, ratio, low, high] =
      speedup.match(
        /runs ([\d.]+)× as fast as the dense one .*; ([\d.]+)–([\d.]+)× over 10 interleaved rounds/,
      ) ?? [];
    assert.ok(ratio, speedup);
    assert.ok(Number(ratio) > 1 && Number(low) <= Number(ratio) && Number(ratio) <= Number(high), speedup);
    mkdirSync(artifacts, { recursive: true });
    const screenshot = await page.screenshot({ path: join(artifacts, 'demo.png') });
    const image = decode(screenshot);
    assert.ok(inkFraction(image.data as Uint8Array, image.channels) > 0.05, 'the screenshot is not blank');
    assert.deepEqual(errors, []);
  });

  it('announces the most probable class only when it changes', { skip: skipWithoutChromium }, async () => {
    const { page, errors } = await demoPage();
    assert.equal(await page.locator('[aria-live]').count(), 1, 'one live region: the announcer');
    await page.evaluate(() => {
      const announcer = document.getElementById('announcer') as HTMLElement;
      (window as unknown as { changes: string[] }).changes = [];
      new MutationObserver(() =>
        (window as unknown as { changes: string[] }).changes.push(announcer.textContent ?? ''),
      ).observe(announcer, { childList: true, characterData: true, subtree: true });
    });
    // About two seconds of playing: ~30 predictions, and a change of the top class at each loop of the sequence at most.
    await page.waitForTimeout(2000);
    const changes = await page.evaluate(() => (window as unknown as { changes: string[] }).changes);
    assert.ok(changes.length <= 6, `announced: ${changes.join(' | ')}`);
    for (let i = 1; i < changes.length; i++) assert.notEqual(changes[i], changes[i - 1]);
    assert.deepEqual(errors, []);
  });

  it('shows a specific error for each bad dropped file and plays good ones', {
    skip: skipWithoutChromium,
  }, async () => {
    const fphaLine = (t: number) => [t, ...Array.from({ length: 63 }, (_, k) => k)].join(' ');
    const dense = readFileSync(join(work, 'dense.skp'));
    const genericDir = join(work, 'generic');
    await writeGenericDataset(generateSynthetic({ sequencesPerClass: 1, seed: 7 }), genericDir);
    const { page, errors } = await demoPage();
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

  it('fits a 390 px phone screen in every state, and a desktop window shrunk to 390 px', {
    skip: skipWithoutChromium,
  }, async () => {
    const { page, errors } = await demoPage({ width: 390, height: 844 });
    assert.equal(await overflow(page), 0, 'on load');
    await page.locator('#compare').check();
    await page.waitForFunction(() => document.body.dataset.speedup, null, { timeout: 30_000 });
    assert.equal(await overflow(page), 0, 'side by side');
    for (const id of ['frame-label', 'speed', 'view']) {
      const box = await page.locator(`#${id}`).boundingBox();
      assert.ok(
        box && box.x >= 0 && box.x + box.width <= 390,
        `#${id} within the screen: ${JSON.stringify(box)}`,
      );
    }
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'demo-phone.png'), fullPage: true });
    // The camera's layout, once the video plays (the tracker loading behind: live.test.ts covers it).
    await page.locator('#camera-toggle').click();
    await page.waitForFunction(() =>
      /tracker|hand/.test(document.getElementById('camera-status')?.textContent ?? ''),
    );
    assert.equal(await overflow(page), 0, 'camera on');
    await page.screenshot({ path: join(artifacts, 'demo-phone-camera.png'), fullPage: true });
    await page.locator('#camera-toggle').click();
    const desktop = await demoPage();
    await desktop.page.setViewportSize({ width: 390, height: 844 });
    await desktop.page.waitForTimeout(300);
    assert.equal(await overflow(desktop.page), 0, 'desktop shrunk');
    assert.deepEqual([...errors, ...desktop.errors], []);
  });

  it('reaches every control by keyboard, and turns the 3D view with the arrow keys', {
    skip: skipWithoutChromium,
  }, async () => {
    const { page, errors } = await demoPage();
    await page.bringToFront(); // the focused page: the file chooser needs it
    await page.locator('#play').click(); // paused: only the keys move the view
    // The file chooser opens from the keyboard.
    const chooser = await chooserFromKeyboard(page);
    assert.ok(chooser.isMultiple());
    const view = page.locator('#view');
    await view.focus();
    await page.waitForTimeout(100);
    const before = await view.screenshot();
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('+');
    await page.waitForTimeout(100);
    assert.notDeepEqual(await view.screenshot(), before, 'the view turned');
    // Tab goes through every visible, enabled control (the last: Tab leaves the page at its end).
    const expected = await page.evaluate(() => {
      const controls = [
        ...document.querySelectorAll<HTMLElement>('a[href], button, input, select, [tabindex="0"]'),
      ];
      return controls
        .filter((c) => !(c as HTMLButtonElement).disabled && c.getClientRects().length > 0)
        .map((c, i) => {
          c.dataset.k = String(i);
          return c.id || c.textContent?.trim() || c.tagName;
        });
    });
    const reached = new Set<string>();
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    for (let i = 0; i < expected.length + 10; i++) {
      await page.keyboard.press('Tab');
      const k = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.k);
      if (k !== undefined) reached.add(expected[Number(k)]);
    }
    assert.deepEqual(
      expected.filter((c) => !reached.has(c)),
      [],
      'not reached by Tab',
    );
    for (const id of ['file-input', 'view', 'camera-toggle', 'compare']) assert.ok(expected.includes(id), id);
    assert.deepEqual(errors, []);
  });

  it('opens a hand model in FPHA joint order in a working state, and from a static server with no errors', {
    skip: skipWithoutChromium,
  }, async () => {
    exportFphaOrderModel();
    const fpha = await serve('--model', join(work, 'fpha-like.skp'));
    const statics = await serveStatic({ '/': { folder: webRoot } }, { isolated: true });
    try {
      const { page, errors } = await demoPage(undefined, fpha.url);
      await page.locator('.prediction .top-classes').waitFor();
      assert.ok(await page.locator('#error').isHidden());
      assert.equal(await page.locator('.prediction .mismatch').count(), 0);
      assert.equal(
        await page.locator('#sequence-list li').count(),
        8,
        'synthetic hand motions in its joint order',
      );
      assert.match((await page.locator('#samples-note').textContent()) ?? '', /not classes of this model/);
      const fphaLike = SkeletonClassifier.fromBytes(readFileSync(join(work, 'fpha-like.skp'))).info;
      assert.equal(await page.locator('#window').inputValue(), String(fphaLike.clipFrames));
      // A static server: no models, nothing asked that it lacks (no 404 in the console), samples play.
      const plain = await demoPage(undefined, `${statics.origin}/`);
      assert.match((await plain.page.locator('#prediction-columns').textContent()) ?? '', /^No model loaded/);
      await drop(plain.page, 'pruned.skp', readFileSync(join(work, 'pruned.skp')));
      await plain.page.locator('.prediction[data-slot="pruned"] .top-classes').waitFor();
      assert.deepEqual([...errors, ...plain.errors], []);
    } finally {
      fpha.server.kill();
      await statics.close();
    }
  });
});
