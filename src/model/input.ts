/**
 * The model's input pipeline, shared by training and inference: a sequence is preprocessed (the
 * fitted, recorded preprocessing) and turned into node features. `ModelInput` holds everything this
 * needs, as plain JSON, so a checkpoint or an exported model reproduces it exactly.
 */
import {
  type FittedPreprocessing,
  outputFrames,
  parseFittedPreprocessing,
  preprocessSequence,
} from '../data/preprocess.js';
import type { SkeletonGraph, SkeletonSequence } from '../data/types.js';
import type { Rng } from '../engine/random.js';
import { SkelpruneError } from '../errors.js';
import {
  type FeatureConfig,
  featureConfigSchema,
  featureDim,
  jointParents,
  writeNodeFeatures,
} from './features.js';

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
      features: featureConfigSchema.parse(spec.features),
    };
    const { persons, joints } = this.spec.preprocessing;
    this.nodes = persons * joints;
    this.dim = featureDim(this.spec.features.channels, outputFrames(this.spec.preprocessing));
    this.parents = jointParents(joints, spec.bones, spec.centerJoint);
  }

  static fromGraph(
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

  /** Bones of every person as edges between node indices (person p's joints are p·joints + j). */
  edges(): [number, number][] {
    const { persons, joints } = this.spec.preprocessing;
    return Array.from({ length: persons }, (_, p) =>
      this.spec.bones.map(([a, b]): [number, number] => [p * joints + a, p * joints + b]),
    ).flat();
  }

  /** Encodes sequences; with an rng, training-time augmentation is applied. */
  encode(sequences: readonly SkeletonSequence[], rng?: Rng): EncodedBatch {
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
      const sample = preprocessSequence(sequence, this.spec.preprocessing, rng);
      writeNodeFeatures(
        sample,
        { frames, persons, joints },
        this.spec.features.channels,
        this.parents,
        x,
        i * this.nodes * this.dim,
      );
      labels[i] = sequence.label;
    });
    return { x, labels, count: sequences.length };
  }
}
