/**
 * The runtime's public API on a real trained and CTF-pruned model: its predictions equal the
 * toolkit's, in Node, on a browser page and in a Web Worker (headless Chromium, with and without
 * cross-origin isolation, i.e. the shared and the unshared wasm module, and the TS fallback).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { SkeletonClassifier } from '@skelprune/runtime';
import { loadCheckpoint, modelFromCheckpoint } from '../../src/train/checkpoint.js';
import { predictBatch } from '../../src/train/trainer.js';
import { launchChromium, skipWithoutChromium } from '../browser.js';
import { assertClose, projectRoot } from '../helpers.js';
import { serveStatic } from '../static-server.js';
import { exportSyntheticModel, heldOutSequences, nestedFrames } from './synthetic-model.js';

/**
 * Loaded by the page and by the worker alike: loads the model with the kernels chosen automatically
 * and with the TS fallback, and classifies every sequence with both, and the first one streamed.
 */
const CLASSIFY_MODULE = `
import { SkeletonClassifier } from '/runtime/index.js';

export async function classifyAll({ modelUrl, sequences, streamed }) {
  const model = await SkeletonClassifier.load(modelUrl);
  const fallback = await SkeletonClassifier.load(modelUrl, { backend: 'ts' });
  const packed = sequences.map((s) => ({ positions: Float32Array.from(s.positions), frames: s.frames }));
  const stream = model.stream();
  for (const frame of streamed) stream.push(frame);
  return {
    kernels: model.engine.kernels.constructor.name,
    sharedMemory: typeof SharedArrayBuffer === 'function' && model.engine.kernels.heap.memory.buffer instanceof SharedArrayBuffer,
    classNames: model.predictBatch(packed).map((p) => p.className),
    probabilities: packed.map((s) => [...model.predict(s).probabilities]),
    fallback: packed.map((s) => [...fallback.predict(s).probabilities]),
    streamed: stream.predict().className,
  };
}
`;

const WORKER_SCRIPT = `
import { classifyAll } from '/classify.js';
onmessage = async ({ data }) => {
  try {
    postMessage(await classifyAll(data));
  } catch (error) {
    postMessage({ error: String(error) });
  }
};
`;

interface BrowserResult {
  kernels: string;
  sharedMemory: boolean;
  classNames: string[];
  probabilities: number[][];
  fallback: number[][];
  streamed: string;
  error?: string;
}

describe('SkeletonClassifier on a trained, pruned model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skelprune-classifier-'));
  const { sequences, classNames } = heldOutSequences();
  const trueClasses = sequences.map((s) => classNames[s.label]);
  let modelPath = '';
  let toolkitProbabilities: Float32Array[] = [];
  let model: SkeletonClassifier;

  before(async () => {
    const exported = exportSyntheticModel(dir);
    modelPath = exported.model;
    const { model: gcn, input } = modelFromCheckpoint(await loadCheckpoint(exported.checkpoint));
    toolkitProbabilities = predictBatch(gcn, input.encode(sequences), input).probabilities;
    model = await SkeletonClassifier.load(modelPath);
  });

  it('predicts what the toolkit predicts from the checkpoint, and the true classes', () => {
    assert.equal(model.info.pruning?.method, 'ctf');
    assert.ok(Math.abs((model.info.pruning?.rate ?? 0) - 0.9) < 1e-9);
    assert.ok(
      model.info.layers.some((l) => l.format !== 'dense'),
      'sparse kernels run',
    );
    const predictions = model.predictBatch(sequences);
    predictions.forEach((prediction, i) => {
      assertClose(prediction.probabilities, toolkitProbabilities[i], { atol: 1e-5, label: sequences[i].id });
    });
    assert.deepEqual(
      predictions.map((p) => p.className),
      trueClasses,
    );
  });

  for (const isolated of [false, true]) {
    it(`predicts the same on a page and in a Web Worker in Chromium (${isolated ? '' : 'not '}cross-origin isolated)`, {
      skip: skipWithoutChromium,
    }, async () => {
      const server = await serveStatic(
        {
          // No favicon request: the page asks for nothing the server does not have.
          '/': '<!doctype html><title>runtime</title><link rel="icon" href="data:,">',
          '/runtime/': { folder: join(projectRoot, 'packages/runtime/dist/src') },
          '/classify.js': CLASSIFY_MODULE,
          '/worker.js': WORKER_SCRIPT,
          '/model.skp': readFileSync(modelPath),
        },
        { isolated },
      );
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') errors.push(m.text());
        });
        page.on('pageerror', (e) => errors.push(String(e)));
        page.on('requestfailed', (r) => errors.push(`${r.url()}: ${r.failure()?.errorText}`));
        await page.goto(`${server.origin}/`);
        const request = {
          modelUrl: '/model.skp',
          sequences: sequences.map((s) => ({ positions: [...s.positions], frames: s.frames })),
          streamed: nestedFrames(sequences[0]),
        };
        const onPage = await page.evaluate(async (data) => {
          const { classifyAll } = await import(`${location.origin}/classify.js`);
          return (await classifyAll(data)) as BrowserResult;
        }, request);
        const inWorker = await page.evaluate(
          (data) =>
            new Promise<BrowserResult>((resolve) => {
              const worker = new Worker('/worker.js', { type: 'module' });
              worker.onmessage = ({ data: result }) => resolve(result);
              worker.onerror = (event) => resolve({ error: event.message } as BrowserResult);
              worker.postMessage(data);
            }),
          request,
        );
        const streamed = model.stream();
        for (const frame of request.streamed) streamed.push(frame);
        for (const [where, result] of [
          ['page', onPage],
          ['worker', inWorker],
        ] as const) {
          assert.equal(result.error, undefined, `${where}: ${result.error}`);
          assert.equal(result.kernels, 'WasmKernels', `${where}: wasm SIMD chosen`);
          assert.equal(result.sharedMemory, isolated, `${where}: the ${isolated ? '' : 'un'}shared module`);
          assert.deepEqual(result.classNames, trueClasses, where);
          assert.equal(result.streamed, streamed.predict()?.className, where);
          sequences.forEach((s, i) => {
            const expected = toolkitProbabilities[i];
            assertClose(result.probabilities[i], expected, { atol: 1e-5, label: `${where} wasm ${s.id}` });
            assertClose(result.fallback[i], expected, { atol: 1e-5, label: `${where} ts ${s.id}` });
          });
        }
        assert.deepEqual(errors, []);
      } finally {
        await browser.close();
        await server.close();
      }
    });
  }
});
