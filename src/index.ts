/**
 * skelprune as a library: every stage of the pipeline the CLI runs (datasets, models, training and
 * evaluation, pruning, export, the whole reproduction), with the CLI's defaults, plus the runtime's
 * deployment API and the tensor engine. Results are plain objects (JSON-serialisable unless a field
 * says it holds bytes); errors a caller can act on are `SkelpruneError`s with the CLI's messages.
 *
 * ```ts
 * import { exportModel, prune, SkeletonClassifier, train } from 'skelprune';
 * const dense = await train({ dataset: 'synthetic', fold: 1, out: 'runs/dense' });
 * const pruned = await prune({ dataset: 'synthetic', method: 'ctf', rate: 0.9, from: dense.out, out: 'runs/ctf' });
 * await exportModel({ model: pruned.folds[0].checkpoint, out: 'ctf.skp' });
 * const classifier = await SkeletonClassifier.load('ctf.skp');
 * ```
 *
 * @packageDocumentation
 */

export {
  type ClassScore,
  type LayerInfo,
  type LayerName,
  type LoadOptions as ClassifierLoadOptions,
  type ModelInfo,
  type ModelSource,
  type NestedFrame,
  type PackedSequence,
  type Prediction,
  type PredictOptions,
  type SequenceInput,
  SkeletonClassifier,
  type SkeletonSequence,
  type StorageFormat,
  StreamingClassifier,
  type StreamOptions,
} from '@skelprune/runtime';
// Deployment: the runtime's classifiers, so a script needs one import.
export type { ModelInput } from '@skelprune/runtime/internal';
// Datasets.
export { type DatasetInspection, inspectDataset } from './api/dataset.js';
// Deployment from a script: classify files of sequences, time models.
export {
  type BenchmarkOptions,
  type BenchmarkResult,
  type BenchmarkRow,
  benchmark,
  type ClassifyOptions,
  type ClassifyResult,
  classifySequences,
  type PartScore,
  type SequencePrediction,
} from './api/deploy.js';
// Export.
export {
  type ExportBytesOptions,
  type ExportedLayer,
  type ExportedModel,
  type ExportFileOptions,
  type ExportOptions,
  type ExportReport,
  exportModel,
  exportModelBytes,
} from './api/export.js';
// Models.
export {
  type CheckpointModel,
  type CreateModelOptions,
  createModel,
  type LayerSummary,
  loadModel,
  type ModelSummary,
  modelSummary,
  type PrunableWeightSummary,
  saveModel,
} from './api/model.js';
// Progress and cancellation of long work.
export type {
  EpochEvent,
  FoldDoneEvent,
  FoldProgressEvent,
  FoldStartEvent,
  LongRunOptions,
  Phase,
  StepEvent,
} from './api/progress.js';
// Pruning.
export {
  type PruneOptions,
  type PruneProgressEvent,
  type PruneRunResult,
  type PruneSettings,
  type PruneStartEvent,
  prune,
} from './api/prune.js';
// The whole experiment.
export {
  type CombineOptions,
  type CombineReport,
  combine,
  type ReproduceOptions,
  type ReproduceReport,
  reproduce,
} from './api/reproduce.js';
// Training and evaluation.
export {
  EVALUATION_SPLITS,
  type EvaluateOptions,
  type EvaluationResult,
  evaluate,
  type TrainOptions,
  type TrainProgressEvent,
  type TrainResult,
  type TrainSettings,
  type TrainStartEvent,
  train,
} from './api/train.js';
export { writeGenericDataset } from './data/generic.js';
export {
  DATASET_KINDS,
  type DatasetKind,
  type LoadOptions as DatasetLoadOptions,
  loadDataset,
} from './data/load.js';
export type { SbuOptions } from './data/sbu.js';
export type { FoldSummary, FrameStatistics, PartSummary } from './data/summary.js';
export { generateSynthetic, type SyntheticOptions } from './data/synthetic.js';
export type { CenterMode, DataIssue, Dataset, Fold, SkeletonGraph } from './data/types.js';
// The tensor engine (PyTorch-like: Tensor, Module, Parameter, optimizers, schedules).
export * from './engine/index.js';
// Errors.
export { CancelledError, ConfigError, DataFormatError, SkelpruneError } from './errors.js';
export type { PrunedCost } from './model/compaction.js';
export { type GcnConfig, type GcnShape, type LayerCost, SkeletonGcn } from './model/gcn.js';
export {
  type BlockLayout,
  Linear,
  type LinearOptions,
  type PrunableWeight,
  type WeightTransform,
} from './model/layers.js';
export { BUDGET_KINDS, type BudgetKind } from './prune/budget.js';
export type { PruneConfig } from './prune/config.js';
export type { MaskStructure } from './prune/masks.js';
export { METHODS, type MethodName } from './prune/methods.js';
export type { PruneResult as PrunedFold } from './prune/run.js';
// Sweeps across machines (reproduce's queue): the workers, and what the queue holds.
export {
  type CleanOptions,
  type CleanReport,
  cleanQueue,
  type QueueCommandOptions,
  type QueueStatus,
  queueStatus,
  retryFailed,
  type SweepStatus,
} from './queue/admin.js';
export { runWorker, type WorkerOptions } from './queue/worker.js';
export type { CodeState, DatasetFingerprint, PhaseTime } from './report/provenance.js';
export type { CellCounts, ReproduceProgress } from './report/reproduce.js';
export type {
  FoldFigures,
  Provenance,
  ReproduceResults,
  RunFigures,
  SpeedFigures,
} from './report/results.js';
export type { CheckpointMeta } from './train/checkpoint.js';
export type { FoldResult as TrainedFold } from './train/experiment.js';
export type { ClassificationMetrics } from './train/metrics.js';
export type { RunConfig, RunConfigInput } from './train/run-config.js';
