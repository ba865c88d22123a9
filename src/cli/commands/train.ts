/** `skelprune train`: train the GCN on a dataset's protocol folds, evaluate, save checkpoints. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { DATASET_KINDS } from '../../data/load.js';
import { VALIDATION_GROUPINGS } from '../../data/splits.js';
import { SkelpruneError } from '../../errors.js';
import { formatTable } from '../../report/table.js';
import { trainConfigSchema } from '../../train/config.js';
import {
  type FoldEvent,
  type FoldJob,
  type FoldResult,
  loadRunDataset,
  runProtocol,
} from '../../train/experiment.js';
import { jobSpec, runJobs } from '../../train/jobs.js';
import { formatConfusion, formatPercent, meanMetrics } from '../../train/metrics.js';
import {
  DATASET_DEFAULTS,
  parseOverrides,
  type RunConfig,
  readConfigFile,
  resolveRunConfig,
} from '../../train/run-config.js';
import { writeFileAtomic } from '../../util/fs.js';
import { createProgress, formatDuration } from '../progress.js';

const TRAIN_DEFAULTS = trainConfigSchema.parse({});

/** Flags that map one-to-one onto config keys, with their parsers. */
const NUMERIC_FLAGS = {
  seed: 'random seed',
  jobs: 'folds trained in parallel worker processes',
  epochs: 'training epochs',
  batchSize: 'mini-batch size',
  lr: 'peak learning rate',
  weightDecay: 'weight decay',
  warmupEpochs: 'linear warmup epochs',
  labelSmoothing: 'label smoothing ε',
  clipNorm: 'gradient-norm clipping threshold, 0 = off',
  validationFraction: 'share of the training part held out for model selection',
  patience: 'early stopping after this many epochs without improvement, 0 = off',
} as const;

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** "(default: 120; fpha: 200, sbu: 150)": the schema default and the datasets that differ. */
function defaultOf(key: string): string {
  const base = (TRAIN_DEFAULTS as Record<string, unknown>)[key];
  const perDataset = Object.entries(DATASET_DEFAULTS)
    .filter(([, defaults]) => defaults[key] !== undefined && defaults[key] !== base)
    .map(([dataset, defaults]) => `${dataset}: ${defaults[key]}`);
  if (base === undefined) return '';
  return ` (default: ${base}${perDataset.length > 0 ? `; ${perDataset.join(', ')}` : ''})`;
}

export function registerTrainCommand(program: Command): void {
  const command = program
    .command('train')
    .description(
      'train the GCN on every fold of a protocol (or one), evaluate on the test part and save checkpoints',
    )
    .addOption(new Option('--dataset <kind>', 'dataset format').choices(DATASET_KINDS))
    .option('--path <dir>', 'dataset folder (not needed for synthetic)')
    .option('--config <file>', 'JSON or YAML file with any of these settings (flags override it)')
    .option('--protocol <name>', 'evaluation protocol (default: sbu 5-fold, fpha 1:1, else the first)')
    .option('--fold <k>', "fold number (1-based) or 'all' (default: all)")
    .option('--out <dir>', 'output directory (default: runs/<dataset>)')
    .option('--resume', 'continue an interrupted run in --out exactly where it stopped', false)
    .option('--optimizer <name>', `adam or adamw${defaultOf('optimizer')}`)
    .addOption(
      new Option(
        '--validation-by <grouping>',
        `validation part drawn from every class, or as whole subjects (like a cross-subject test)${defaultOf('validationBy')}`,
      ).choices(VALIDATION_GROUPINGS),
    )
    .option(
      '--set <key=value...>',
      'any other setting, e.g. --set model.heads=8 preprocess.temporal.frames=48',
    );
  for (const [key, description] of Object.entries(NUMERIC_FLAGS)) {
    const fallback = key === 'seed' ? ' (default: 0)' : key === 'jobs' ? ' (default: 1)' : defaultOf(key);
    command.option(`--${kebab(key)} <n>`, `${description}${fallback}`, Number);
  }
  command.action(async (options: Record<string, unknown>) => {
    const config = await configFromOptions(options);
    await train(config, Boolean(options.resume), process.argv.slice(2).join(' '));
  });
}

export async function configFromOptions(options: Record<string, unknown>): Promise<RunConfig> {
  const file = typeof options.config === 'string' ? await readConfigFile(options.config) : {};
  const flags: Record<string, unknown> = {};
  for (const key of [
    'dataset',
    'path',
    'protocol',
    'out',
    'optimizer',
    'validationBy',
    ...Object.keys(NUMERIC_FLAGS),
  ]) {
    if (options[key] !== undefined) flags[key] = options[key];
  }
  if (options.fold !== undefined) flags.fold = options.fold === 'all' ? 'all' : Number(options.fold);
  const overrides = parseOverrides((options.set as string[] | undefined) ?? []);
  if (flags.dataset === undefined && file.dataset === undefined) {
    throw new SkelpruneError(
      "no dataset: pass --dataset (sbu, fpha, generic or synthetic) or set 'dataset' in --config",
    );
  }
  return resolveRunConfig(
    { ...file },
    { ...overrides, ...flags },
    typeof options.config === 'string' ? options.config : 'flags',
  );
}

export async function train(config: RunConfig, resume: boolean, command: string): Promise<void> {
  const out = config.out ?? join('runs', config.dataset);
  await guardOutput(out, config, resume);
  const dataset = await loadRunDataset(config);
  const protocol = runProtocol(config, dataset);
  const folds = dataset.protocols[protocol];
  if (!folds)
    throw new SkelpruneError(
      `${dataset.name} has no protocol '${protocol}' (protocols: ${Object.keys(dataset.protocols).join(', ')})`,
    );
  if (config.fold !== 'all' && config.fold > folds.length) {
    throw new SkelpruneError(`--fold ${config.fold}: protocol '${protocol}' has ${folds.length} fold(s)`);
  }
  const indices = config.fold === 'all' ? folds.map((_, i) => i) : [config.fold - 1];
  await writeFileAtomic(join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  console.log(
    `training on ${dataset.title}, protocol ${protocol}, ${indices.length} fold(s), ${config.jobs} job(s) → ${out}`,
  );

  const jobs: FoldJob[] = indices.map((foldIndex) => ({
    config,
    foldIndex,
    dir: join(out, `fold-${foldIndex + 1}`),
    command: `skelprune ${command}`,
  }));
  const progress = createProgress();
  const tasks = jobs.map((job) => progress.task(`fold ${job.foldIndex + 1}/${folds.length}`));
  const started = performance.now();
  let results: FoldResult[];
  try {
    results = await runJobs<FoldResult, FoldEvent>(
      jobs.map((args) => jobSpec('../../train/experiment.js', import.meta.url, 'trainFold', args)),
      config.jobs,
      (index, event) => reportEvent(tasks[index], event, config.epochs),
    );
  } finally {
    progress.stop();
  }
  results.forEach((r, i) => {
    tasks[i].done(`test ${formatPercent(r.metrics.top1)}`);
  });
  printSummary(results, (performance.now() - started) / 1000);
  const mean = meanMetrics(results.map((r) => r.metrics));
  await writeFileAtomic(
    join(out, 'summary.json'),
    `${JSON.stringify({ dataset: dataset.name, protocol, folds: results, mean: { top1: mean.top1, meanClass: mean.meanClass } }, null, 2)}\n`,
  );
}

const lastValidation = new Map<object, string>();

function reportEvent(
  task: ReturnType<ReturnType<typeof createProgress>['task']>,
  event: FoldEvent,
  epochs: number,
): void {
  if (event.type === 'step') {
    const fraction = (event.epoch - 1 + event.step / event.steps) / event.epochs;
    const val = lastValidation.get(task) ?? '';
    task.update(fraction, {
      status: `epoch ${event.epoch}/${event.epochs} · loss ${event.loss.toFixed(3)}${val}`,
    });
  } else if (event.type === 'epoch') {
    const v = event.record.validation;
    if (v) lastValidation.set(task, ` · val ${formatPercent(v.top1)}`);
    task.update(event.record.epoch / epochs, {
      status: `epoch ${event.record.epoch}/${epochs} · loss ${event.record.loss.toFixed(3)}${lastValidation.get(task) ?? ''}`,
    });
  } else if (event.resumedAt > 0) {
    task.update(event.resumedAt / epochs, { status: `resumed after epoch ${event.resumedAt}` });
  }
}

function printSummary(results: readonly FoldResult[], seconds: number): void {
  const rows = [
    ['fold', 'top-1', 'mean-class', 'best epoch', 'epochs', 'train time', 'train seq/s', 'infer seq/s'],
    ...results.map((r) => [
      `${r.foldIndex + 1} ${r.fold}`,
      formatPercent(r.metrics.top1),
      formatPercent(r.metrics.meanClass),
      String(r.bestEpoch),
      String(r.epochsRun),
      formatDuration(r.trainSeconds),
      r.trainThroughput.toFixed(0),
      r.inferenceThroughput.toFixed(0),
    ]),
  ];
  const mean = meanMetrics(results.map((r) => r.metrics));
  if (results.length > 1)
    rows.push(['mean', formatPercent(mean.top1), formatPercent(mean.meanClass), '', '', '', '', '']);
  console.log(`\n${formatTable(rows, 'lrrrrrrr', true).join('\n')}`);
  console.log(`\nconfusion matrix (test sequences${results.length > 1 ? ', all folds' : ''}):`);
  console.log(formatConfusion(mean.confusion, results[0].classNames));
  console.log(
    `\nwall time ${formatDuration(seconds)}; checkpoints: ${results.map((r) => r.checkpoint).join(', ')}`,
  );
}

/** Refuses to mix runs: an output folder is reused only with --resume and the same settings. */
async function guardOutput(out: string, config: RunConfig, resume: boolean): Promise<void> {
  const path = join(out, 'config.json');
  if (!existsSync(path)) return;
  if (!resume)
    throw new SkelpruneError(
      `${out} already holds a run; pass --resume to continue it or choose another --out`,
    );
  const previous = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  const current = config as unknown as Record<string, unknown>;
  const differing = Object.keys({ ...previous, ...current }).filter(
    (key) => key !== 'jobs' && JSON.stringify(previous[key]) !== JSON.stringify(current[key]),
  );
  if (differing.length > 0) {
    throw new SkelpruneError(
      `--resume: settings differ from the run in ${out} (${differing.join(', ')}); resume with the same settings`,
    );
  }
}
