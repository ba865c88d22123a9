/**
 * Loads a pruned skelprune model (`.skp`) by URL, classifies a skeleton sequence and shows the
 * result. The model comes from `?model=<url>` or `model.skp` next to the page (put it in public/),
 * the sequence (JSON: frames × joints × [x, y, z]) from `?sequence=<url>` or `sequence.json`.
 * The runtime picks its kernels itself: wasm SIMD where the browser has it, plain TypeScript elsewhere.
 */
import { type NestedFrame, SkeletonClassifier } from '@skelprune/runtime';

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = element<HTMLParagraphElement>('status');
const output = element<HTMLOutputElement>('prediction');

async function fetchSequence(url: URL): Promise<NestedFrame[]> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot fetch the sequence ${url}: HTTP ${response.status}`);
  return (await response.json()) as NestedFrame[];
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const modelUrl = new URL(params.get('model') ?? 'model.skp', document.baseURI);
  const sequenceUrl = new URL(params.get('sequence') ?? 'sequence.json', document.baseURI);
  const started = performance.now();
  const [model, frames] = await Promise.all([SkeletonClassifier.load(modelUrl), fetchSequence(sequenceUrl)]);
  const prediction = model.predict(frames, { topK: 3 });
  const elapsed = performance.now() - started;

  const { info } = model;
  status.textContent = `${info.source}: ${info.classNames.length} classes, ${info.joints} joints; ${frames.length} frames classified in ${elapsed.toFixed(0)} ms (loading included)`;
  output.textContent = prediction.className;
  output.dataset.probability = prediction.probability.toFixed(6);
  element<HTMLOListElement>('top').replaceChildren(
    ...prediction.top.map(({ name, probability }) => {
      const item = document.createElement('li');
      item.textContent = `${name}: ${(100 * probability).toFixed(1)}%`;
      return item;
    }),
  );
  output.dataset.ready = '';
}

main().catch((error: unknown) => {
  const message = element<HTMLParagraphElement>('error');
  message.textContent = error instanceof Error ? error.message : String(error);
  message.hidden = false;
  status.textContent = 'Failed.';
  output.dataset.error = '';
});
