/**
 * What the browser tests of the demo share: the CLI run in a work folder, `skelprune serve` on a free
 * port, Chromium with a page that records console errors and every request, and a reader of the
 * (stored, uncompressed) .zip files the page downloads.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { CHROMIUM, QUIET_CHROMIUM_FLAGS } from '../browser.js';
import { projectRoot } from '../helpers.js';

export const cli = join(projectRoot, 'bin/skelprune.js');

/** Runs the CLI in `cwd`; fails the test with its stderr when it fails. Returns stdout. */
export function skelprune(cwd: string, ...args: string[]): string {
  const run = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  assert.equal(run.status, 0, `skelprune ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

/** `skelprune serve` with these arguments on a free port; resolves with the server and the URL it prints. */
export function serve(...args: string[]): Promise<{ server: ChildProcess; url: string }> {
  const server = spawn(process.execPath, [cli, 'serve', ...args, '--port', '0']);
  let stdout = '';
  let stderr = '';
  server.stderr?.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    server.stdout?.on('data', (chunk) => {
      stdout += chunk;
      const url = stdout.match(/http:\/\/\S+\//);
      if (url) resolve({ server, url: url[0] });
    });
    server.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

/**
 * Chromium, optionally with its fake camera (a test pattern; `--use-fake-ui-for-media-stream` grants
 * the permission) or with camera permission prompts denied. WebGL runs on SwiftShader (software).
 */
export function launch(camera: 'fake' | 'denied' | 'none' = 'none'): Promise<Browser> {
  const flags = {
    fake: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
    denied: ['--use-fake-device-for-media-stream', '--deny-permission-prompts'],
    none: [],
  }[camera];
  return chromium.launch({ executablePath: CHROMIUM, args: [...QUIET_CHROMIUM_FLAGS, ...flags] });
}

export interface DemoPage {
  page: Page;
  /** Console errors and uncaught exceptions, in order. */
  errors: string[];
  /** Every URL the page requested. */
  requests: string[];
  /** Closes the page and its context (a page left open keeps playing and costs CPU). */
  close(): Promise<void>;
}

/** A new page in its own context, recording errors and requests, opened at `url` and ready. */
export async function openPage(
  browser: Browser,
  url: string,
  options: BrowserContextOptions = {},
): Promise<DemoPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  await page.locator('body[data-ready]').waitFor({ timeout: 20_000 });
  return { page, errors, requests, close: () => context.close() };
}

/** Requests that left the page's origin (data: and blob: URLs are the page's own). */
export function foreignRequests(requests: readonly string[], url: string): string[] {
  const origin = new URL(url).origin;
  return requests.filter((r) => !r.startsWith(`${origin}/`) && !/^(data|blob):/.test(r));
}

/** The files of a .zip archive whose entries are stored (not compressed), as the page writes them. */
export function unzipStored(archive: Uint8Array): Record<string, Uint8Array> {
  const view = new DataView(archive.buffer, archive.byteOffset, archive.byteLength);
  const files: Record<string, Uint8Array> = {};
  let at = 0;
  while (view.getUint32(at, true) === 0x04034b50) {
    assert.equal(view.getUint16(at + 8, true), 0, 'stored entries only');
    const size = view.getUint32(at + 18, true);
    const nameLength = view.getUint16(at + 26, true);
    const extra = view.getUint16(at + 28, true);
    const name = new TextDecoder().decode(archive.subarray(at + 30, at + 30 + nameLength));
    const start = at + 30 + nameLength + extra;
    files[name] = archive.subarray(start, start + size);
    at = start + size;
  }
  return files;
}
