/**
 * The packages as a user gets them: `npm pack` of skelprune and @skelprune/runtime, installed into a
 * copy of every project under examples/ in the temporary directory (out of reach of this
 * repository's node_modules), type-checked with tsc --strict and run. Node examples must exit 0 from
 * `npm start` (SKELPRUNE_MODEL names a model for those that need one); browser examples (a `vite`
 * devDependency) are built and must show the right class in headless Chromium, requesting nothing
 * outside their own origin. Each example is its own test, so one broken example does not hide the others.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { SkeletonClassifier } from '@skelprune/runtime';
import { launchChromium, skipWithoutChromium } from '../browser.js';
import { projectRoot } from '../helpers.js';
import { exportSyntheticModel, heldOutSequences, nestedFrames } from '../runtime/synthetic-model.js';
import { serveStatic } from '../static-server.js';

const examplesDir = join(projectRoot, 'examples');
const examples = readdirSync(examplesDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();
const work = mkdtempSync(join(tmpdir(), 'skelprune-consumer-'));
const tsc = join(projectRoot, 'node_modules/typescript/bin/tsc');
/** What npm prints when it cannot reach the registry for a package it does not have cached. */
const OFFLINE = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|ENOTCACHED|network/;

function npm(cwd: string, args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env, npm_config_update_notifier: 'false' },
    timeout: 150_000,
  });
}

/** Same as {@link npm}, without blocking the event loop, so examples install side by side. */
function npmAsync(cwd: string, args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false' } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** Packs a package (its build is already done) into `dir`; returns the tarball's path. */
function pack(packageDir: string, dir: string): string {
  const run = npm(packageDir, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir]);
  assert.equal(run.status, 0, `npm pack in ${packageDir}: ${run.stderr}`);
  return join(dir, JSON.parse(run.stdout)[0].filename);
}

interface Expected {
  className: string;
  probability: number;
}

interface Packages {
  root: string;
  runtime: string;
}

/**
 * Copies an example (without its node_modules or build output) and points its skelprune packages at
 * the tarballs. The toolkit's own dependency on the runtime is unpublished too, hence the override.
 */
function copyExample(name: string, tarballs: Packages): string {
  const dir = join(work, name);
  cpSync(join(examplesDir, name), dir, {
    recursive: true,
    filter: (source) => !['node_modules', 'dist'].includes(basename(source)),
  });
  const manifestPath = join(dir, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const specs: Record<string, string> = {
    skelprune: `file:${tarballs.root}`,
    '@skelprune/runtime': `file:${tarballs.runtime}`,
  };
  for (const field of ['dependencies', 'devDependencies']) {
    for (const dependency of Object.keys(manifest[field] ?? {})) {
      if (specs[dependency]) manifest[field][dependency] = specs[dependency];
    }
  }
  manifest.overrides = { '@skelprune/runtime': specs['@skelprune/runtime'] };
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  return dir;
}

const isBrowserExample = (dir: string) =>
  'vite' in (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).devDependencies ?? {});

const skipWithoutNpm = spawnSync('npm', ['--version']).status === 0 ? false : 'npm is not installed';

describe('the examples, installed from the packed packages', {
  concurrency: true,
  skip: skipWithoutNpm,
}, () => {
  let tarballs: Packages;
  let modelPath = '';
  let sequencePath = '';
  /** What the repository's runtime predicts for the sequence (the true class). */
  let expected: Expected;

  before(async () => {
    mkdirSync(join(work, 'packs'));
    tarballs = {
      root: pack(projectRoot, join(work, 'packs')),
      runtime: pack(join(projectRoot, 'packages/runtime'), join(work, 'packs')),
    };
    modelPath = exportSyntheticModel(mkdtempSync(join(work, 'model-'))).model;
    const { sequences, classNames } = heldOutSequences();
    sequencePath = join(work, 'sequence.json');
    writeFileSync(sequencePath, JSON.stringify(nestedFrames(sequences[0])));
    const { className, probability } = (await SkeletonClassifier.load(modelPath)).predict(
      nestedFrames(sequences[0]),
    );
    assert.equal(className, classNames[sequences[0].label]);
    expected = { className, probability };
  });

  // The installed copies hold ~200 MB of dependencies.
  after(() => rmSync(work, { recursive: true, force: true }));

  /** Installs and type-checks an example; null (the test skipped) when npm cannot reach the registry. */
  async function install(t: TestContext, name: string): Promise<string | null> {
    const dir = copyExample(name, tarballs);
    const installed = await npmAsync(dir, ['install', '--no-audit', '--no-fund', '--prefer-offline']);
    if (installed.status !== 0 && OFFLINE.test(installed.output)) {
      t.skip(
        `npm cannot install ${name}'s dependencies without the registry: ${installed.output.trim().split('\n').at(-1)}`,
      );
      return null;
    }
    assert.equal(installed.status, 0, `npm install in ${name}: ${installed.output}`);
    const checked = spawnSync(process.execPath, [tsc, '-p', dir, '--noEmit', '--strict'], {
      encoding: 'utf8',
    });
    assert.equal(checked.status, 0, `tsc --strict in ${name}: ${checked.stdout}${checked.stderr}`);
    return dir;
  }

  for (const name of examples) {
    const browser = isBrowserExample(join(examplesDir, name));
    it(`${name}: installs, type-checks and ${browser ? 'shows the right class in Chromium' : 'runs'}`, {
      skip: browser && skipWithoutChromium,
    }, async (t) => {
      const dir = await install(t, name);
      if (dir === null) return;
      if (browser) {
        await checkBrowserExample(dir, modelPath, sequencePath, expected);
        return;
      }
      const started = npm(dir, ['start'], { SKELPRUNE_MODEL: modelPath });
      assert.equal(started.status, 0, `npm start in ${name}: ${started.stdout}${started.stderr}`);
      if (name === 'node-classify') checkNodeClassify(dir, modelPath, sequencePath, expected, started.stdout);
    });
  }
});

/** node-classify prints the class, the top 3 and the streamed prediction; wrong input is one line. */
function checkNodeClassify(
  dir: string,
  model: string,
  sequence: string,
  expected: Expected,
  generated: string,
): void {
  assert.match(generated, /^sequence: generated motion, \d+ frames$/m);
  assert.match(generated, /^class: \S+ \(probability [01]\.\d{4}\)$/m);
  const run = npm(dir, ['start', '--silent', '--', model, sequence]);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^model: .*model\.skp, [\d.]+ KiB, \d+ parameters \(ctf 90\.0%\)$/m);
  assert.match(run.stdout, /^input: 1 person\(s\) × 20 joints, resampled to \d+ frames; 8 classes$/m);
  const [, className, probability] = run.stdout.match(/^class: (\S+) \(probability ([\d.]+)\)$/m) ?? [];
  assert.equal(className, expected.className);
  assert.equal(probability, expected.probability.toFixed(4));
  const top = run.stdout.match(/^top 3: (.*)$/m)?.[1].split(', ') ?? [];
  assert.equal(top.length, 3);
  assert.ok(top[0].startsWith(`${expected.className} `), top[0]);
  assert.match(run.stdout, /^streamed: last \d+ of \d+ frames → \S+ \(probability [\d.]+\)$/m);
  const wrong = npm(dir, ['start', '--silent', '--', model, join(dir, 'package.json')]);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /^error: .*$/m);
}

/** Builds the page with the model and sequence in public/, serves dist/ and reads the prediction. */
async function checkBrowserExample(
  dir: string,
  model: string,
  sequence: string,
  expected: Expected,
): Promise<void> {
  mkdirSync(join(dir, 'public'), { recursive: true });
  cpSync(model, join(dir, 'public/model.skp'));
  cpSync(sequence, join(dir, 'public/sequence.json'));
  const built = npm(dir, ['run', 'build']);
  assert.equal(built.status, 0, `npm run build: ${built.stdout}${built.stderr}`);
  const server = await serveStatic({ '/': { folder: join(dir, 'dist') } });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(`${server.origin}/`)) problems.push(`requested ${request.url()}`);
    });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (error) => problems.push(String(error)));
    await page.goto(`${server.origin}/`);
    const output = page.locator('#prediction[data-ready], #prediction[data-error]');
    await output.waitFor({ timeout: 20_000 });
    assert.equal(
      await output.getAttribute('data-error'),
      null,
      (await page.locator('#error').textContent()) ?? '',
    );
    assert.equal(await output.textContent(), expected.className);
    const probability = Number(await output.getAttribute('data-probability'));
    assert.ok(Math.abs(probability - expected.probability) < 1e-5, `probability ${probability}`);
    assert.equal(await page.locator('#top li').count(), 3);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await server.close();
  }
}
