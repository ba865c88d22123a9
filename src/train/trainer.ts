/**
 * The training loop: mini-batch AdamW/Adam with warmup + cosine learning rate, label smoothing,
 * gradient clipping, model selection (and optional early stopping) on the validation split.
 *
 * Reproducible and exactly resumable: every random stream of epoch e (batch order, augmentation,
 * dropout) is forked from the seed by name, so resuming after epoch e from a saved state replays
 * exactly what an uninterrupted run does.
 */

import type { EncodedBatch, ModelInput } from '@skelprune/runtime/internal';
import type { SkeletonSequence } from '../data/types.js';
import {
  Adam,
  AdamW,
  argmaxRows,
  clipGradNorm,
  cosineLr,
  crossEntropy,
  IntTensor,
  LrScheduler,
  type Module,
  noGrad,
  type Optimizer,
  type OptimizerState,
  type Parameter,
  Rng,
  type Tensor,
  tensor,
  tidy,
  warmupLr,
} from '../engine/index.js';
import { SkelpruneError } from '../errors.js';
import { encodeAugmented } from '../model/input.js';
import type { TrainConfig } from './config.js';
import { type ClassificationMetrics, classificationMetrics } from './metrics.js';

/** Any module mapping node features [B, N, D] to logits [B, classes]. */
export interface Classifier extends Module {
  forward(x: Tensor, rng?: Rng): Tensor;
  /** The file the model was read from, if it was (`SkeletonGcn.source`). */
  readonly source?: string;
}

export interface TrainingData {
  input: ModelInput;
  train: readonly SkeletonSequence[];
  validation: readonly SkeletonSequence[];
  classes: number;
}

export interface EpochRecord {
  epoch: number;
  /** Mean training loss (cross-entropy plus any extra term). */
  loss: number;
  lr: number;
  trainAccuracy: number;
  validation: { top1: number; meanClass: number; loss: number } | null;
  seconds: number;
  /** Figures added by hooks (e.g. the soft pruning rate). */
  extra: Record<string, number>;
}

export interface TrainerHooks {
  /** Trainable tensors besides the model's parameters (e.g. pruning gates). */
  parameters?(): Parameter[];
  /** Before each epoch (1-based), e.g. to anneal a mask temperature. */
  beforeEpoch?(epoch: number): void;
  /** A term added to the loss at every step, e.g. a pruning budget or a teacher's targets. */
  extraLoss?(step: StepContext): Tensor | null;
  /** Figures logged with each epoch. */
  epochFigures?(): Record<string, number>;
  /** Whether this epoch's model may be selected as the best (default: always). */
  selectable?(epoch: number): boolean;
}

/** What a training step's extra loss may look at: the batch input and the model's logits for it. */
export interface StepContext {
  x: Tensor;
  logits: Tensor;
}

export interface StepProgress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
}

/** Everything besides tensors that resuming needs. */
export interface TrainerState {
  epoch: number;
  bestEpoch: number;
  bestScore: number;
  history: EpochRecord[];
  optimizer: Omit<OptimizerState, 'buffers'>;
}

const EVAL_CHUNK = 256;

export class Trainer {
  readonly model: Classifier;
  readonly data: TrainingData;
  readonly config: TrainConfig;
  readonly seed: number;
  readonly hooks: TrainerHooks;
  readonly optimizer: Optimizer;
  /** The model's parameters and any the hooks add. */
  private readonly trainable: Parameter[];
  private readonly scheduler: LrScheduler;
  private readonly rng: Rng;
  private fixedTrain: EncodedBatch | null = null;
  private readonly validationBatch: EncodedBatch | null;
  state: TrainerState;
  /** Parameter values of the best epoch so far. */
  best: Float32Array[] | null = null;

  constructor(
    model: Classifier,
    data: TrainingData,
    config: TrainConfig,
    seed: number,
    hooks: TrainerHooks = {},
  ) {
    this.model = model;
    this.data = data;
    this.config = config;
    this.seed = seed;
    this.hooks = hooks;
    this.rng = new Rng(seed);
    const options = { lr: config.lr, weightDecay: config.weightDecay };
    this.trainable = [...model.parameters(), ...(hooks.parameters?.() ?? [])];
    this.optimizer =
      config.optimizer === 'adamw' ? new AdamW(this.trainable, options) : new Adam(this.trainable, options);
    const cosine = cosineLr(Math.max(1, config.epochs - config.warmupEpochs), config.minLrFactor);
    this.scheduler = new LrScheduler(this.optimizer, warmupLr(config.warmupEpochs, cosine, 0.1));
    this.validationBatch = data.validation.length > 0 ? data.input.encode(data.validation) : null;
    this.state = {
      epoch: 0,
      bestEpoch: 0,
      bestScore: Number.NEGATIVE_INFINITY,
      history: [],
      optimizer: { steps: [], lrs: [] },
    };
  }

  get finished(): boolean {
    const { patience } = this.config;
    const stale =
      patience > 0 && this.state.bestEpoch > 0 && this.state.epoch - this.state.bestEpoch >= patience;
    return this.state.epoch >= this.config.epochs || stale;
  }

  private trainBatch(epoch: number): EncodedBatch {
    const augmenting = hasAugmentation(this.data.input);
    if (augmenting)
      return encodeAugmented(this.data.input, this.data.train, this.rng.fork(`augment-${epoch}`));
    this.fixedTrain ??= this.data.input.encode(this.data.train);
    return this.fixedTrain;
  }

  /** Runs one epoch (the next one) and returns its record. */
  runEpoch(onStep?: (p: StepProgress) => void): EpochRecord {
    const epoch = this.state.epoch + 1;
    const started = performance.now();
    this.scheduler.seek(epoch - 1);
    this.hooks.beforeEpoch?.(epoch);
    this.model.train();
    const batch = this.trainBatch(epoch);
    const order = this.rng.fork(`order-${epoch}`).permutation(batch.count);
    const dropoutRng = this.rng.fork(`dropout-${epoch}`);
    const { batchSize } = this.config;
    const steps = Math.ceil(batch.count / batchSize);
    let lossSum = 0;
    let correct = 0;
    for (let step = 0; step < steps; step++) {
      const indices = order.slice(step * batchSize, (step + 1) * batchSize);
      const { loss, hits } = tidy(() => {
        this.optimizer.zeroGrad();
        const { x, labels } = gatherBatch(batch, indices, this.data.input);
        const logits = this.model.forward(x, dropoutRng);
        let total = crossEntropy(logits, labels, { labelSmoothing: this.config.labelSmoothing });
        const extra = this.hooks.extraLoss?.({ x, logits });
        if (extra) total = total.add(extra);
        total.backward();
        if (this.config.clipNorm > 0) clipGradNorm(this.trainable, this.config.clipNorm);
        this.optimizer.step();
        const predicted = argmaxRows(logits);
        return {
          loss: total.item(),
          hits: predicted.reduce((n, p, i) => n + (p === labels.data[i] ? 1 : 0), 0),
        };
      });
      lossSum += loss * indices.length;
      correct += hits;
      onStep?.({ epoch, epochs: this.config.epochs, step: step + 1, steps, loss });
    }
    const validation = this.validationBatch ? this.evaluateBatch(this.validationBatch) : null;
    const record: EpochRecord = {
      epoch,
      loss: lossSum / batch.count,
      lr: this.optimizer.lr,
      trainAccuracy: correct / batch.count,
      validation: validation && {
        top1: validation.metrics.top1,
        meanClass: validation.metrics.meanClass,
        loss: validation.loss,
      },
      seconds: (performance.now() - started) / 1000,
      extra: this.hooks.epochFigures?.() ?? {},
    };
    this.recordEpoch(record);
    return record;
  }

  private recordEpoch(record: EpochRecord): void {
    this.state.epoch = record.epoch;
    this.state.history.push(record);
    if (this.hooks.selectable && !this.hooks.selectable(record.epoch)) return;
    // Validation accuracy, ties broken by validation loss; without validation, the latest epoch.
    const score = record.validation ? record.validation.top1 - 1e-6 * record.validation.loss : record.epoch;
    if (score >= this.state.bestScore) {
      this.state.bestScore = score;
      this.state.bestEpoch = record.epoch;
      this.best = this.model.parameters().map((p) => p.toArray());
    }
  }

  /** Puts the best epoch's weights into the model. */
  restoreBest(): void {
    if (!this.best) return;
    this.model.parameters().forEach((p, i) => {
      p.data.set(this.best![i]);
    });
  }

  /** Loss and metrics of the model on an encoded batch, in evaluation mode. */
  evaluateBatch(batch: EncodedBatch): { metrics: ClassificationMetrics; loss: number } {
    const { predicted, loss } = predictBatch(this.model, batch, this.data.input);
    return { metrics: classificationMetrics(predicted, batch.labels, this.data.classes), loss };
  }

  /** Tensors (optimizer buffers, best weights) and JSON state for an exact resume. */
  saveState(): { state: TrainerState; tensors: Record<string, Float32Array> } {
    const optimizer = this.optimizer.stateDict();
    const tensors: Record<string, Float32Array> = {};
    for (const [key, values] of Object.entries(optimizer.buffers)) tensors[`optimizer.${key}`] = values;
    this.best?.forEach((values, i) => {
      tensors[`best.${i}`] = values;
    });
    return { state: { ...this.state, optimizer: { steps: optimizer.steps, lrs: optimizer.lrs } }, tensors };
  }

  loadState(state: TrainerState, tensors: Record<string, Float32Array>): void {
    const buffers: Record<string, Float32Array> = {};
    for (const [key, values] of Object.entries(tensors)) {
      if (key.startsWith('optimizer.')) buffers[key.slice('optimizer.'.length)] = values;
    }
    this.optimizer.loadStateDict({ buffers, ...state.optimizer });
    const params = this.model.parameters();
    this.best = tensors['best.0'] ? params.map((_, i) => tensors[`best.${i}`]) : null;
    this.state = { ...state, history: [...state.history] };
  }
}

/** Whether any augmentation is on: every numeric setting of the record is off at 0. */
function hasAugmentation(input: ModelInput): boolean {
  const settings = Object.values(input.spec.preprocessing.augment);
  return settings.some((value) => typeof value === 'number' && value > 0);
}

/** Copies the chosen samples of an encoded set into a batch tensor. */
function gatherBatch(
  batch: EncodedBatch,
  indices: readonly number[],
  input: ModelInput,
): { x: Tensor; labels: IntTensor } {
  const width = input.nodes * input.dim;
  const x = new Float32Array(indices.length * width);
  indices.forEach((sample, row) => {
    x.set(batch.x.subarray(sample * width, (sample + 1) * width), row * width);
  });
  return {
    x: tensor(x, [indices.length, input.nodes, input.dim]),
    labels: new IntTensor(indices.map((i) => batch.labels[i])),
  };
}

/**
 * Scores of a model read from a file must be finite: weights that are finite but huge (a file without
 * a checksum holding ±3.4e38) overflow float32 and would come out as NaN predictions. A model trained
 * here is left to its trainer.
 */
function checkFinite(logits: Tensor, source: string, start: number): void {
  const values = logits.toArray();
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad < 0) return;
  const sequence = start + Math.floor(bad / logits.shape[1]);
  throw new SkelpruneError(
    `${source}: the model produced non-finite scores for sequence ${sequence} (weights too large for float32?)`,
  );
}

/**
 * Predicted classes and mean cross-entropy of a model over an encoded set, in chunks. Non-finite
 * scores of a model read from a file throw a `SkelpruneError` naming the file.
 */
export function predictBatch(
  model: Classifier,
  batch: EncodedBatch,
  input: ModelInput,
): { predicted: Int32Array; probabilities: Float32Array[]; loss: number } {
  const wasTraining = model.training;
  model.eval();
  const predicted = new Int32Array(batch.count);
  const probabilities: Float32Array[] = [];
  let lossSum = 0;
  noGrad(() => {
    for (let start = 0; start < batch.count; start += EVAL_CHUNK) {
      const indices = Array.from({ length: Math.min(EVAL_CHUNK, batch.count - start) }, (_, i) => start + i);
      tidy(() => {
        const { x, labels } = gatherBatch(batch, indices, input);
        const logits = model.forward(x);
        if (model.source !== undefined) checkFinite(logits, model.source, start);
        lossSum += crossEntropy(logits, labels).item() * indices.length;
        predicted.set(argmaxRows(logits), start);
        const probs = logits.softmax(-1).toArray();
        const classes = logits.shape[1];
        for (let i = 0; i < indices.length; i++)
          probabilities.push(probs.slice(i * classes, (i + 1) * classes));
      });
    }
  });
  model.train(wasTraining);
  return { predicted, probabilities, loss: batch.count > 0 ? lossSum / batch.count : 0 };
}
