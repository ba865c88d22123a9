/**
 * Size and startup of @skelprune/runtime as a user gets it (`npm run bench:size`), each against its
 * target:
 *
 *  - installed footprint: the packed package installed into a fresh project: bytes of its files and
 *    the number of packages it pulls in (≤ 1 MB, 0 dependencies);
 *  - browser bundle: a minimal page using `SkeletonClassifier`, built by Vite for production
 *    (minified): its JS and wasm, gzipped (≤ 100 kB);
 *  - startup: in headless Chromium, from the page's script start to its first prediction with an
 *    FPHA-sized model pruned to 95% (≤ 150 ms; median of cold page loads, model fetched each time).
 *
 * `--model <file.skp>` times that model; without it the FPHA-sized model of bench/runtime.ts (random
 * weights, CTF-like 95% masks, not trained) is exported here with an FPHA-like input pipeline.
 * Prints PASS/FAIL per target and exits 1 when one fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeModelFile } from '@skelprune/runtime/internal';
import { build } from 'vite';
import { FPHA_CLASS_NAMES } from '../src/data/fpha.js';
import { fitPreprocessing } from '../src/data/preprocess.js';
import { generateSynthetic } from '../src/data/synthetic.js';
import { modelInputFromGraph } from '../src/model/input.js';
import { toRuntimeModel } from '../src/runtime/runtime-model.js';
import { launchChromium } from '../test/browser.js';
import { serveStatic } from '../test/static-server.js';
import { fphaModels } from './runtime.js';

const projectRoot = new URL('../..', import.meta.url).pathname;
const TARGETS = { footprintBytes: 1_000_000, bundleGzipBytes: 100_000, firstPredictionMs: 150 };
const PAGE_LOADS = 7;
/** Frames of the sequence the page classifies (FPHA sequences run ~100 frames). */
const SEQUENCE_FRAMES = 100;

/** The page: loads the model, classifies a generated motion, reports when (in ms since navigation). */
const PAGE_SCRIPT = `
import { SkeletonClassifier } from '@skelprune/runtime';

const scriptStart = performance.now();
const model = await SkeletonClassifier.load('model.skp');
const { persons, joints } = model.info;
const positions = Float32Array.from({ length: ${SEQUENCE_FRAMES} * persons * joints * 3 }, (_, k) => Math.sin(0.01 * k));
const prediction = model.predict({ positions, frames: ${SEQUENCE_FRAMES} });
const firstPrediction = performance.now();
document.body.dataset.result = JSON.stringify({ scriptStart, firstPrediction, className: prediction.className });
`;

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>size</title>
<script type="module" src="/main.js"></script></head><body></body></html>
`;

const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} in ${cwd}: ${result.stderr}`);
  return result.stdout;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The FPHA-sized pruned model with the input pipeline of a 21-joint hand, 64 frames, 3 channels. */
function fphaShapedModel(): { bytes: Uint8Array; description: string } {
  const { pruned, pruningRate } = fphaModels(0.95);
  const hand = generateSynthetic({ joints: 'hand', sequencesPerClass: 1 }).graph;
  const preprocessing = fitPreprocessing([], hand, { scale: 'none', temporal: { frames: 64 } });
  const input = modelInputFromGraph(hand, preprocessing, { channels: ['position', 'velocity', 'bone'] });
  const pruning = { method: 'ctf-like masks (bench/runtime.ts)', rate: 0.95, achievedRate: pruningRate };
  const bytes = encodeModelFile({
    model: toRuntimeModel(pruned),
    input: input.spec,
    classNames: [...FPHA_CLASS_NAMES],
    info: { pruning, note: 'FPHA-sized, random weights: for timing only' },
  });
  const description = `FPHA-sized GCN built here (random weights, not trained; 21 joints, ${FPHA_CLASS_NAMES.length} classes, ${(100 * pruningRate).toFixed(1)}% of the weights pruned with CTF-like masks)`;
  return { bytes, description };
}

function readModelArgument(): { bytes: Uint8Array; description: string } | null {
  const at = process.argv.indexOf('--model');
  if (at < 0) return null;
  const path = process.argv[at + 1];
  if (!path) throw new Error('--model needs a .skp file');
  return { bytes: readFileSync(path), description: path };
}

/** Packs the runtime and installs it into a fresh project; returns the project's folder. */
function installRuntime(work: string): string {
  const runtimeDir = join(projectRoot, 'packages/runtime');
  const packed = JSON.parse(
    run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], runtimeDir),
  );
  const project = join(work, 'app');
  mkdirSync(project);
  const manifest = {
    name: 'size-app',
    private: true,
    type: 'module',
    dependencies: { '@skelprune/runtime': `file:${join(work, packed[0].filename)}` },
  };
  writeFileSync(join(project, 'package.json'), JSON.stringify(manifest));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], project);
  return project;
}

function footprint(project: string): { bytes: number; files: number; dependencies: number } {
  const files = filesUnder(join(project, 'node_modules/@skelprune/runtime'));
  const lock = JSON.parse(readFileSync(join(project, 'node_modules/.package-lock.json'), 'utf8'));
  const installed = Object.keys(lock.packages).filter((key) => key !== 'node_modules/@skelprune/runtime');
  return {
    bytes: files.reduce((n, file) => n + statSync(file).size, 0),
    files: files.length,
    dependencies: installed.length,
  };
}

/** Builds the minimal page with Vite (production, minified) into project/dist. */
async function buildPage(project: string): Promise<{ minified: number; gzipped: number; assets: string[] }> {
  writeFileSync(join(project, 'index.html'), PAGE_HTML);
  writeFileSync(join(project, 'main.js'), PAGE_SCRIPT);
  await build({
    root: project,
    configFile: false,
    logLevel: 'silent',
    build: { outDir: join(project, 'dist'), emptyOutDir: true, target: 'es2022' },
  });
  const assets = filesUnder(join(project, 'dist')).filter((file) => /\.(js|wasm)$/.test(file));
  const sizes = assets.map((file) => {
    const bytes = readFileSync(file);
    return { minified: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length };
  });
  return {
    minified: sizes.reduce((n, s) => n + s.minified, 0),
    gzipped: sizes.reduce((n, s) => n + s.gzipped, 0),
    assets: assets.map((file, i) => `${file.slice(project.length + 1)} ${kB(sizes[i].gzipped)}`),
  };
}

interface PageTiming {
  scriptStart: number;
  firstPrediction: number;
  className: string;
}

/** Cold loads of the built page (a fresh browser context each: no HTTP or code cache). */
async function timePage(dist: string): Promise<{ timings: PageTiming[]; browserVersion: string }> {
  const server = await serveStatic({ '/': { folder: dist } });
  const browser = await launchChromium();
  try {
    const timings: PageTiming[] = [];
    for (let load = 0; load < PAGE_LOADS; load++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.goto(`${server.origin}/`);
      const result = await page
        .waitForFunction(() => document.body?.dataset.result, null, { timeout: 30_000 })
        .catch(() => null);
      if (!result) throw new Error(`the page did not predict: ${errors.join('; ')}`);
      timings.push(JSON.parse((await result.jsonValue()) as string));
      await context.close();
    }
    return { timings, browserVersion: browser.version() };
  } finally {
    await browser.close();
    await server.close();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'skelprune-size-'));
  const model = readModelArgument() ?? fphaShapedModel();
  const project = installRuntime(work);
  const installed = footprint(project);
  const bundle = await buildPage(project);
  writeFileSync(join(project, 'dist/model.skp'), model.bytes);
  const { timings, browserVersion } = await timePage(join(project, 'dist'));
  rmSync(work, { recursive: true, force: true });

  const fromScript = timings.map((t) => t.firstPrediction - t.scriptStart);
  const fromNavigation = timings.map((t) => t.firstPrediction);
  const results = [
    {
      figure: 'installed footprint',
      value: `${kB(installed.bytes)} in ${installed.files} files, ${installed.dependencies} dependencies`,
      target: `≤ ${kB(TARGETS.footprintBytes)}, 0 dependencies`,
      pass: installed.bytes <= TARGETS.footprintBytes && installed.dependencies === 0,
    },
    {
      figure: 'browser bundle (JS + wasm)',
      value: `${kB(bundle.gzipped)} gzipped (${kB(bundle.minified)} minified)`,
      target: `≤ ${kB(TARGETS.bundleGzipBytes)} gzipped`,
      pass: bundle.gzipped <= TARGETS.bundleGzipBytes,
    },
    {
      figure: 'script start → first prediction',
      value: `${median(fromScript).toFixed(0)} ms median (${Math.min(...fromScript).toFixed(0)}–${Math.max(...fromScript).toFixed(0)} ms over ${PAGE_LOADS} cold loads)`,
      target: `≤ ${TARGETS.firstPredictionMs} ms`,
      pass: median(fromScript) <= TARGETS.firstPredictionMs,
    },
  ];
  // Startup is wall-clock time: other jobs on the machine lengthen it, so say how busy it was.
  const load = `load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores`;
  console.log(
    `@skelprune/runtime size and startup (Node ${process.version}, Chromium ${browserVersion}, ${load})\n`,
  );
  const width = (key: 'figure' | 'value' | 'target') => Math.max(...results.map((r) => r[key].length));
  for (const r of results) {
    console.log(
      `${r.figure.padEnd(width('figure'))}  ${r.value.padEnd(width('value'))}  target ${r.target.padEnd(width('target') + 1)} ${verdict(r.pass)}`,
    );
  }
  console.log(`\n  bundle assets (gzipped): ${bundle.assets.join(', ')}`);
  console.log(
    `  model: ${model.description}; ${kB(model.bytes.length)} file, fetched from localhost on every load`,
  );
  console.log(
    `  startup: the page's module script loads the model, classifies a ${SEQUENCE_FRAMES}-frame sequence; navigation → first prediction ${median(fromNavigation).toFixed(0)} ms median`,
  );
  console.log(
    `  predicted class (same every load): ${[...new Set(timings.map((t) => t.className))].join(', ')}`,
  );
  if (results.some((r) => !r.pass)) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
