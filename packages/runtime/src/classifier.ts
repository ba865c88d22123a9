/**
 * The deployment API: a `.skp` model loaded from bytes, a URL or a path, classifying skeleton
 * sequences (one, a batch, or live frames through a `StreamingClassifier`). Each sequence goes
 * through the model's own input pipeline (the recorded preprocessing and node features, exactly as
 * in training) and the inference engine on the wasm SIMD kernels (or their TS fallback).
 */
import { SkelpruneError } from './errors.js';
import { decodeModelFile, type ModelFile } from './format/model-file.js';
import { ModelInput } from './input/model-input.js';
import { outputFrames, type TemporalSampling } from './input/preprocess.js';
import { type SequenceInput, toSequence } from './input/sequence-input.js';
import type { KernelOptions } from './kernels/index.js';
import { prepareKernels, prepareKernelsSync } from './kernels/prepare.js';
import type { Kernels } from './kernels/types.js';
import { InferenceEngine, LAYER_NAMES, type LayerName } from './model/engine.js';
import { countNonzeros, type StorageFormat, storedBytes } from './model/storage.js';
import { type ModelSource, readSource } from './source.js';
import { StreamingClassifier, type StreamOptions } from './stream.js';

export interface ClassScore {
  index: number;
  name: string;
  probability: number;
}

export interface Prediction {
  /** The most probable class. */
  classIndex: number;
  className: string;
  probability: number;
  /** One probability per class, in the order of `info.classNames`. */
  probabilities: Float32Array;
  /** The `topK` most probable classes, most probable first. */
  top: ClassScore[];
}

export interface PredictOptions {
  /** How many classes `top` lists (default 5, at most the class count). */
  topK?: number;
}

export interface LayerInfo {
  name: LayerName;
  /** The product's storage and kernel: dense, csr (compressed rows) or bsr (4×4 blocks). */
  format: StorageFormat;
  /** Output × input channels after compaction. */
  rows: number;
  cols: number;
  /** Stored nonzero weights. */
  nonzeros: number;
  /** Bytes the stored weights take in memory. */
  bytes: number;
}

export interface ModelInfo {
  /** Where the model came from (a path, a URL or `bytes`). */
  source: string;
  /** Size of the `.skp` file in bytes. */
  fileBytes: number;
  classNames: readonly string[];
  persons: number;
  joints: number;
  jointNames: readonly string[];
  /** Bones of one person, as pairs of joint indices. */
  bones: readonly (readonly [number, number])[];
  centerJoint: number;
  /** How each sequence is brought to a fixed length: `frames` instants, or `chunks` means. */
  temporal: TemporalSampling;
  /** Frames a sequence becomes after temporal sampling (the model's own frame window). */
  frames: number;
  /** The pruning that produced the model, when it was pruned. */
  pruning: { method: string; rate: number; achievedRate: number } | null;
  /** Weights and biases stored (nonzeros of the pruned products). */
  parameters: number;
  layers: LayerInfo[];
  /** Provenance recorded at export: source checkpoint, dataset, accuracy, … (free-form). */
  metadata: Readonly<Record<string, unknown>>;
}

export interface LoadOptions extends Pick<KernelOptions, 'backend' | 'threads'> {
  /** Kernels to run on (default: the process-wide backend, created on first use). */
  kernels?: Kernels;
  /** A name for error messages when loading bytes (default `bytes`). */
  name?: string;
}

const DEFAULT_TOP_K = 5;

export class SkeletonClassifier {
  readonly info: ModelInfo;
  /** The decoded file: architecture, stored weights, input pipeline (advanced use). */
  readonly file: ModelFile;
  /** The model's input pipeline (advanced use: encode sequences into node features). */
  readonly input: ModelInput;
  /** The engine running the products (advanced use: `engine.predict(features, batch)`). */
  readonly engine: InferenceEngine;

  private constructor(file: ModelFile, fileBytes: number, source: string, kernels: Kernels) {
    this.file = file;
    this.input = new ModelInput(file.input);
    this.engine = new InferenceEngine(file.model, kernels);
    this.info = describeModel(file, fileBytes, source);
  }

  /**
   * Loads a model from its bytes, a URL (fetched) or, in Node, a file path. In browsers the first
   * load compiles the wasm kernels asynchronously; later loads share them.
   */
  static async load(source: ModelSource, options: LoadOptions = {}): Promise<SkeletonClassifier> {
    const { bytes, name } = await readSource(source, options.name);
    const kernels = options.kernels ?? (await prepareKernels(options));
    return new SkeletonClassifier(decodeModelFile(bytes, name), bytes.length, name, kernels);
  }

  /** A classifier over a model file decoded already (or built in memory by the toolkit). */
  static fromModelFile(
    file: ModelFile,
    options: LoadOptions & { fileBytes?: number } = {},
  ): SkeletonClassifier {
    const kernels = options.kernels ?? prepareKernelsSync(options);
    return new SkeletonClassifier(file, options.fileBytes ?? 0, options.name ?? 'model', kernels);
  }

  /**
   * Loads a model from bytes synchronously. Node only, unless `kernels` are given or a browser's
   * kernels were prepared by an earlier `load`.
   */
  static fromBytes(bytes: Uint8Array, options: LoadOptions = {}): SkeletonClassifier {
    const name = options.name ?? 'bytes';
    const kernels = options.kernels ?? prepareKernelsSync(options);
    return new SkeletonClassifier(decodeModelFile(bytes, name), bytes.length, name, kernels);
  }

  get classNames(): readonly string[] {
    return this.info.classNames;
  }

  /** Classifies one sequence (nested frames or a packed sequence; see `SequenceInput`). */
  predict(sequence: SequenceInput, options: PredictOptions = {}): Prediction {
    return this.predictBatch([sequence], options)[0];
  }

  /** Classifies sequences, `batchSize` (default 32) at a time through the engine. */
  predictBatch(
    sequences: readonly SequenceInput[],
    options: PredictOptions & { batchSize?: number } = {},
  ): Prediction[] {
    const batchSize = options.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new SkelpruneError(`batchSize must be a positive integer, got ${batchSize}`);
    }
    const { persons, joints } = this.info;
    const all = sequences.map((s, i) => toSequence(s, { persons, joints, id: `sequence ${i}` }));
    const out: Prediction[] = [];
    for (let start = 0; start < all.length; start += batchSize) {
      const part = all.slice(start, start + batchSize);
      const { x } = this.input.encode(part);
      const logits = this.engine.predict(x, part.length);
      for (let i = 0; i < part.length; i++) {
        const row = logits.subarray(i * this.file.model.classes, (i + 1) * this.file.model.classes);
        out.push(this.toPrediction(row, options.topK));
      }
    }
    return out;
  }

  /** A classifier of live input: push frames as they come, read the prediction over the last window. */
  stream(options: StreamOptions = {}): StreamingClassifier {
    return new StreamingClassifier(this, options);
  }

  /** Class probabilities and the top classes of one row of logits. */
  toPrediction(logits: ArrayLike<number>, topK = DEFAULT_TOP_K): Prediction {
    if (!Number.isInteger(topK) || topK < 1)
      throw new SkelpruneError(`topK must be a positive integer, got ${topK}`);
    const probabilities = softmax(logits);
    const order = [...probabilities.keys()].sort((a, b) => probabilities[b] - probabilities[a]);
    const score = (index: number): ClassScore => ({
      index,
      name: this.info.classNames[index],
      probability: probabilities[index],
    });
    const best = score(order[0]);
    return {
      classIndex: best.index,
      className: best.name,
      probability: best.probability,
      probabilities,
      top: order.slice(0, topK).map(score),
    };
  }

  /** Frees the engine's memory in the kernels' heap; the classifier is unusable afterwards. */
  dispose(): void {
    this.engine.dispose();
  }
}

/** Softmax in float64 for stability. A non-finite logit (a bug or a broken model) is an error. */
export function softmax(logits: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  if (!Number.isFinite(max)) throw new SkelpruneError('the model produced non-finite scores for this input');
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return Float32Array.from(exps, (e) => e / total);
}

function describeModel(file: ModelFile, fileBytes: number, source: string): ModelInfo {
  const { preprocessing } = file.input;
  // Read off the stored arrays: this runs on every load, before the code is warm.
  const layers = LAYER_NAMES.map((name) => {
    const { weight } = file.model.layers[name];
    const { format, rows, cols } = weight;
    return { name, format, rows, cols, nonzeros: countNonzeros(weight.values), bytes: storedBytes(weight) };
  });
  const biases = LAYER_NAMES.reduce((n, name) => n + file.model.layers[name].bias.length, 0);
  return {
    source,
    fileBytes,
    classNames: file.classNames,
    persons: preprocessing.persons,
    joints: preprocessing.joints,
    jointNames: file.input.jointNames,
    bones: file.input.bones,
    centerJoint: file.input.centerJoint,
    temporal: preprocessing.temporal,
    frames: outputFrames(preprocessing),
    pruning: readPruning(file.info.pruning),
    parameters: layers.reduce((n, l) => n + l.nonzeros, 0) + biases,
    layers,
    metadata: file.info,
  };
}

function readPruning(value: unknown): ModelInfo['pruning'] {
  if (typeof value !== 'object' || value === null) return null;
  const { method, rate, achievedRate } = value as Record<string, unknown>;
  if (typeof method !== 'string' || typeof rate !== 'number' || typeof achievedRate !== 'number') return null;
  return { method, rate, achievedRate };
}
