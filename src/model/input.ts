/**
 * The toolkit's side of the model's input pipeline (the pipeline itself, `ModelInput`, lives in the
 * runtime package so that training and inference encode sequences identically): building it from a
 * dataset's skeleton, and encoding training batches with augmentation.
 */
import {
  type EncodedBatch,
  type FeatureConfig,
  type FittedPreprocessing,
  ModelInput,
} from '@skelprune/runtime/internal';
import { preprocessSequence } from '../data/preprocess.js';
import type { SkeletonGraph, SkeletonSequence } from '../data/types.js';
import type { Rng } from '../engine/random.js';

export function modelInputFromGraph(
  graph: SkeletonGraph,
  preprocessing: FittedPreprocessing,
  features: FeatureConfig,
): ModelInput {
  return new ModelInput({
    preprocessing,
    features,
    jointNames: graph.jointNames,
    bones: graph.bones,
    centerJoint: graph.centerJoint,
  });
}

/** Encodes training sequences with the configured augmentation, drawn from `rng`. */
export function encodeAugmented(
  input: ModelInput,
  sequences: readonly SkeletonSequence[],
  rng: Rng,
): EncodedBatch {
  return input.encode(sequences, (sequence) => preprocessSequence(sequence, input.spec.preprocessing, rng));
}
