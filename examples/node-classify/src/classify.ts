/**
 * Classifies a skeleton sequence with a pruned model exported by skelprune (`.skp`), in Node:
 *
 *   npm start -- <model.skp> [sequence.json]
 *
 * The model path may also come from SKELPRUNE_MODEL. `sequence.json` holds the frames as
 * frames × joints × [x, y, z] (or frames × persons × joints × [x, y, z]); without it the example
 * classifies a generated motion of the model's skeleton. It then replays the frames one by one
 * through a streaming classifier, as a live tracker would deliver them.
 */
import { readFile } from 'node:fs/promises';
import { type NestedFrame, type Prediction, SkeletonClassifier, SkelpruneError } from '@skelprune/runtime';

/** Every joint swinging on its own circle: something to classify when no sequence is given. */
function generatedMotion(persons: number, joints: number, frames: number): NestedFrame[] {
  return Array.from({ length: frames }, (_, f) =>
    Array.from({ length: persons }, (_, p) =>
      Array.from({ length: joints }, (_, j) => {
        const phase = 0.2 * f + j;
        return [p + 0.1 * j + 0.05 * Math.cos(phase), 0.1 * j + 0.05 * Math.sin(phase), 0];
      }),
    ),
  );
}

const percent = (p: number) => `${(100 * p).toFixed(1)}%`;

async function main(): Promise<void> {
  const [modelPath = process.env.SKELPRUNE_MODEL, sequencePath] = process.argv.slice(2);
  if (!modelPath) {
    console.error('usage: npm start -- <model.skp> [sequence.json]   (or set SKELPRUNE_MODEL)');
    process.exitCode = 2;
    return;
  }
  const model = await SkeletonClassifier.load(modelPath);
  const { info } = model;
  const pruning = info.pruning ? `${info.pruning.method} ${percent(info.pruning.achievedRate)}` : 'dense';
  console.log(
    `model: ${info.source}, ${(info.fileBytes / 1024).toFixed(1)} KiB, ${info.parameters} parameters (${pruning})`,
  );
  console.log(
    `input: ${info.persons} person(s) × ${info.joints} joints, resampled to ${info.frames} frames; ${info.classNames.length} classes`,
  );

  const frames = sequencePath
    ? (JSON.parse(await readFile(sequencePath, 'utf8')) as NestedFrame[])
    : generatedMotion(info.persons, info.joints, 2 * info.frames);
  console.log(`sequence: ${sequencePath ?? 'generated motion'}, ${frames.length} frames`);

  const start = performance.now();
  const prediction = model.predict(frames, { topK: 3 });
  const elapsed = performance.now() - start;
  console.log(`class: ${prediction.className} (probability ${prediction.probability.toFixed(4)})`);
  console.log(`top 3: ${prediction.top.map((c) => `${c.name} ${percent(c.probability)}`).join(', ')}`);
  console.log(`time: ${elapsed.toFixed(2)} ms`);

  // Live input: the classifier keeps the last `window` frames and classifies them on demand.
  const stream = model.stream();
  let live: Prediction | null = null;
  for (const frame of frames) {
    stream.push(frame);
    live = stream.predict() ?? live;
  }
  console.log(
    live
      ? `streamed: last ${stream.frames} of ${frames.length} frames → ${live.className} (probability ${live.probability.toFixed(4)})`
      : `streamed: ${frames.length} frames are fewer than the ${stream.minFrames} a prediction needs`,
  );
}

main().catch((error: unknown) => {
  // A SkelpruneError is the user's to fix (a wrong file, a sequence that does not fit): one line.
  if (!(error instanceof SkelpruneError)) throw error;
  console.error(`error: ${error.message}`);
  process.exitCode = 1;
});
