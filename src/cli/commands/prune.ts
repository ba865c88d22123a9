/** `skelprune prune`: prune trained checkpoints (or train pruned from scratch) to an exact budget. */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { DATASET_KINDS } from '../../data/load.js';
import { SkelpruneError } from '../../errors.js';
import { BUDGET_KINDS } from '../../prune/budget.js';
import { type PruneConfig, resolvePruneConfig } from '../../prune/config.js';
import { METHODS } from '../../prune/methods.js';
import { flopTotals, formatPruneReport, structuredShare } from '../../prune/report.js';
import type { PruneEvent, PruneJob, PruneResult } from '../../prune/run.js';
import { formatTable } from '../../report/table.js';
import { jobSpec, runJobs } from '../../train/jobs.js';
import { formatPercent, meanMetrics } from '../../train/metrics.js';
import { parseOverrides, readConfigFile } from '../../train/run-config.js';
import { writeFileAtomic } from '../../util/fs.js';
import { createProgress, formatDuration, type ProgressTask } from '../progress.js';

/** Checkpoints to prune: a file, or every fold-N/model.ckpt of a `train` output directory. */
export function startingCheckpoints(from: string): { checkpoint: string; fold: string }[] {
  if (!existsSync(from)) throw new SkelpruneError(`--from ${from}: no such file or directory`);
  if (statSync(from).isFile()) return [{ checkpoint: from, fold: '' }];
  const folds: { checkpoint: string; fold: string }[] = [];
  for (let k = 1; existsSync(join(from, `fold-${k}`)); k++) {
    const checkpoint = join(from, `fold-${k}`, 'model.ckpt');
    if (!existsSync(checkpoint))
      throw new SkelpruneError(`${checkpoint} is missing: did training of fold ${k} finish?`);
    folds.push({ checkpoint, fold: `fold-${k}` });
  }
  if (folds.length === 0)
    throw new SkelpruneError(
      `--from ${from}: neither a checkpoint nor a train output directory (no fold-1/)`,
    );
  return folds;
}

export function registerPruneCommand(program: Command): void {
  program
    .command('prune')
    .description('prune a trained model to an exact rate and fine-tune it; prints a per-layer report')
    .addOption(new Option('--method <name>', 'pruning method').choices(METHODS))
    .option('--rate <r>', 'target pruning rate in (0, 1), e.g. 0.95', Number)
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
    .option('--prune-epochs <n>', 'epochs of the pruning phase (default: 60)', Number)
    .option('--finetune-epochs <n>', 'epochs of fine-tuning with hard masks (default: 20)', Number)
    .option('--finetune-lr <x>', 'fine-tuning learning rate (default: 3e-4)', Number)
    .option('--lr <x>', 'learning rate of the pruning phase (default: 1e-3)', Number)
    .option(
      '--distill <w>',
      'weight of distillation from the --from model while pruning and fine-tuning; 0 = off (default: 0)',
      Number,
    )
    .option('--seed <n>', 'random seed (default: 0)', Number)
    .option('--jobs <n>', 'folds pruned in parallel worker processes (default: 1)', Number)
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
      const config = resolvePruneConfig(
        file,
        { ...parseOverrides((options.set as string[]) ?? []), ...flags },
        typeof options.config === 'string' ? options.config : 'flags',
      );
      await prune(config, Boolean(options.resume), process.argv.slice(2).join(' '));
    });
}

export async function prune(config: PruneConfig, resume: boolean, command: string): Promise<PruneResult[]> {
  const out = config.out ?? join('runs', `prune-${config.method}-${config.rate}`);
  if (existsSync(join(out, 'config.json')) && !resume) {
    throw new SkelpruneError(
      `${out} already holds a run; pass --resume to continue it or choose another --out`,
    );
  }
  const starts = config.from ? startingCheckpoints(config.from) : [{ checkpoint: undefined, fold: '' }];
  await writeFileAtomic(join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  const jobs: PruneJob[] = starts.map((s, i) => ({
    config,
    checkpoint: s.checkpoint,
    dir: starts.length > 1 ? join(out, s.fold) : out,
    command: `skelprune ${command}`,
    ...(s.checkpoint ? {} : { foldIndex: config.fold === 'all' ? i : config.fold - 1 }),
  }));
  const progress = createProgress();
  const tasks = jobs.map((_, i) =>
    progress.task(starts.length > 1 ? `${starts[i].fold} ${config.method}` : config.method),
  );
  let results: PruneResult[];
  try {
    results = await runJobs<PruneResult, PruneEvent>(
      jobs.map((args) => jobSpec('../../prune/run.js', import.meta.url, 'pruneFold', args)),
      config.jobs,
      (index, event) => report(tasks[index], event),
    );
  } finally {
    progress.stop();
  }
  for (const r of results) console.log(`\n${formatPruneReport(r)}`);
  if (results.length > 1) printMean(results);
  await writeFileAtomic(join(out, 'summary.json'), `${JSON.stringify(results, null, 2)}\n`);
  return results;
}

const totals = new Map<ProgressTask, number>();

function report(task: ProgressTask, event: PruneEvent): void {
  if (event.type === 'start') {
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
    const soft = event.record.extra.softKept;
    const status = soft === undefined ? '' : ` · soft kept ${formatPercent(soft, 2)}`;
    const done = (event.phase === 'finetune' ? total - event.record.epoch : 0) + event.record.epoch;
    task.update(Math.min(1, done / total), { status: `${event.phase} epoch ${event.record.epoch}${status}` });
  }
}

function printMean(results: readonly PruneResult[]): void {
  const mean = meanMetrics(results.map((r) => r.metrics));
  const rows = [
    ['fold', 'top-1', 'unpruned', 'achieved rate', 'FLOPs kept (compacted)', 'structured share', 'time'],
    ...results.map((r) => [
      `${r.foldIndex + 1} ${r.fold}`,
      formatPercent(r.metrics.top1),
      r.denseTop1 === null ? '-' : formatPercent(r.denseTop1),
      formatPercent(r.achievedRate, 2),
      formatPercent(flopTotals(r).structured / flopTotals(r).dense),
      formatPercent(structuredShare(r)),
      formatDuration(r.seconds),
    ]),
    ['mean', formatPercent(mean.top1), '', '', '', '', ''],
  ];
  console.log(`\n${formatTable(rows, 'lrrrrrr', true).join('\n')}`);
}
