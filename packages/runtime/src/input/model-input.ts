/**
 * The model's input pipeline, shared by training and inference: a sequence is preprocessed (the
 * fitted, recorded preprocessing) and turned into node features. `ModelInput` holds everything this
 * needs, as plain JSON, so a checkpoint or an exported model reproduces it exactly. The toolkit's
 * training passes its own preprocessing (with augmentation) to `encode`.
 */
import { SkelpruneError } from '../errors.js';
import * as check from '../format/check.js';
import {
  type FeatureConfig,
  featureDim,
  jointParents,
  readFeatureConfig,
  windowCount,
  writeNodeFeatures,
} from './features.js';
import {
  type FittedPreprocessing,
  normalizeSequence,
  outputFrames,
  parseFittedPreprocessing,
} from './preprocess.js';
import type { SkeletonSequence } from './types.js';

export interface ModelInputSpec {
  preprocessing: FittedPreprocessing;
  features: FeatureConfig;
  /** The skeleton of one person. */
  jointNames: readonly string[];
  bones: readonly (readonly [number, number])[];
  centerJoint: number;
}

/** A batch of encoded sequences: x [count, nodes, dim] row-major, labels [count]. */
export interface EncodedBatch {
  x: Float32Array;
  labels: Int32Array;
  count: number;
}

export class ModelInput {
  readonly spec: ModelInputSpec;
  readonly nodes: number;
  readonly dim: number;
  private readonly parents: Int32Array;

  constructor(spec: ModelInputSpec) {
    this.spec = {
      ...spec,
      preprocessing: parseFittedPreprocessing(spec.preprocessing),
      features: readFeatureConfig(spec.features),
    };
    const { persons, joints } = this.spec.preprocessing;
    const names = check.array('jointNames', spec.jointNames, joints);
    names.forEach((name, i) => {
      check.string(`jointNames.${i}`, name);
    });
    if (spec.jointNames.length !== joints) {
      check.invalid('jointNames', `${joints} names, one per joint`, `${spec.jointNames.length}`);
    }
    check.pairs('bones', spec.bones, joints - 1);
    check.integer('centerJoint', spec.centerJoint, 0, joints - 1);
    this.nodes = persons * joints;
    const frames = outputFrames(this.spec.preprocessing);
    const { windows } = this.spec.features;
    if (windows && windowCount(windows, frames) === 0) {
      check.invalid('features.windows.size', `at most the ${frames} frames of preprocessing`, windows.size);
    }
    this.dim = featureDim(this.spec.features, frames);
    this.parents = jointParents(joints, spec.bones, spec.centerJoint);
  }

  /** Bones of every person as edges between node indices (person p's joints are p·joints + j). */
  edges(): [number, number][] {
    const { persons, joints } = this.spec.preprocessing;
    return Array.from({ length: persons }, (_, p) =>
      this.spec.bones.map(([a, b]): [number, number] => [p * joints + a, p * joints + b]),
    ).flat();
  }

  /**
   * Encodes sequences with the recorded preprocessing, or with `preprocess` (which must return
   * [frames, persons, joints, 3] as the recorded one does, e.g. with training-time augmentation).
   */
  encode(
    sequences: readonly SkeletonSequence[],
    preprocess: (sequence: SkeletonSequence) => Float32Array = (s) =>
      normalizeSequence(s, this.spec.preprocessing),
  ): EncodedBatch {
    const { persons, joints } = this.spec.preprocessing;
    const frames = outputFrames(this.spec.preprocessing);
    const x = new Float32Array(sequences.length * this.nodes * this.dim);
    const labels = new Int32Array(sequences.length);
    sequences.forEach((sequence, i) => {
      if (sequence.persons !== persons || sequence.joints !== joints) {
        throw new SkelpruneError(
          `sequence ${sequence.id} (${sequence.source}) has ${sequence.persons} person(s) × ${sequence.joints} joints; the model expects ${persons} × ${joints}`,
        );
      }
      const sample = preprocess(sequence);
      writeNodeFeatures(
        sample,
        { frames, persons, joints },
        this.spec.features,
        this.parents,
        x,
        i * this.nodes * this.dim,
      );
      labels[i] = sequence.label;
    });
    return { x, labels, count: sequences.length };
  }
}
