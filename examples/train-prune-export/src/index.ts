/**
 * The whole skelprune pipeline from a script, on the built-in synthetic skeletons (no download):
 * train the GCN on one fold, prune it with coarse-to-fine pruning to 90% of its weights, export the
 * pruned model to a `.skp` file and classify one held-out sequence with the runtime.
 *
 *   npm start
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportModel, generateSynthetic, prune, SkeletonClassifier, train } from 'skelprune';

const percent = (p: number) => `${(100 * p).toFixed(1)}%`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** A small model and dataset, so the example runs in seconds; leave them out for the CLI's defaults. */
const synthetic = { sequencesPerClass: 24 };
const settings = {
  dataset: 'synthetic',
  fold: 1,
  seed: 0,
  synthetic,
  model: { heads: 4, headDim: 4, encodingChannels: 16, convChannels: 32, fcUnits: 64 },
} as const;

async function main(): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), 'skelprune-example-'));

  const dense = await train({
    ...settings,
    epochs: 12,
    out: join(out, 'dense'),
    onProgress: (event) => {
      if (event.type === 'epoch' && event.epoch % 4 === 0)
        console.log(`training: epoch ${event.epoch}/${event.epochs}, loss ${event.loss.toFixed(3)}`);
    },
  });
  const [denseFold] = dense.folds;
  if (!denseFold) throw new Error('training returned no fold');
  console.log(`dense model: test accuracy ${percent(denseFold.metrics.top1)}`);

  const pruned = await prune({
    ...settings,
    method: 'ctf',
    rate: 0.9,
    from: denseFold.checkpoint,
    out: join(out, 'ctf-90'),
  });
  const [prunedFold] = pruned.folds;
  if (!prunedFold) throw new Error('pruning returned no fold');
  console.log(
    `CTF-pruned model: ${percent(prunedFold.achievedRate)} of the weights removed, test accuracy ${percent(prunedFold.metrics.top1)}`,
  );

  const skp = join(out, 'ctf-90.skp');
  const exported = await exportModel({ model: prunedFold.checkpoint, out: skp });
  console.log(
    `${skp}: ${kib(exported.skpBytes)} (the unpruned float32 weights take ${kib(exported.unprunedBytes)})`,
  );

  const classifier = await SkeletonClassifier.load(skp);
  const dataset = generateSynthetic(synthetic);
  const testIds = new Set(dataset.protocols['cross-subject']?.[0]?.test);
  const sequence = dataset.sequences.find((s) => testIds.has(s.id));
  if (!sequence) throw new Error('no held-out sequence');
  const prediction = classifier.predict(sequence);
  console.log(
    `${sequence.id}: predicted ${prediction.className} (${percent(prediction.probability)}), true class ${dataset.classNames[sequence.label]}`,
  );
  classifier.dispose();
}

await main();
