/**
 * `skelprune demo`: the whole pipeline on the built-in synthetic dataset, no download needed:
 * train the GCN, prune it with CTF, export the dense and the pruned model, time both, and say how to
 * watch them in the browser. Each step is the same code as its own command.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { SkelpruneError } from '../../errors.js';
import { resolvePruneConfig } from '../../prune/config.js';
import { resolveRunConfig } from '../../train/run-config.js';
import { makeDirectory } from '../../util/directory.js';
import { parseNonNegativeInteger } from '../arguments.js';
import { benchCommand, exportCommand } from './deploy.js';
import { prune } from './prune.js';
import { train } from './train.js';

const DEMO_RATE = 0.9;

/** Written into every demo output folder: only a folder holding it is one a rerun may replace. */
const MARKER = '.skelprune-demo';
/** What the demo writes into its folder (and a rerun removes), besides the marker. */
const OUTPUTS = {
  denseDir: 'dense',
  prunedDir: `ctf-${DEMO_RATE * 100}`,
  denseFile: 'dense.skp',
  prunedFile: 'pruned.skp',
};

/**
 * Makes `out` ready for the demo without deleting anything the demo did not write: a new or empty
 * folder gets the marker; a folder with the marker (an earlier demo's) loses that demo's outputs;
 * anything else is refused.
 */
export async function prepareOutput(out: string): Promise<void> {
  if (existsSync(out)) {
    if (!statSync(out).isDirectory())
      throw new SkelpruneError(`--out ${out} is a file; choose a folder for the demo's outputs`);
    const entries = readdirSync(out);
    if (entries.length > 0 && !entries.includes(MARKER))
      throw new SkelpruneError(
        `--out ${out} is not empty and holds no earlier demo (no ${MARKER}); choose a new or empty folder`,
      );
    for (const name of Object.values(OUTPUTS)) await rm(join(out, name), { recursive: true, force: true });
  }
  await makeDirectory(out);
  await writeFile(join(out, MARKER), 'written by skelprune demo: a rerun of the demo replaces this folder\n');
}

function step(title: string): void {
  console.log(`\n── ${title} ${'─'.repeat(Math.max(0, 70 - title.length))}`);
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole pipeline on the built-in synthetic dataset: train, CTF-prune to 90%, export, time (about a minute)',
    )
    .option(
      '--out <dir>',
      "output directory: a new or empty folder, or an earlier demo's (whose outputs are replaced)",
      'runs/demo',
    )
    .option('--seed <n>', 'random seed', parseNonNegativeInteger, 0)
    .action(async ({ out, seed }: { out: string; seed: number }) => {
      await prepareOutput(out);

      step('1/4 train the GCN on fold 1 of the synthetic motions');
      const denseDir = join(out, OUTPUTS.denseDir);
      await train(
        resolveRunConfig({}, { dataset: 'synthetic', fold: 1, out: denseDir, seed }),
        false,
        'demo',
      );
      const denseCheckpoint = join(denseDir, 'fold-1', 'model.ckpt');

      step(`2/4 coarse-to-fine pruning to ${DEMO_RATE * 100}% of the weights`);
      const prunedDir = join(out, OUTPUTS.prunedDir);
      await prune(
        resolvePruneConfig(
          {},
          {
            method: 'ctf',
            rate: DEMO_RATE,
            dataset: 'synthetic',
            from: denseCheckpoint,
            out: prunedDir,
            seed,
          },
        ),
        false,
        'demo',
      );

      step('3/4 export both models to .skp files');
      const files = { dense: join(out, OUTPUTS.denseFile), pruned: join(out, OUTPUTS.prunedFile) };
      await exportCommand({ model: denseCheckpoint, out: files.dense });
      await exportCommand({ model: join(prunedDir, 'model.ckpt'), out: files.pruned });

      step('4/4 time the dense and the pruned model');
      await benchCommand({ model: files.pruned, dense: files.dense, repeats: 500, batch: 32, onnx: false });

      console.log(
        `\nWatch them classify in your browser: skelprune serve --model ${files.pruned} --dense ${files.dense}`,
      );
      console.log(
        'The page also classifies your hand from the webcam and records gestures to train your own model: docs/demo.md.',
      );
      console.log('On real data: README.md, "Using it on real data".');
    });
}
