/**
 * One pruning run on one fold: start from a trained checkpoint (or from scratch), train the method's
 * pruning phase, harden the masks to the exact budget, fine-tune with them, evaluate, and save a
 * pruned checkpoint (weights with pruned entries zeroed, plus `mask.<layer>` tensors). Resumable
 * after every epoch, like training.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelInput } from '@skelprune/runtime/internal';
import type { Dataset } from '../data/index.js';
import { Rng, type Tensor } from '../engine/index.js';
import { SkelpruneError } from '../errors.js';
import { compactionPlan, type PrunedCost } from '../model/compaction.js';
import type { SkeletonGcn } from '../model/gcn.js';
import { tiling } from '../model/layers.js';
import {
  type Checkpoint,
  type CheckpointMeta,
  loadCheckpoint,
  modelFromCheckpoint,
  saveCheckpoint,
} from '../train/checkpoint.js';
import { type TrainConfig, trainConfigSchema } from '../train/config.js';
import { distillationTerm, withLossTerm } from '../train/distill.js';
import { type FoldEvent, foldData, freshModel, loadRunDataset } from '../train/experiment.js';
import { type ClassificationMetrics, classificationMetrics } from '../train/metrics.js';
import { RunSession } from '../train/session.js';
import { predictBatch, type StepContext, Trainer } from '../train/trainer.js';
import { writeFileAtomic } from '../util/fs.js';
import { type BudgetKind, flopRate, makeBudget } from './budget.js';
import { type PruneConfig, pruneConfigSchema } from './config.js';
import { type HardMask, type MaskStructure, maskStructure, pruningRate } from './masks.js';
import { applyHardMasks, createPruner, keepEverything } from './methods.js';

export interface PruneJob {
  config: PruneConfig;
  /** The trained checkpoint to start from; none: joint training from scratch. */
  checkpoint?: string;
  /** 0-based fold; by default the checkpoint's own. */
  foldIndex?: number;
  dir: string;
  command: string;
  /** Run the control instead: the same phases and epochs with nothing pruned (`keepEverything`). */
  control?: boolean;
}

/** The method name of a control run's result. */
export const CONTROL_METHOD = 'dense control';

/** One pruned fold: achieved rates, test metrics, per-layer mask structure and costs, the checkpoint. */
export interface PruneResult {
  /** The pruning method. */
  method: string;
  /** The target rate. */
  rate: number;
  /** What the rate counts: weights, FLOPs, or both. */
  budget: BudgetKind;
  /** Fraction of prunable weights removed. */
  achievedRate: number;
  /** Fraction of the prunable layers' FLOPs (multiply-adds per sequence) removed. */
  achievedFlopRate: number;
  /** The fold's name in its protocol. */
  fold: string;
  /** The fold's 0-based index in its protocol. */
  foldIndex: number;
  /** Test metrics of the pruned, fine-tuned model. */
  metrics: ClassificationMetrics;
  /** Test accuracy of the starting (unpruned) model; null when pruning from scratch. */
  denseTop1: number | null;
  /**
   * Test accuracy of the control: the starting model trained for the same extra epochs with the same
   * learning rates, nothing pruned. Null when not run (from scratch, or `control: false`).
   */
  controlTop1: number | null;
  /** What each prunable weight's mask keeps, layer by layer. */
  layers: {
    /** The layer, e.g. `conv`. */
    name: string;
    /** Kept entries and empty rows, columns and blocks of its mask. */
    structure: MaskStructure;
  }[];
  /** Parameters and multiply-adds per sequence of every computation, before and after pruning. */
  costs: PrunedCost[];
  /** Path of the pruned checkpoint (`model.ckpt`, with a `mask.<layer>` tensor per prunable weight). */
  checkpoint: string;
  /** Training time of the pruning and fine-tuning phases, in seconds (resumed runs included). */
  seconds: number;
  /** Class names, by label index. */
  classNames: string[];
}

export type PruneEvent = FoldEvent;

function identity(job: PruneJob): string {
  const { jobs: _jobs, out: _out, from: _from, control: _control, ...config } = job.config;
  const run = { config, checkpoint: job.checkpoint ?? null, fold: job.foldIndex ?? null };
  return JSON.stringify(job.control ? { ...run, control: true } : run);
}

/** Settings saved by an earlier version compare with their newer defaults filled in. */
function sameSettings(savedIdentity: string, job: PruneJob): boolean {
  const saved = JSON.parse(savedIdentity) as {
    config: unknown;
    checkpoint: string | null;
    fold: number | null;
    control?: boolean;
  };
  const config = pruneConfigSchema.safeParse(saved.config);
  if (!config.success) return false;
  const { checkpoint, fold, control } = saved;
  return (
    identity({
      ...job,
      config: config.data,
      checkpoint: checkpoint ?? undefined,
      foldIndex: fold ?? undefined,
      control,
    }) === identity(job)
  );
}

interface Start {
  /** The starting checkpoint, as loaded; null from scratch. */
  checkpoint: Checkpoint | null;
  model: SkeletonGcn;
  input: ModelInput;
  meta: CheckpointMeta;
  protocol: string;
  foldIndex: number;
}

async function startingPoint(job: PruneJob, dataset: Dataset): Promise<Start> {
  const { config } = job;
  if (job.checkpoint) {
    const checkpoint = await loadCheckpoint(job.checkpoint);
    if (checkpoint.meta.pruning) {
      throw new SkelpruneError(
        `${job.checkpoint} is already pruned (${String(checkpoint.meta.pruning.method)}); start from a dense checkpoint`,
      );
    }
    const { model, input } = modelFromCheckpoint(checkpoint, job.checkpoint);
    const nodes = dataset.graph.persons * dataset.graph.jointNames.length;
    if (input.nodes !== nodes || checkpoint.meta.classNames.length !== dataset.classNames.length) {
      throw new SkelpruneError(
        `${job.checkpoint} was trained for ${input.nodes} joints and ${checkpoint.meta.classNames.length} classes; ${dataset.name} has ${nodes} joints and ${dataset.classNames.length} classes`,
      );
    }
    const provenance = checkpoint.meta.provenance as { protocol?: string; foldIndex?: number };
    return {
      checkpoint,
      model,
      input,
      meta: checkpoint.meta,
      protocol: config.protocol ?? provenance.protocol ?? Object.keys(dataset.protocols)[0],
      foldIndex: job.foldIndex ?? provenance.foldIndex ?? 0,
    };
  }
  const protocol = config.protocol ?? Object.keys(dataset.protocols)[0];
  const foldIndex = job.foldIndex ?? (config.fold === 'all' ? 0 : config.fold - 1);
  const { model, input, meta } = freshModel(dataset, foldData(dataset, protocol, foldIndex, config), config);
  return { checkpoint: null, model, input, meta, protocol, foldIndex };
}

/** Every training setting a phase shares with the pruning run (all but its own epochs and patience). */
const SHARED_TRAIN_KEYS = Object.keys(trainConfigSchema.shape).filter(
  (key) => key !== 'epochs' && key !== 'patience',
) as (keyof PruneConfig & keyof TrainConfig)[];

function phaseConfig(config: PruneConfig, epochs: number, lr: number, warmupEpochs: number): TrainConfig {
  const shared = Object.fromEntries(SHARED_TRAIN_KEYS.map((key) => [key, config[key]]));
  return { ...(shared as Omit<TrainConfig, 'epochs' | 'patience'>), epochs, lr, warmupEpochs, patience: 0 };
}

/** The distillation term from a frozen copy of the starting model, when asked for and there is one. */
function distillation(config: PruneConfig, start: Start): ((step: StepContext) => Tensor) | null {
  const { distill: weight, distillTemperature: temperature } = config;
  if (weight === 0 || start.checkpoint === null) return null;
  const teacher = modelFromCheckpoint(start.checkpoint).model;
  return distillationTerm(teacher, { weight, temperature });
}

/** The result a finished run of `job` saved in its folder; null when there is none with its settings. */
export async function savedPruneResult(job: PruneJob): Promise<PruneResult | null> {
  const resultPath = join(job.dir, 'result.json');
  if (!existsSync(resultPath)) return null;
  const saved = JSON.parse(await readFile(resultPath, 'utf8')) as PruneResult & { identity: string };
  // The checkpoint is where this run's folder is now, wherever it was when the run wrote it.
  return sameSettings(saved.identity, job) ? { ...saved, checkpoint: join(job.dir, 'model.ckpt') } : null;
}

export async function pruneFold(
  job: PruneJob,
  onEvent: (event: PruneEvent) => void = () => {},
): Promise<PruneResult> {
  const { config, dir } = job;
  const resultPath = join(dir, 'result.json');
  const saved = await savedPruneResult(job);
  if (saved) return saved;
  const dataset = await loadRunDataset(config);
  const start = await startingPoint(job, dataset);
  const { model, input } = start;
  const { fold, train, validation, test } = foldData(dataset, start.protocol, start.foldIndex, config);
  const data = { input, train, validation, classes: dataset.classNames.length };
  const testBatch = input.encode(test);
  const fromScratch = job.checkpoint === undefined;
  const denseTop1 = fromScratch
    ? null
    : classificationMetrics(predictBatch(model, testBatch, input).predicted, testBatch.labels, data.classes)
        .top1;

  const weights = model.prunableWeights();
  const budget = makeBudget(weights, config.rate, config.budget);
  const pruner = job.control
    ? keepEverything(weights)
    : createPruner(
        config.method,
        {
          weights,
          budget,
          epochs: config.pruneEpochs,
          rng: new Rng(config.seed).fork('prune'),
          training: () => model.training,
        },
        {
          ctf: config.ctf,
          magnitude: config.magnitude,
          l1Lambda: config.l1Lambda,
          l0Lambda: config.l0Lambda,
        },
      );
  const distill = distillation(config, start);
  const pruneEpochs = pruner.trainsPhase ? config.pruneEpochs : 0;
  const finetuneEpochs = pruner.trainsPhase
    ? config.finetuneEpochs
    : config.pruneEpochs + config.finetuneEpochs;
  const meta: CheckpointMeta = {
    ...start.meta,
    provenance: {
      ...start.meta.provenance,
      prunedFrom: job.checkpoint ?? 'scratch',
      command: job.command,
      identity: identity(job),
    },
  };
  const session = new RunSession(dir, meta, model, (saved) => sameSettings(saved, job));
  const point = await session.resume();
  onEvent({
    type: 'start',
    fold: fold.name,
    epochs: pruneEpochs + finetuneEpochs,
    resumedAt: session.history.length,
  });
  let seconds = session.history.reduce((s, r) => s + r.seconds, 0);

  let masks: HardMask[];
  if (point?.phase === 'finetune') {
    masks = weights.map((_, i) => Uint8Array.from(point.extra.tensors[`mask.${i}`]));
  } else {
    if (pruneEpochs > 0) {
      const trainer = new Trainer(
        model,
        data,
        phaseConfig(config, pruneEpochs, config.lr, fromScratch ? config.warmupEpochs : 0),
        config.seed,
        distill ? withLossTerm(pruner.hooks, distill) : pruner.hooks,
      );
      if (point?.phase === 'prune') {
        pruner.load(point.extra);
        trainer.loadState(point.trainer, point.trainerTensors);
      } else {
        pruner.start();
      }
      seconds += await session.run('prune', trainer, () => pruner.save(), onEvent);
    }
    masks = pruner.harden();
  }
  applyHardMasks(weights, masks);
  const finetuner = new Trainer(
    model,
    data,
    phaseConfig(config, finetuneEpochs, config.finetuneLr, 0),
    config.seed + 1,
    distill ? withLossTerm({}, distill) : {},
  );
  if (point?.phase === 'finetune') finetuner.loadState(point.trainer, point.trainerTensors);
  const maskState = () => ({
    json: {},
    tensors: Object.fromEntries(masks.map((m, i) => [`mask.${i}`, Float32Array.from(m)])),
  });
  seconds += await session.run('finetune', finetuner, maskState, onEvent);
  finetuner.restoreBest();

  const metrics = finetuner.evaluateBatch(testBatch).metrics;
  const achievedRate = pruningRate(masks);
  const result: PruneResult = {
    method: job.control ? CONTROL_METHOD : config.method,
    rate: config.rate,
    budget: config.budget,
    achievedRate,
    achievedFlopRate: flopRate(weights, masks),
    fold: fold.name,
    foldIndex: start.foldIndex,
    metrics,
    denseTop1,
    controlTop1: null,
    layers: weights.map((w, i) => ({
      name: w.name,
      structure: maskStructure(masks[i], w.rows, w.cols, tiling(w.blocks, w.rows, w.cols)),
    })),
    costs: compactionPlan(model, Object.fromEntries(weights.map((w, i) => [w.name, masks[i]]))).costs,
    checkpoint: join(dir, 'model.ckpt'),
    seconds,
    classNames: [...dataset.classNames],
  };
  const pruning = {
    method: result.method,
    rate: config.rate,
    budget: config.budget,
    achievedRate,
    masks: weights.map((w) => `mask.${w.name}`),
  };
  const maskTensors = Object.fromEntries(
    weights.map((w, i) => [`mask.${w.name}`, { shape: [w.rows, w.cols], data: masks[i] }]),
  );
  const results = {
    test: { top1: metrics.top1, meanClass: metrics.meanClass, count: metrics.count },
    denseTop1,
  };
  await saveCheckpoint(result.checkpoint, { ...meta, pruning, results }, model, maskTensors);
  await writeFileAtomic(resultPath, `${JSON.stringify({ ...result, identity: identity(job) }, null, 2)}\n`);
  await session.finish();
  return result;
}
