/** `skelprune model summary` and `skelprune eval`: what a model costs, and how well a checkpoint does. */
import { type Command, Option } from 'commander';
import { loadModel, type ModelSummary, modelForConfig, modelSummary } from '../../api/model.js';
import { type EvaluateOptions, evaluate } from '../../api/train.js';
import { DATASET_KINDS } from '../../data/load.js';
import { formatTable } from '../../report/table.js';
import { formatConfusion, formatPercent } from '../../train/metrics.js';
import { parsePositiveInteger } from '../arguments.js';
import { configFromOptions, givenSettings, resolveGivenSettings } from './train.js';

const count = (n: number) => n.toLocaleString('en-US');

/** The summary as `skelprune model summary` prints it: a cost table and a pruning-structure table. */
export function formatModelSummary(summary: ModelSummary): string {
  const totalParams = summary.layers.reduce((s, l) => s + l.parameters, 0);
  const rows = [
    ['layer', 'shape', 'parameters', 'MACs/seq', 'FLOPs/seq'],
    ...summary.layers.map((l) => [l.name, l.shape, count(l.parameters), count(l.macs), count(2 * l.macs)]),
    ['total', '', count(totalParams), count(summary.macs), count(2 * summary.macs)],
  ];
  const structure = [
    ['prunable weight', 'rows', 'columns', 'blocks', 'block'],
    ...summary.prunable.map((p) => [
      p.name,
      `${p.rows} (${p.meaning.rows})`,
      `${p.cols} (${p.meaning.cols})`,
      String(p.blocks),
      p.meaning.blocks,
    ]),
  ];
  return [
    ...formatTable(rows, 'llrrr', true),
    '',
    `FLOPs = 2 × multiply-adds, per sequence. ${count(summary.prunableParameters)} of ${count(summary.parameters)} parameters are prunable (every weight matrix but the classifier).`,
    '',
    ...formatTable(structure, 'lllrl', true),
  ].join('\n');
}

export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('inspect model architectures');
  model
    .command('summary')
    .description('parameters, multiply-adds and FLOPs per layer, and the pruning structure of every weight')
    .option('--model <checkpoint>', 'summarise a trained checkpoint')
    .addOption(
      new Option('--dataset <kind>', 'or: the default architecture for a dataset').choices(DATASET_KINDS),
    )
    .option('--path <dir>', 'dataset folder (only needed for generic data)')
    .option('--config <file>', 'JSON or YAML settings (as for train)')
    .option('--set <key=value...>', 'settings, e.g. --set model.heads=8')
    .action(async (options: Record<string, unknown>) => {
      const gcn =
        typeof options.model === 'string'
          ? (await loadModel(options.model)).model
          : await modelForConfig(await configFromOptions(options));
      console.log(formatModelSummary(modelSummary(gcn)));
    });
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description(
      'evaluate a checkpoint on a dataset (by default the test part of the fold it was trained on)',
    )
    .requiredOption('--model <checkpoint>', 'checkpoint written by train or prune')
    .addOption(new Option('--dataset <kind>', 'dataset format').choices(DATASET_KINDS))
    .option('--path <dir>', 'dataset folder (not needed for synthetic)')
    .option(
      '--config <file>',
      "JSON or YAML settings as for train, e.g. the run's config.json (its dataset, path, protocol, fold and synthetic settings apply)",
    )
    .option(
      '--set <key=value...>',
      'settings as for train, e.g. --set synthetic.classes=4 for a model trained with it',
    )
    .option('--protocol <name>', 'protocol (default: the one the model was trained with)')
    .option(
      '--fold <k>',
      'fold number, 1-based (default: the one the model was trained on)',
      parsePositiveInteger,
    )
    .addOption(
      new Option('--split <part>', 'which sequences').choices(['test', 'train', 'all']).default('test'),
    )
    .action(async (options: Record<string, unknown>) => {
      const given = await givenSettings(options);
      const config = resolveGivenSettings(given);
      // Protocol and fold as given; left out, they are the model's own (not the dataset's defaults).
      const { protocol, fold } = given.settings as { protocol?: string; fold?: number | 'all' };
      const r = await evaluate({
        model: options.model as string,
        dataset: config.dataset,
        path: config.path,
        synthetic: config.synthetic,
        protocol,
        fold: fold === 'all' ? undefined : fold,
        split: options.split as EvaluateOptions['split'],
      });
      console.log(
        `${r.model} on ${r.title}, protocol ${r.protocol}, fold ${r.foldIndex + 1} (${r.fold}), ${r.split} part: ${r.sequences} sequences`,
      );
      console.log(
        `top-1 accuracy ${formatPercent(r.metrics.top1, 2)}, mean-class accuracy ${formatPercent(r.metrics.meanClass, 2)}, ${r.sequencesPerSecond.toFixed(0)} sequences/s\n`,
      );
      console.log(formatConfusion(r.metrics.confusion, r.classNames));
    });
}
