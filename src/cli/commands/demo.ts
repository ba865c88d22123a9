/**
 * `skelprune demo`: the whole pipeline on the built-in synthetic dataset, no download needed:
 * generate the data, train the GCN on each cross-subject fold, evaluate, print the confusion matrix.
 */
import { rm } from 'node:fs/promises';
import type { Command } from 'commander';
import { resolveRunConfig } from '../../train/run-config.js';
import { train } from './train.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('train and evaluate the GCN on the built-in synthetic dataset (about a minute)')
    .option('--out <dir>', 'output directory (replaced)', 'runs/demo')
    .option('--seed <n>', 'random seed', '0')
    .action(async (options: { out: string; seed: string }) => {
      await rm(options.out, { recursive: true, force: true });
      const config = resolveRunConfig(
        {},
        { dataset: 'synthetic', out: options.out, seed: Number(options.seed) },
      );
      await train(config, false, 'demo');
    });
}
