/**
 * What makes the package usable anywhere: no dependencies, no Node built-in imported at the top of
 * any module a bundler follows, and declarations that type-check without @types/node in a page (DOM
 * library) and in a Web Worker (webworker library), and in Node without the DOM library.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The package root (this file runs from dist/test). */
const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8'));
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin/tsc');

function files(dir: string, suffix: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** What an app would write against the public API. */
const PUBLIC_CONSUMER = `
import { SkeletonClassifier, SkelpruneError, wasmSimdSupported, type Prediction } from '@skelprune/runtime';

export async function classify(url: string, frames: number[][][]): Promise<Prediction | null> {
  try {
    const model = await SkeletonClassifier.load(url, { backend: wasmSimdSupported() ? 'wasm' : 'ts' });
    const stream = model.stream({ window: model.info.frames });
    for (const frame of frames) stream.push(frame);
    const [first] = model.predictBatch([frames, { positions: new Float32Array(3), frames: 1 }]);
    return stream.predict({ topK: 3 }) ?? first ?? null;
  } catch (error) {
    if (error instanceof SkelpruneError) return null;
    throw error;
  }
}
`;

/** The toolkit's use of the internal entry (it compiles with the DOM library). */
const INTERNAL_CONSUMER = `
import { classifierFromModelFile, createKernels, decodeModelFile } from '@skelprune/runtime/internal';

export async function layerCount(bytes: Uint8Array): Promise<number> {
  const kernels = await createKernels({ backend: 'ts' });
  return classifierFromModelFile(decodeModelFile(bytes), { kernels }).info.layers.length;
}
`;

/** Where the declarations must compile: TypeScript libraries and type packages, and the entries used. */
const ENVIRONMENTS = [
  { name: 'a browser page', lib: ['es2023', 'dom'], types: [], internal: true },
  { name: 'a Web Worker', lib: ['es2023', 'webworker'], types: [], internal: true },
  { name: 'Node without the DOM library', lib: ['es2023'], types: ['node'], internal: false },
];

describe('the @skelprune/runtime package', () => {
  it('declares no dependencies of any kind', () => {
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'bundleDependencies']) {
      assert.equal(manifest[field], undefined, field);
    }
    assert.deepEqual(manifest.files, ['dist/src', 'README.md', 'LICENSE']);
  });

  it('imports no Node built-in at the top of any module but the kernel worker thread', () => {
    const modules = files(join(packageRoot, 'dist/src'), '.js');
    assert.ok(modules.length > 20, `${modules.length} compiled modules`);
    const importers = modules.filter((file) =>
      /^\s*import\b[^;]*['"](node:[\w/]+|fs|path|os|worker_threads|child_process)['"]/m.test(
        readFileSync(file, 'utf8'),
      ),
    );
    // The kernel worker runs only as a Node worker thread, which pool.ts starts by URL; no module imports it.
    assert.deepEqual(
      importers.map((file) => relative(packageRoot, file)),
      ['dist/src/kernels/pool-worker.js'],
    );
    for (const file of modules) {
      assert.doesNotMatch(readFileSync(file, 'utf8'), /from '\.\/pool-worker\.js'|\brequire\(/, file);
    }
  });

  for (const { name, lib, types, internal } of ENVIRONMENTS) {
    it(`type-checks a strict consumer in ${name} (lib ${lib.join(', ')}; types [${types.join(', ')}])`, () => {
      const project = mkdtempSync(join(tmpdir(), 'skelprune-types-'));
      mkdirSync(join(project, 'node_modules/@skelprune'), { recursive: true });
      symlinkSync(packageRoot, join(project, 'node_modules/@skelprune/runtime'), 'dir');
      if (types.includes('node')) {
        const nodeTypes = dirname(createRequire(import.meta.url).resolve('@types/node/package.json'));
        mkdirSync(join(project, 'node_modules/@types'));
        symlinkSync(nodeTypes, join(project, 'node_modules/@types/node'), 'dir');
      }
      const files = { 'public.ts': PUBLIC_CONSUMER, ...(internal && { 'internal.ts': INTERNAL_CONSUMER }) };
      for (const [file, text] of Object.entries(files)) writeFileSync(join(project, file), text);
      const compilerOptions = {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        lib,
        types,
        strict: true,
        noEmit: true,
        // Check the package's own declarations too, not only their use.
        skipLibCheck: false,
      };
      writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module' }));
      writeFileSync(
        join(project, 'tsconfig.json'),
        JSON.stringify({ compilerOptions, files: Object.keys(files) }),
      );
      const run = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
      assert.equal(run.status, 0, `tsc: ${run.stdout}${run.stderr}`);
    });
  }
});
