/** `skelprune train`: train the GCN on a dataset's protocol folds, evaluate, save checkpoints. */
import { type Command, Option } from 'commander';
import type { FoldProgressEvent } from '../../api/progress.js';
import { runTraining, type TrainResult } from '../../api/train.js';
import { DATASET_KINDS } from '../../data/load.js';
import { VALIDATION_GROUPINGS } from '../../data/splits.js';
import { SkelpruneError } from '../../errors.js';
import { formatTable } from '../../report/table.js';
import { trainConfigSchema } from '../../train/config.js';
import type { FoldResult } from '../../train/experiment.js';
import { formatConfusion, formatPercent, meanMetrics } from '../../train/metrics.js';
import {
  DATASET_DEFAULTS,
  MODEL_VARIANTS,
  mergeConfig,
  parseOverrides,
  type RunConfig,
  readConfigFile,
  resolveRunConfig,
} from '../../train/run-config.js';
import { parseFold, parseNumber } from '../arguments.js';
import { createProgress, formatDuration, type ProgressTask } from '../progress.js';

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
    .option('--fold <k>', "fold number (1-based) or 'all' (default: all)", parseFold)
    .option('--out <dir>', 'output directory (default: runs/<dataset>)')
    .option('--resume', 'continue an interrupted run in --out exactly where it stopped', false)
    .addOption(
      new Option(
        '--variant <name>',
        "the network: paper (the paper's GCN) or windowed (overlapping temporal windows before the graph attention)",
      ).choices(MODEL_VARIANTS),
    )
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
    command.option(`--${kebab(key)} <n>`, `${description}${fallback}`, parseNumber);
  }
  command.action(async (options: Record<string, unknown>) => {
    const config = await configFromOptions(options);
    await train(config, Boolean(options.resume), process.argv.slice(2).join(' '));
  });
}

/**
 * The settings given by `--config`, `--set` and the flags (flags win, then `--set`), before validation
 * and defaults, and the name errors give their source.
 */
export async function givenSettings(
  options: Record<string, unknown>,
): Promise<{ settings: Record<string, unknown>; source: string }> {
  const file = typeof options.config === 'string' ? await readConfigFile(options.config) : {};
  const flags: Record<string, unknown> = {};
  for (const key of [
    'dataset',
    'path',
    'protocol',
    'fold',
    'out',
    'optimizer',
    'variant',
    'validationBy',
    ...Object.keys(NUMERIC_FLAGS),
  ]) {
    if (options[key] !== undefined) flags[key] = options[key];
  }
  const overrides = parseOverrides((options.set as string[] | undefined) ?? []);
  const source = typeof options.config === 'string' ? options.config : 'flags';
  return { settings: mergeConfig(file, { ...overrides, ...flags }), source };
}

/** The run's settings from `--config`, `--set` and the flags, validated, every default filled in. */
export async function configFromOptions(options: Record<string, unknown>): Promise<RunConfig> {
  return resolveGivenSettings(await givenSettings(options));
}

/** `givenSettings` validated, every default filled in. */
export function resolveGivenSettings({
  settings,
  source,
}: {
  settings: Record<string, unknown>;
  source: string;
}): RunConfig {
  if (settings.dataset === undefined) {
    throw new SkelpruneError(
      "no dataset: pass --dataset (sbu, fpha, generic or synthetic) or set 'dataset' in --config",
    );
  }
  return resolveRunConfig({}, settings, source);
}

/** Runs `train` with the CLI's progress bars, then prints the per-fold table and the confusion matrix. */
export async function train(config: RunConfig, resume: boolean, command: string): Promise<TrainResult> {
  const progress = createProgress();
  const tasks: ProgressTask[] = [];
  let result: TrainResult;
  try {
    result = await runTraining(config, {
      resume,
      command: `skelprune ${command}`,
      onProgress: (event) => {
        if (event.type === 'start') {
          console.log(
            `training on ${event.title}, protocol ${event.protocol}, ${event.foldIndices.length} fold(s), ${event.jobs} job(s) → ${event.out}`,
          );
          for (const k of event.foldIndices) tasks.push(progress.task(`fold ${k + 1}/${event.folds}`));
        } else reportEvent(tasks, event);
      },
    });
  } finally {
    progress.stop();
  }
  result.folds.forEach((r, i) => {
    tasks[i].done(`test ${formatPercent(r.metrics.top1)}`);
  });
  printSummary(result.folds, result.seconds);
  return result;
}

const lastValidation = new Map<object, string>();

function reportEvent(tasks: readonly ProgressTask[], event: FoldProgressEvent): void {
  if (event.type === 'fold-done') return;
  const task = tasks[event.run];
  if (event.type === 'step') {
    const fraction = (event.epoch - 1 + event.step / event.steps) / event.epochs;
    const val = lastValidation.get(task) ?? '';
    task.update(fraction, {
      status: `epoch ${event.epoch}/${event.epochs} · loss ${event.loss.toFixed(3)}${val}`,
    });
  } else if (event.type === 'epoch') {
    const v = event.validation;
    if (v) lastValidation.set(task, ` · val ${formatPercent(v.top1)}`);
    task.update(event.epoch / event.epochs, {
      status: `epoch ${event.epoch}/${event.epochs} · loss ${event.loss.toFixed(3)}${lastValidation.get(task) ?? ''}`,
    });
  } else if (event.resumedAt > 0) {
    task.update(event.resumedAt / event.epochs, { status: `resumed after epoch ${event.resumedAt}` });
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
