/** `skelprune prune`: prune trained checkpoints (or train pruned from scratch) to an exact budget. */
import { basename, dirname } from 'node:path';
import { type Command, Option } from 'commander';
import type { FoldProgressEvent } from '../../api/progress.js';
import { type PruneRunResult, runPruning } from '../../api/prune.js';
import { DATASET_KINDS } from '../../data/load.js';
import { BUDGET_KINDS } from '../../prune/budget.js';
import { type PruneConfig, resolvePruneConfig } from '../../prune/config.js';
import { METHODS } from '../../prune/methods.js';
import { flopTotals, formatPruneReport, structuredShare } from '../../prune/report.js';
import type { PruneResult } from '../../prune/run.js';
import { formatTable } from '../../report/table.js';
import { formatPercent, meanMetrics } from '../../train/metrics.js';
import { parseOverrides, readConfigFile } from '../../train/run-config.js';
import { parseNumber } from '../arguments.js';
import { createProgress, formatDuration, type ProgressTask } from '../progress.js';

export function registerPruneCommand(program: Command): void {
  program
    .command('prune')
    .description('prune a trained model to an exact rate and fine-tune it; prints a per-layer report')
    .addOption(new Option('--method <name>', 'pruning method').choices(METHODS))
    .option('--rate <r>', 'target pruning rate in (0, 1), e.g. 0.95', parseNumber)
    .addOption(new Option('--dataset <kind>', 'dataset format').choices(DATASET_KINDS))
    .option('--path <dir>', 'dataset folder (not needed for synthetic)')
    .option(
      '--from <checkpoint|dir>',
      'a trained checkpoint or a train output directory (all folds); omit to train pruned from scratch',
    )
    .option('--config <file>', 'JSON or YAML file with any of these settings (flags override it)')
    .addOption(
      new Option(
        '--budget <kind>',
        'what the rate counts; weights+flops: exactly the rate of the weights and at least the rate of the FLOPs (CTF methods) (default: weights)',
      ).choices(BUDGET_KINDS),
    )
    .option('--prune-epochs <n>', 'epochs of the pruning phase (default: 60)', parseNumber)
    .option('--finetune-epochs <n>', 'epochs of fine-tuning with hard masks (default: 20)', parseNumber)
    .option('--finetune-lr <x>', 'fine-tuning learning rate (default: 3e-4)', parseNumber)
    .option('--lr <x>', 'learning rate of the pruning phase (default: 1e-3)', parseNumber)
    .option(
      '--distill <w>',
      'weight of distillation from the --from model while pruning and fine-tuning; 0 = off (default: 0)',
      parseNumber,
    )
    .option(
      '--no-control',
      'skip the control run (the --from model trained the same extra epochs, nothing pruned); default: run it',
    )
    .option('--seed <n>', 'random seed (default: 0)', parseNumber)
    .option('--jobs <n>', 'folds pruned in parallel worker processes (default: 1)', parseNumber)
    .option('--out <dir>', 'output directory (default: runs/prune-<method>-<rate>)')
    .option('--resume', 'continue an interrupted run in --out', false)
    .option(
      '--set <key=value...>',
      'any other setting, e.g. --set ctf.scale=frozen magnitude.schedule=gradual',
    )
    .action(async (options: Record<string, unknown>) => {
      const file = typeof options.config === 'string' ? await readConfigFile(options.config) : {};
      const flags: Record<string, unknown> = {};
      for (const key of [
        'method',
        'rate',
        'dataset',
        'path',
        'from',
        'budget',
        'pruneEpochs',
        'finetuneEpochs',
        'finetuneLr',
        'lr',
        'distill',
        'seed',
        'jobs',
        'out',
      ]) {
        if (options[key] !== undefined) flags[key] = options[key];
      }
      // commander defaults a --no- flag to true; only its use may override the config file.
      if (options.control === false) flags.control = false;
      const config = resolvePruneConfig(
        file,
        { ...parseOverrides((options.set as string[]) ?? []), ...flags },
        typeof options.config === 'string' ? options.config : 'flags',
      );
      await prune(config, Boolean(options.resume), process.argv.slice(2).join(' '));
    });
}

/** Runs `prune` with the CLI's progress bars, then prints each fold's report and their mean. */
export async function prune(config: PruneConfig, resume: boolean, command: string): Promise<PruneRunResult> {
  const progress = createProgress();
  const tasks: ProgressTask[] = [];
  let result: PruneRunResult;
  try {
    result = await runPruning(config, {
      resume,
      command: `skelprune ${command}`,
      onProgress: (event) => {
        if (event.type !== 'start') return report(tasks, event);
        for (const run of event.runs) {
          const what = run.control ? 'control (nothing pruned)' : event.method;
          const fold = basename(run.control ? dirname(run.dir) : run.dir);
          const several = event.runs.filter((r) => r.control === run.control).length > 1;
          tasks.push(progress.task(several ? `${fold} ${what}` : what));
        }
      },
    });
  } finally {
    progress.stop();
  }
  for (const r of result.folds) console.log(`\n${formatPruneReport(r)}`);
  if (result.folds.length > 1) printMean(result.folds);
  return result;
}

const totals = new Map<ProgressTask, number>();

function report(tasks: readonly ProgressTask[], event: FoldProgressEvent): void {
  const task = tasks[event.run];
  if (event.type === 'fold-done') return;
  if (event.type === 'fold-start') {
    totals.set(task, event.epochs);
    return;
  }
  const total = totals.get(task) ?? 1;
  if (event.type === 'step') {
    const done =
      (event.phase === 'finetune' ? total - event.epochs : 0) + event.epoch - 1 + event.step / event.steps;
    task.update(done / total, {
      status: `${event.phase} epoch ${event.epoch}/${event.epochs} · loss ${event.loss.toFixed(3)}`,
    });
  } else {
    const soft = event.extra.softKept;
    const status = soft === undefined ? '' : ` · soft kept ${formatPercent(soft, 2)}`;
    const done = (event.phase === 'finetune' ? total - event.epochs : 0) + event.epoch;
    task.update(Math.min(1, done / total), { status: `${event.phase} epoch ${event.epoch}${status}` });
  }
}

function printMean(results: readonly PruneResult[]): void {
  const mean = meanMetrics(results.map((r) => r.metrics));
  const rows = [
    [
      'fold',
      'top-1',
      'unpruned',
      'control',
      'achieved rate',
      'FLOPs kept (compacted)',
      'structured share',
      'time',
    ],
    ...results.map((r) => [
      `${r.foldIndex + 1} ${r.fold}`,
      formatPercent(r.metrics.top1),
      r.denseTop1 === null ? '-' : formatPercent(r.denseTop1),
      r.controlTop1 === null ? '-' : formatPercent(r.controlTop1),
      formatPercent(r.achievedRate, 2),
      formatPercent(flopTotals(r).structured / flopTotals(r).dense),
      formatPercent(structuredShare(r)),
      formatDuration(r.seconds),
    ]),
    ['mean', formatPercent(mean.top1), '', '', '', '', '', ''],
  ];
  console.log(`\n${formatTable(rows, 'lrrrrrrr', true).join('\n')}`);
}
