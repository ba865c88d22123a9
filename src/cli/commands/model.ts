/** `skelprune model summary` and `skelprune eval`: what a model costs, and how well a checkpoint does. */
import { type Command, Option } from 'commander';
import {
  FPHA_CLASS_NAMES,
  FPHA_JOINT_NAMES,
  getFold,
  SBU_CLASS_NAMES,
  SBU_JOINT_NAMES,
} from '../../data/index.js';
import { DATASET_KINDS } from '../../data/load.js';
import { outputFrames } from '../../data/preprocess.js';
import type { Dataset } from '../../data/types.js';
import { Rng } from '../../engine/index.js';
import { SkelpruneError } from '../../errors.js';
import { featureDim } from '../../model/features.js';
import { type GcnShape, SkeletonGcn } from '../../model/gcn.js';
import { blockCount } from '../../model/layers.js';
import { formatTable } from '../../report/table.js';
import { loadCheckpoint, modelFromCheckpoint } from '../../train/checkpoint.js';
import { loadRunDataset } from '../../train/experiment.js';
import { classificationMetrics, formatConfusion, formatPercent } from '../../train/metrics.js';
import type { RunConfig } from '../../train/run-config.js';
import { predictBatch } from '../../train/trainer.js';
import { configFromOptions } from './train.js';

const count = (n: number) => n.toLocaleString('en-US');

/** Graph size and classes of the standard datasets, so a summary needs no data on disk. */
const STANDARD_SHAPES: Partial<Record<string, { nodes: number; classes: number }>> = {
  sbu: { nodes: 2 * SBU_JOINT_NAMES.length, classes: SBU_CLASS_NAMES.length },
  fpha: { nodes: FPHA_JOINT_NAMES.length, classes: FPHA_CLASS_NAMES.length },
};

async function shapeFor(config: RunConfig): Promise<GcnShape> {
  const frames = outputFrames({ temporal: config.preprocess.temporal } as Parameters<typeof outputFrames>[0]);
  const inputDim = featureDim(config.features.channels, frames);
  const standard = STANDARD_SHAPES[config.dataset];
  if (standard && !config.path) return { ...standard, inputDim, edges: [] };
  const dataset = await loadRunDataset(config);
  return {
    nodes: dataset.graph.persons * dataset.graph.jointNames.length,
    classes: dataset.classNames.length,
    inputDim,
    edges: [],
  };
}

export function modelSummary(model: SkeletonGcn): string {
  const costs = model.costs();
  const totalParams = costs.reduce((s, c) => s + c.params, 0);
  const totalMacs = costs.reduce((s, c) => s + c.macs, 0);
  const rows = [
    ['layer', 'shape', 'parameters', 'MACs/seq', 'FLOPs/seq'],
    ...costs.map((c) => [c.name, c.shape, count(c.params), count(c.macs), count(2 * c.macs)]),
    ['total', '', count(totalParams), count(totalMacs), count(2 * totalMacs)],
  ];
  const prunable = model.prunableWeights();
  const structure = [
    ['prunable weight', 'rows', 'columns', 'blocks', 'block'],
    ...prunable.map((p) => [
      p.name,
      `${p.rows} (${p.meaning.rows})`,
      `${p.cols} (${p.meaning.cols})`,
      String(blockCount(p.blocks, p.rows, p.cols)),
      p.meaning.blocks,
    ]),
  ];
  const prunableCount = prunable.reduce((s, p) => s + p.rows * p.cols, 0);
  return [
    ...formatTable(rows, 'llrrr', true),
    '',
    `FLOPs = 2 × multiply-adds, per sequence. ${count(prunableCount)} of ${count(model.parameterCount())} parameters are prunable (every weight matrix but the classifier).`,
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
      let gcn: SkeletonGcn;
      if (typeof options.model === 'string') {
        gcn = modelFromCheckpoint(await loadCheckpoint(options.model), options.model).model;
      } else {
        const config = await configFromOptions(options);
        gcn = new SkeletonGcn(await shapeFor(config), config.model, new Rng(0));
      }
      console.log(modelSummary(gcn));
    });
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description(
      'evaluate a checkpoint on a dataset (by default the test part of the fold it was trained on)',
    )
    .requiredOption('--model <checkpoint>', 'checkpoint written by train or prune')
    .addOption(new Option('--dataset <kind>', 'dataset format').choices(DATASET_KINDS).makeOptionMandatory())
    .option('--path <dir>', 'dataset folder (not needed for synthetic)')
    .option('--protocol <name>', 'protocol (default: the one the model was trained with)')
    .option('--fold <k>', 'fold number, 1-based (default: the one the model was trained on)')
    .addOption(
      new Option('--split <part>', 'which sequences').choices(['test', 'train', 'all']).default('test'),
    )
    .action(
      async (options: {
        model: string;
        dataset: RunConfig['dataset'];
        path?: string;
        protocol?: string;
        fold?: string;
        split: string;
      }) => {
        const checkpoint = await loadCheckpoint(options.model);
        const { model, input } = modelFromCheckpoint(checkpoint, options.model);
        const dataset = await loadRunDataset({ dataset: options.dataset, path: options.path });
        checkCompatible(dataset, checkpoint.meta.classNames, input.nodes, options.model);
        const provenance = checkpoint.meta.provenance as { protocol?: string; foldIndex?: number };
        const protocol = options.protocol ?? provenance.protocol ?? Object.keys(dataset.protocols)[0];
        const foldIndex = options.fold ? Number(options.fold) - 1 : (provenance.foldIndex ?? 0);
        const fold = getFold(dataset, protocol, foldIndex);
        const ids = new Set(
          options.split === 'test'
            ? fold.test
            : options.split === 'train'
              ? fold.train
              : dataset.sequences.map((s) => s.id),
        );
        const sequences = dataset.sequences.filter((s) => ids.has(s.id));
        const batch = input.encode(sequences);
        const started = performance.now();
        const { predicted } = predictBatch(model, batch, input);
        const seconds = (performance.now() - started) / 1000;
        const metrics = classificationMetrics(predicted, batch.labels, checkpoint.meta.classNames.length);
        console.log(
          `${options.model} on ${dataset.title}, protocol ${protocol}, fold ${foldIndex + 1} (${fold.name}), ${options.split} part: ${sequences.length} sequences`,
        );
        console.log(
          `top-1 accuracy ${formatPercent(metrics.top1, 2)}, mean-class accuracy ${formatPercent(metrics.meanClass, 2)}, ${(sequences.length / seconds).toFixed(0)} sequences/s\n`,
        );
        console.log(formatConfusion(metrics.confusion, checkpoint.meta.classNames));
      },
    );
}

function checkCompatible(
  dataset: Dataset,
  classNames: readonly string[],
  nodes: number,
  source: string,
): void {
  const datasetNodes = dataset.graph.persons * dataset.graph.jointNames.length;
  if (datasetNodes !== nodes || dataset.classNames.length !== classNames.length) {
    throw new SkelpruneError(
      `${source} expects ${nodes} joints and ${classNames.length} classes; ${dataset.name} has ${datasetNodes} joints and ${dataset.classNames.length} classes`,
    );
  }
}
