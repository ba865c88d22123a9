/** The dataset layer: readers, the synthetic generator, protocols and splits, preprocessing. */
export { FPHA_CLASS_NAMES, FPHA_JOINT_NAMES, loadFpha } from './fpha.js';
export { loadGeneric, writeGenericDataset } from './generic.js';
export { DATASET_KINDS, type DatasetKind, type LoadOptions, loadDataset } from './load.js';
export {
  type FittedPreprocessing,
  fitPreprocessing,
  fittedPreprocessingSchema,
  outputFrames,
  type PreprocessConfig,
  parseFittedPreprocessing,
  parsePreprocessConfig,
  preprocessConfigSchema,
  preprocessSequence,
  type ResolvedPreprocessConfig,
} from './preprocess.js';
export { loadSbu, SBU_CLASS_NAMES, SBU_FOLDS, SBU_JOINT_NAMES, type SbuOptions } from './sbu.js';
export {
  getFold,
  leaveOneSubjectOut,
  type ValidationSplit,
  type ValidationSplitOptions,
  validationSplit,
} from './splits.js';
export { type DatasetSummary, type FrameStatistics, summarizeDataset } from './summary.js';
export { generateSynthetic, type SyntheticOptions, syntheticOptionsSchema } from './synthetic.js';
export type { CenterMode, DataIssue, Dataset, Fold, SkeletonGraph, SkeletonSequence } from './types.js';
