/**
 * The page's entry: compiles the wasm SIMD kernels (asynchronously, as browsers require), starts the
 * demo and loads the model `skelprune serve` offers (the dense one waits until it is compared). A
 * failure before the demo runs is shown in the page's error box, not only in the console.
 */
import { createKernels } from '@skelprune/runtime';
import { DemoApp } from './app.js';
import { byId } from './dom.js';
import { servedModels } from './models.js';

declare global {
  interface Window {
    /** The running demo, for the browser tests and the console (e.g. `skelpruneDemo.live.replay`). */
    skelpruneDemo?: DemoApp;
  }
}

async function start(): Promise<void> {
  const kernels = await createKernels();
  document.body.dataset.backend = kernels.name;
  byId('backend').textContent =
    kernels.name === 'wasm-simd' ? 'wasm SIMD' : 'plain TypeScript (no wasm SIMD here)';
  const app = new DemoApp(kernels);
  window.skelpruneDemo = app;
  await app.addServedModels(servedModels());
  document.body.dataset.ready = 'true';
}

start().catch((error: unknown) => {
  const box = byId('error');
  box.textContent = `The demo could not start: ${error instanceof Error ? error.message : String(error)}`;
  box.hidden = false;
  throw error;
});
