/**
 * `skelprune demo`: the whole pipeline on the built-in synthetic dataset, no download needed:
 * train the GCN, prune it with CTF, export the dense and the pruned model, time both, and say how to
 * watch them in the browser. Each step is the same code as its own command.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { resolvePruneConfig } from '../../prune/config.js';
import { resolveRunConfig } from '../../train/run-config.js';
import { benchCommand, exportCommand } from './deploy.js';
import { prune } from './prune.js';
import { train } from './train.js';

const DEMO_RATE = 0.9;

function step(title: string): void {
  console.log(`\n── ${title} ${'─'.repeat(Math.max(0, 70 - title.length))}`);
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole pipeline on the built-in synthetic dataset: train, CTF-prune to 90%, export, time (about a minute)',
    )
    .option('--out <dir>', 'output directory (replaced)', 'runs/demo')
    .option('--seed <n>', 'random seed', '0')
    .action(async (options: { out: string; seed: string }) => {
      const { out } = options;
      const seed = Number(options.seed);
      await rm(out, { recursive: true, force: true });

      step('1/4 train the GCN on fold 1 of the synthetic motions');
      const denseDir = join(out, 'dense');
      await train(
        resolveRunConfig({}, { dataset: 'synthetic', fold: 1, out: denseDir, seed }),
        false,
        'demo',
      );
      const denseCheckpoint = join(denseDir, 'fold-1', 'model.ckpt');

      step(`2/4 coarse-to-fine pruning to ${DEMO_RATE * 100}% of the weights`);
      const prunedDir = join(out, `ctf-${DEMO_RATE * 100}`);
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
      const files = { dense: join(out, 'dense.skp'), pruned: join(out, 'pruned.skp') };
      await exportCommand({ model: denseCheckpoint, out: files.dense });
      await exportCommand({ model: join(prunedDir, 'model.ckpt'), out: files.pruned });

      step('4/4 time the dense and the pruned model');
      await benchCommand({ model: files.pruned, dense: files.dense, repeats: 500, batch: 32, onnx: false });

      console.log(
        `\nWatch them classify in your browser: skelprune serve --model ${files.pruned} --dense ${files.dense}`,
      );
      console.log('On real data: README.md, "Using it on real data".');
    });
}
