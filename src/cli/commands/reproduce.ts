/**
 * `skelprune reproduce`: the paper's experiment tables, plots and mask pictures in one command, on this
 * machine or (`--queue`) on workers anywhere.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { PruneSettings } from '../../api/prune.js';
import { type ReproduceReport, reproduce } from '../../api/reproduce.js';
import type { TrainSettings } from '../../api/train.js';
import { DATASET_KINDS, type DatasetKind } from '../../data/load.js';
import { SkelpruneError } from '../../errors.js';
import { METHODS } from '../../prune/methods.js';
import { parseMethodSpec } from '../../report/reproduce.js';
import { parseOverrides } from '../../train/run-config.js';
import { parseNonNegativeInteger, parseNumber, parsePositiveInteger } from '../arguments.js';
import { createProgress } from '../progress.js';
import { printReport } from '../report-output.js';
import { QUEUE_URL_HELP } from './worker.js';

function parseRates(text: string): number[] {
  const rates = text.split(',').map(Number);
  if (rates.some((r) => !(r > 0 && r < 1)))
    throw new InvalidArgumentError(`expected rates in (0, 1) separated by commas, found '${text}'`);
  return rates;
}

function parseMethods(text: string): string[] {
  const specs = text.split(',');
  for (const spec of specs) {
    try {
      parseMethodSpec(spec);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  }
  return specs;
}

export function registerReproduceCommand(program: Command): void {
  program
    .command('reproduce')
    .description(
      'run the whole protocol (dense baseline, every method at every rate, every fold) and write tables, plots, mask pictures and an HTML report',
    )
    .addOption(
      new Option(
        '--dataset <kind>',
        'dataset format (ignored with --quick, which uses synthetic data)',
      ).choices(DATASET_KINDS),
    )
    .option('--path <dir>', 'dataset folder')
    .option('--rates <list>', 'pruning rates (default: 0.9,0.95,0.98)', parseRates)
    .option(
      '--methods <list>',
      `methods, each optionally with its own budget as method@budget, e.g. ctf@weights+flops (default: all: ${METHODS.join(',')})`,
      parseMethods,
    )
    .option('--jobs <n>', 'runs in parallel worker processes', parsePositiveInteger, 1)
    .option(
      '--queue <url>',
      `run the cells on a job queue instead, by skelprune worker processes on any machines sharing --out; ${QUEUE_URL_HELP.replace(/^the /, 'it is ')}`,
    )
    .option(
      '--attempts <n>',
      'with --queue: tries per cell before it is marked failed (default: 3)',
      parsePositiveInteger,
    )
    .option(
      '--retry-delay <seconds>',
      'with --queue: delay before a failed cell is tried again, doubling for each later try (default: 10)',
      parseNumber,
    )
    .option('--out <dir>', 'output directory (default: runs/reproduce-<dataset>)')
    .option('--seed <n>', 'random seed', parseNonNegativeInteger, 0)
    .option(
      '--prune-seeds <n>',
      'prune every method and rate with this many seeds (seed, seed + 1, ...) from the same dense models; tables show their mean ± standard deviation',
      parsePositiveInteger,
      1,
    )
    .option('--speed-repeats <n>', 'timed batch-1 calls per exported model', parsePositiveInteger, 1000)
    .option(
      '--set <key=value...>',
      'settings of the dense training (train.<key>) and of pruning (prune.<key>), e.g. train.epochs=100 prune.ctf.scale=frozen',
    )
    .option(
      '--quick',
      'a reduced protocol on the synthetic data (about a minute) producing every artifact',
      false,
    )
    .action(async (flags: Record<string, unknown>) => {
      const quick = Boolean(flags.quick);
      if (!quick && !flags.dataset) throw new SkelpruneError('--dataset is required (or --quick)');
      const overrides = parseOverrides((flags.set as string[]) ?? []) as {
        train?: TrainSettings;
        prune?: PruneSettings;
      };
      const progress = createProgress();
      const task = progress.task('reproduce');
      let report: ReproduceReport;
      try {
        report = await reproduce({
          dataset: flags.dataset as DatasetKind | undefined,
          path: flags.path as string | undefined,
          rates: flags.rates as number[] | undefined,
          methods: flags.methods as string[] | undefined,
          jobs: flags.jobs as number,
          queue: flags.queue as string | undefined,
          attempts: flags.attempts as number | undefined,
          retryDelay: flags.retryDelay as number | undefined,
          out: flags.out as string | undefined,
          seed: flags.seed as number,
          pruneSeeds: flags.pruneSeeds as number,
          speedRepeats: flags.speedRepeats as number,
          train: overrides.train,
          prune: overrides.prune,
          quick,
          command: `skelprune ${process.argv.slice(2).join(' ')}`,
          onProgress: (p) => task.update(p.fraction, { status: p.status }),
        });
      } finally {
        progress.stop();
      }
      task.done('writing the report');
      printReport(report);
      const failed = report.results.failures?.length ?? 0;
      if (failed > 0) {
        process.stderr.write(`skelprune: ${failed} cell(s) of the sweep failed; see the report's warning\n`);
        process.exitCode = 1;
      }
    });
}
