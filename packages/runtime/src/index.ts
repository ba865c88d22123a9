/**
 * @skelprune/runtime: load a pruned skeleton-recognition GCN exported by skelprune (`.skp`) and
 * classify skeleton sequences with it, in Node ≥ 20, browsers and Web Workers. Zero dependencies;
 * wasm SIMD kernels where the platform has them, a plain TypeScript path elsewhere.
 *
 * ```ts
 * import { SkeletonClassifier } from '@skelprune/runtime';
 * const model = await SkeletonClassifier.load('gestures.skp');
 * const { className, probability } = model.predict(frames); // frames × joints × [x, y, z]
 * ```
 *
 * @packageDocumentation
 */
export {
  type ClassScore,
  type LayerInfo,
  type LoadOptions,
  type ModelInfo,
  type PredictBatchOptions,
  type Prediction,
  type PredictOptions,
  SkeletonClassifier,
  softmax,
} from './classifier.js';
export { SkelpruneError } from './errors.js';
export type { FeatureChannel, FeatureConfig, TemporalWindows } from './input/features.js';
export { FEATURE_CHANNELS } from './input/features.js';
export {
  FPHA_FROM_MEDIAPIPE,
  FPHA_HAND_JOINTS,
  type HandFrameOptions,
  type HandLandmark,
  handJointMapping,
  handLandmarkFinger,
  MEDIAPIPE_FROM_FPHA,
  MEDIAPIPE_HAND_BONES,
  MEDIAPIPE_HAND_LANDMARKS,
  mediapipeHandFrame,
} from './input/mediapipe.js';
export type {
  Augmentation,
  CenterMode,
  FittedPreprocessing,
  ScaleNormalization,
  TemporalSampling,
  ViewNormalization,
} from './input/preprocess.js';
export type { NestedFrame, PackedSequence, SequenceInput } from './input/sequence-input.js';
export type { SkeletonSequence } from './input/types.js';
export type { WasmMemory } from './kernels/heap.js';
export { type KernelOptions, relaxedSimdSupported, wasmSimdSupported } from './kernels/index.js';
export { createKernels, type KernelBackend, type Kernels } from './kernels/public.js';
export type { LayerName } from './model/engine.js';
export type { StorageFormat } from './model/storage.js';
export type { ModelSource } from './source.js';
export { StreamingClassifier, type StreamOptions } from './stream.js';
