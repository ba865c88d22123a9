/**
 * bench:data — wall time to read and preprocess whole datasets: parse every file, fit the default
 * preprocessing on the first fold's training part, preprocess every sequence (no augmentation).
 * Target: all of FPHA (105,459 frames) in under 3 s. Real data comes from $SKELPRUNE_DATA_ROOT or
 * ../shared/data beside the repository; a missing dataset is skipped with a message.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LoadOptions, loadDataset } from '../src/data/load.js';
import { fitPreprocessing, preprocessSequence } from '../src/data/preprocess.js';
import type { Dataset } from '../src/data/types.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DATA_ROOT = process.env.SKELPRUNE_DATA_ROOT ?? resolve(REPO_ROOT, '../shared/data');
const RUNS = 3;
const FPHA_TARGET_S = 3;

interface Timing {
  readonly load: number;
  readonly preprocess: number;
}

async function timeOnce(options: LoadOptions): Promise<{ dataset: Dataset; timing: Timing }> {
  const start = performance.now();
  const dataset = await loadDataset(options);
  const loaded = performance.now();
  const [fold] = Object.values(dataset.protocols)[0];
  const train = new Set(fold.train);
  const fitted = fitPreprocessing(
    dataset.sequences.filter((s) => train.has(s.id)),
    dataset.graph,
  );
  for (const sequence of dataset.sequences) preprocessSequence(sequence, fitted);
  const done = performance.now();
  return { dataset, timing: { load: (loaded - start) / 1000, preprocess: (done - loaded) / 1000 } };
}

async function bench(label: string, options: LoadOptions, targetSeconds?: number): Promise<void> {
  const timings: Timing[] = [];
  let dataset: Dataset | undefined;
  for (let run = 0; run < RUNS; run++) {
    const result = await timeOnce(options);
    dataset = result.dataset;
    timings.push(result.timing);
  }
  const frames = dataset!.sequences.reduce((sum, s) => sum + s.frames, 0);
  const totals = timings.map((t) => t.load + t.preprocess);
  const median = [...totals].sort((a, b) => a - b)[Math.floor(RUNS / 2)];
  const runs = timings.map(
    (t) =>
      `${(t.load + t.preprocess).toFixed(2)} s (read or generate ${t.load.toFixed(2)} + preprocess ${t.preprocess.toFixed(2)})`,
  );
  console.log(
    `${label}: ${dataset!.sequences.length.toLocaleString('en-US')} sequences, ${frames.toLocaleString('en-US')} frames`,
  );
  console.log(`  runs: ${runs.join(', ')}`);
  const verdict =
    targetSeconds === undefined
      ? ''
      : `  target < ${targetSeconds} s: ${median < targetSeconds ? 'met' : 'MISSED'}`;
  const rate = Math.round(frames / median).toLocaleString('en-US');
  console.log(`  median ${median.toFixed(2)} s, ${rate} frames/s${verdict}`);
}

async function main(): Promise<void> {
  console.log(
    `bench:data — read + preprocess (defaults: resample to 32 frames, centre, global std), median of ${RUNS}`,
  );
  const real: [string, LoadOptions, number?][] = [
    ['FPHA', { kind: 'fpha', path: join(DATA_ROOT, 'FPHA') }, FPHA_TARGET_S],
    ['SBU', { kind: 'sbu', path: join(DATA_ROOT, 'SBU') }],
  ];
  for (const [label, options, target] of real) {
    if (options.kind !== 'synthetic' && !existsSync(options.path)) {
      console.log(`${label}: skipped, no data at ${options.path} (set SKELPRUNE_DATA_ROOT)`);
      continue;
    }
    await bench(label, options, target);
  }
  await bench('synthetic (defaults, generated)', { kind: 'synthetic' });
}

await main();
