/**
 * The deployment API: a `.skp` model loaded from bytes, a URL or a path, classifying skeleton
 * sequences (one, a batch, or live frames through a `StreamingClassifier`). Each sequence goes
 * through the model's own input pipeline (the recorded preprocessing and node features, exactly as
 * in training) and the inference engine on the wasm SIMD kernels (or their TS fallback).
 */
import { SkelpruneError } from './errors.js';
import { type DecodedModelFile, decodeModelFile, type ModelFile } from './format/model-file.js';
import { ModelInput } from './input/model-input.js';
import { outputFrames, type TemporalSampling } from './input/preprocess.js';
import { type SequenceInput, toSequence } from './input/sequence-input.js';
import type { KernelOptions } from './kernels/index.js';
import { prepareKernels, prepareKernelsSync } from './kernels/prepare.js';
import type { Kernels as PublicKernels } from './kernels/public.js';
import type { Kernels } from './kernels/types.js';
import { InferenceEngine, LAYER_NAMES, type LayerName } from './model/engine.js';
import { countNonzeros, type StorageFormat, storedBytes } from './model/storage.js';
import { type ModelSource, readSource } from './source.js';
import { StreamingClassifier, type StreamOptions } from './stream.js';

/** One class and its probability. */
export interface ClassScore {
  /** The class's index into `info.classNames` (and `Prediction.probabilities`). */
  index: number;
  /** The class's name. */
  name: string;
  /** The class's probability, in [0, 1]. */
  probability: number;
}

/** What classifying one sequence found: the most probable class, and every class's probability. */
export interface Prediction {
  /** The most probable class. */
  classIndex: number;
  /** The most probable class's name (`info.classNames[classIndex]`). */
  className: string;
  /** The most probable class's probability, in [0, 1]. */
  probability: number;
  /** One probability per class, in the order of `info.classNames`, summing to 1. */
  probabilities: Float32Array;
  /** The `topK` most probable classes, most probable first. */
  top: ClassScore[];
}

/** Options of `predict` and `predictBatch` (and of `StreamingClassifier.predict`). */
export interface PredictOptions {
  /** How many classes `top` lists (default 5, at most the class count); a positive integer. */
  topK?: number;
}

/** Options of `predictBatch`. */
export interface PredictBatchOptions extends PredictOptions {
  /** Sequences per pass through the engine (default 32); a positive integer. */
  batchSize?: number;
}

/** One product of the forward pass (y = act(Wᵀ·x + bias)), as the model stores it. */
export interface LayerInfo {
  /** Which product. */
  name: LayerName;
  /** The product's storage and kernel: dense, csr (compressed rows) or bsr (4×4 blocks). */
  format: StorageFormat;
  /** Output channels (rows of the stored Wᵀ) after compaction. */
  rows: number;
  /** Input channels (columns of the stored Wᵀ) after compaction. */
  cols: number;
  /** Stored nonzero weights. */
  nonzeros: number;
  /** Bytes the stored weights take in memory. */
  bytes: number;
}

/** What a loaded model expects and what it is (`SkeletonClassifier.info`), read from its `.skp` file. */
export interface ModelInfo {
  /** Where the model came from (a path, a URL, the `name` option, or `bytes`). */
  source: string;
  /** Size of the `.skp` file in bytes. */
  fileBytes: number;
  /**
   * `verified`: the file's contents matched its CRC-32 checksum; `unchecked`: the file records no
   * checksum (written before skelprune recorded them), so corruption of its weights goes unnoticed.
   * A file whose checksum does not match is refused.
   */
  integrity: 'verified' | 'unchecked';
  /** The class names, in the order of `Prediction.probabilities`. */
  classNames: readonly string[];
  /** Persons in every frame of a sequence. */
  persons: number;
  /** Joints of each person. */
  joints: number;
  /** The joints' names, in the order a frame lists them (`joints` names, those of one person). */
  jointNames: readonly string[];
  /** Bones of one person, as pairs of joint indices. */
  bones: readonly (readonly [number, number])[];
  /** The skeleton's centre joint (an index into `jointNames`): the root of its tree of bones. */
  centerJoint: number;
  /** How each sequence is brought to a fixed length: `frames` instants, or `chunks` means. */
  temporal: TemporalSampling;
  /** Frames a sequence becomes after temporal sampling (the model's own frame window). */
  frames: number;
  /**
   * Median frames of the clips the model was trained on, before temporal sampling: the natural
   * window for live input (`stream()`'s default); null for files that do not record it.
   */
  clipFrames: number | null;
  /** The pruning that produced the model, when it was pruned (as recorded at export); else null. */
  pruning: {
    /** The pruning method, as the toolkit names it (e.g. `ctf`). */
    method: string;
    /** The target rate: the fraction of prunable weights to remove, in [0, 1]. */
    rate: number;
    /** The fraction of prunable weights actually removed, in [0, 1]. */
    achievedRate: number;
  } | null;
  /** Weights and biases stored (nonzeros of the pruned products). */
  parameters: number;
  /** Every product of the forward pass, in its order. */
  layers: LayerInfo[];
  /** Provenance recorded at export: source checkpoint, dataset, accuracy, … (free-form). */
  metadata: Readonly<Record<string, unknown>>;
}

/**
 * Options of `SkeletonClassifier.load` and `fromBytes`. Without `kernels`, `backend` or `threads`,
 * models share one process-wide backend; naming `backend` or `threads` creates a backend for this
 * model alone.
 */
export interface LoadOptions extends Pick<KernelOptions, 'backend' | 'threads'> {
  /**
   * Kernels to run on, made by `createKernels` (default: the process-wide backend, created on first
   * use). They take precedence over `backend` and `threads`.
   */
  kernels?: PublicKernels;
  /** A name for `info.source` and error messages when loading bytes (default `bytes`). */
  name?: string;
}

/**
 * What a classifier keeps to itself, for the toolkit and advanced use through the internal entry
 * (`classifierInternals`): the decoded file, its input pipeline and the engine running its products.
 */
export interface ClassifierInternals {
  /** The decoded file: architecture, stored weights, input pipeline. */
  readonly file: ModelFile;
  /** The model's input pipeline (encodes sequences into node features). */
  readonly input: ModelInput;
  /** The engine running the products (`engine.predict(features, batch)`). */
  readonly engine: InferenceEngine;
}

/** SkeletonClassifier's private constructor, which the internal entry's `classifierFromModelFile` calls. */
type ClassifierConstructor = new (
  file: ModelFile,
  fileBytes: number,
  source: string,
  kernels: Kernels,
) => SkeletonClassifier;

const DEFAULT_TOP_K = 5;

/**
 * The caller's kernels, if any, as the full backend they are: the main entry shows backends opaque,
 * but every one comes from `createKernels` (or is the internal entry's `Kernels` already).
 */
const chosenKernels = (options: LoadOptions): Kernels | undefined => options.kernels as Kernels | undefined;

/**
 * A loaded `.skp` model classifying skeleton sequences: one (`predict`), many (`predictBatch`) or
 * live frames (`stream`). Each sequence goes through the model's own input pipeline (centring,
 * scaling, temporal sampling and node features, as recorded at export), then the inference engine.
 * Create one with `SkeletonClassifier.load` (or `fromBytes`).
 */
export class SkeletonClassifier {
  /** What the model expects (persons, joints, frame window) and what it is (classes, layers, pruning). */
  readonly info: ModelInfo;
  private readonly file: ModelFile;
  private readonly input: ModelInput;
  private readonly engine: InferenceEngine;

  private constructor(file: ModelFile, fileBytes: number, source: string, kernels: Kernels) {
    this.file = file;
    this.input = new ModelInput(file.input);
    this.engine = new InferenceEngine(file.model, kernels);
    this.info = describeModel(file, fileBytes, source);
  }

  /**
   * Loads a model from its bytes, a URL (fetched) or, in Node, a file path (see `ModelSource`). In
   * browsers the first load compiles the wasm kernels asynchronously; later loads share them.
   * Rejects with a `SkelpruneError` when the source cannot be read or fetched, or is not a valid
   * model file this version reads.
   */
  static async load(source: ModelSource, options: LoadOptions = {}): Promise<SkeletonClassifier> {
    const { bytes, name } = await readSource(source, options.name);
    const kernels = chosenKernels(options) ?? (await prepareKernels(options));
    return new SkeletonClassifier(decodeModelFile(bytes, name), bytes.length, name, kernels);
  }

  /**
   * Loads a model from bytes synchronously. Node only, unless `kernels` are given or a browser's
   * kernels were prepared by an earlier `load` (else it throws a `SkelpruneError`, as it does for
   * bytes that are not a valid model file).
   */
  static fromBytes(bytes: Uint8Array, options: LoadOptions = {}): SkeletonClassifier {
    const name = options.name ?? 'bytes';
    const kernels = chosenKernels(options) ?? prepareKernelsSync(options);
    return new SkeletonClassifier(decodeModelFile(bytes, name), bytes.length, name, kernels);
  }

  /** The class names, in the order of `Prediction.probabilities` (`info.classNames`). */
  get classNames(): readonly string[] {
    return this.info.classNames;
  }

  /**
   * Classifies one sequence (nested frames or a packed sequence; see `SequenceInput`) of any number
   * of frames ≥ 1. Throws a `SkelpruneError` when it does not fit the model (persons, joints,
   * coordinates that are not finite, no frames) or `topK` is not a positive integer.
   */
  predict(sequence: SequenceInput, options: PredictOptions = {}): Prediction {
    return this.predictBatch([sequence], options)[0];
  }

  /**
   * Classifies sequences, `batchSize` (default 32) at a time through the engine; the predictions
   * equal `predict`'s to float rounding, in the order of `sequences`. Every sequence is checked
   * before any is classified: one that does not fit the model throws a `SkelpruneError` naming
   * its index, as does a `batchSize` or `topK` that is not a positive integer.
   */
  predictBatch(sequences: readonly SequenceInput[], options: PredictBatchOptions = {}): Prediction[] {
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

  /**
   * A classifier of live input: push frames as they come, read the prediction over the last window.
   * Throws a `SkelpruneError` for a `window` or `minFrames` out of range.
   */
  stream(options: StreamOptions = {}): StreamingClassifier {
    return new StreamingClassifier(this, options);
  }

  /** Class probabilities and the top classes of one row of logits. */
  private toPrediction(logits: ArrayLike<number>, topK = DEFAULT_TOP_K): Prediction {
    if (!Number.isInteger(topK) || topK < 1)
      throw new SkelpruneError(`topK must be a positive integer, got ${topK}`);
    // Finite weights can still overflow float32 (a file without a checksum holding ±3.4e38): name the
    // model, since the input was checked finite already.
    for (let i = 0; i < logits.length; i++) {
      if (!Number.isFinite(logits[i]))
        throw new SkelpruneError(`${this.info.source}: the model produced non-finite scores for this input`);
    }
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

/**
 * Softmax in float64 for stability: the probabilities of a row of logits, summing to 1. A non-finite
 * logit (a bug or a broken model) throws a `SkelpruneError`.
 */
export function softmax(logits: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  if (!Number.isFinite(max)) throw new SkelpruneError('the model produced non-finite scores for this input');
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return Float32Array.from(exps, (e) => e / total);
}

/**
 * A classifier over a model file decoded already (or built in memory by the toolkit); `fileBytes`
 * (default 0) is what `info.fileBytes` reports, and `info.integrity` is the decoded file's
 * (`unchecked` for one built in memory).
 */
export function classifierFromModelFile(
  file: ModelFile,
  options: LoadOptions & { fileBytes?: number } = {},
): SkeletonClassifier {
  const kernels = chosenKernels(options) ?? prepareKernelsSync(options);
  const Classifier = SkeletonClassifier as unknown as ClassifierConstructor;
  return new Classifier(file, options.fileBytes ?? 0, options.name ?? 'model', kernels);
}

/** A classifier's decoded file, input pipeline and engine (which its public interface keeps private). */
export function classifierInternals(classifier: SkeletonClassifier): ClassifierInternals {
  const { file, input, engine } = classifier as unknown as ClassifierInternals;
  return { file, input, engine };
}

function describeModel(
  file: ModelFile & Partial<Pick<DecodedModelFile, 'integrity'>>,
  fileBytes: number,
  source: string,
): ModelInfo {
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
    integrity: file.integrity ?? 'unchecked',
    classNames: file.classNames,
    persons: preprocessing.persons,
    joints: preprocessing.joints,
    jointNames: file.input.jointNames,
    bones: file.input.bones,
    centerJoint: file.input.centerJoint,
    temporal: preprocessing.temporal,
    frames: outputFrames(preprocessing),
    clipFrames: preprocessing.clipFrames,
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
