/**
 * Deployment from a script: classifying the sequences of files with an exported `.skp` model (what
 * `skelprune predict` does) and timing models against each other (what `skelprune bench` does).
 * Apps that only run a model use `SkeletonClassifier` from `@skelprune/runtime` directly.
 */
import { stat } from 'node:fs/promises';
import { type ClassScore, SkeletonClassifier } from '@skelprune/runtime';
import { readSequences } from '../data/sequence-file.js';
import { getFold } from '../data/splits.js';
import type { Dataset } from '../data/types.js';
import { withUserErrors } from '../errors.js';
import { measureSpeeds, onnxRunner, ROUNDS, type Runner, runtimeRunner } from '../runtime/latency.js';
import { loadModelFile } from '../runtime/model-io.js';
import { noteUnchecked } from '../util/notes.js';

/** Options of `classifySequences`, those of `skelprune predict`. */
export interface ClassifyOptions {
  /** The `.skp` model file written by `exportModel`. */
  model: string;
  /** An SBU or FPHA skeleton file, a generic `.jsonl` or one sequence's `.json`, or a dataset folder. */
  input: string;
  /** Classes listed in each prediction's `top` (default 3). */
  topK?: number;
  /**
   * For a dataset folder: the protocol whose fold splits the score into its test and training parts
   * (default: the one the model was trained on, when it is this dataset's).
   */
  protocol?: string;
  /** For a dataset folder: the fold, by name or 1-based number (default: the model's own, else the first). */
  fold?: string;
}

/** One classified sequence, as plain data. */
export interface SequencePrediction {
  /** The sequence's id in its source. */
  id: string;
  /** Name of the most probable class. */
  predicted: string;
  /** Its probability, in [0, 1]. */
  probability: number;
  /** The `topK` most probable classes, most probable first. */
  top: ClassScore[];
  /** The sequence's own class when its source names one, else null. */
  label: string | null;
  /** Probability of every class, by class name. */
  probabilities: Record<string, number>;
  /** Which part of the scoring fold holds the sequence (null when no fold splits the input). */
  part: 'test' | 'train' | null;
}

/** The score of one part of the input. */
export interface PartScore {
  /** What was scored, e.g. `test part of protocol cross-view, fold v3` or `all 12 sequences of x.jsonl`. */
  description: string;
  /** Sequences whose source names their class. */
  labelled: number;
  /** Of those, the ones predicted correctly. */
  correct: number;
}

/** What `classifySequences` returns. */
export interface ClassifyResult {
  /** One per sequence read, in the order of the input. */
  predictions: SequencePrediction[];
  /**
   * Accuracy per part: the fold's test part, then its training part, for a dataset folder with a
   * protocol; else one score over every labelled sequence. Empty when nothing is labelled.
   */
  scores: PartScore[];
}

/** Reads the sequences of `input` (fitted to the model's skeleton) and classifies each. */
export async function classifySequences(options: ClassifyOptions): Promise<ClassifyResult> {
  return withUserErrors(classify(options));
}

async function classify(options: ClassifyOptions): Promise<ClassifyResult> {
  const classifier = await SkeletonClassifier.load(options.model);
  try {
    const { info } = classifier;
    if (info.integrity === 'unchecked') noteUnchecked(options.model);
    const { sequences, dataset } = await readSequences(options.input, {
      jointNames: info.jointNames,
      bones: info.bones,
      persons: info.persons,
      classNames: info.classNames,
    });
    const fold = dataset ? scoringFold(dataset, options, info.metadata) : null;
    const partOf = (id: string) =>
      fold === null ? null : fold.test.has(id) ? 'test' : fold.train.has(id) ? 'train' : null;
    const names = info.classNames;
    const predictions = classifier.predictBatch(sequences, { topK: options.topK ?? 3 }).map(
      (p, i): SequencePrediction => ({
        id: sequences[i].id,
        predicted: p.className,
        probability: p.probability,
        top: p.top,
        label: sequences[i].label >= 0 ? names[sequences[i].label] : null,
        probabilities: Object.fromEntries(names.map((name, c) => [name, p.probabilities[c]])),
        part: partOf(sequences[i].id),
      }),
    );
    const parts =
      fold === null
        ? [{ description: `all ${predictions.length} sequences of ${options.input}`, part: undefined }]
        : [
            { description: `test part of protocol ${fold.protocol}, fold ${fold.name}`, part: 'test' },
            { description: `training part of protocol ${fold.protocol}, fold ${fold.name}`, part: 'train' },
          ];
    const scores = parts.map(({ description, part }) => {
      const labelled = predictions.filter((p) => p.label !== null && (part === undefined || p.part === part));
      return {
        description,
        labelled: labelled.length,
        correct: labelled.filter((p) => p.label === p.predicted).length,
      };
    });
    return { predictions, scores: scores.filter((score) => score.labelled > 0) };
  } finally {
    classifier.dispose();
  }
}

/**
 * The fold that splits a dataset folder's score: the one asked for, else the model's own (its
 * provenance names the dataset, protocol and fold it was trained on), else none.
 */
function scoringFold(
  dataset: Dataset,
  options: Pick<ClassifyOptions, 'protocol' | 'fold'>,
  modelInfo: Readonly<Record<string, unknown>>,
): { protocol: string; name: string; train: Set<string>; test: Set<string> } | null {
  const provenance = (modelInfo.provenance ?? {}) as {
    dataset?: unknown;
    protocol?: unknown;
    fold?: unknown;
  };
  const own = provenance.dataset === dataset.name;
  const protocol =
    options.protocol ?? (own && typeof provenance.protocol === 'string' ? provenance.protocol : undefined);
  if (protocol === undefined) return null;
  const foldName = options.fold ?? (own && typeof provenance.fold === 'string' ? provenance.fold : '1');
  const named = dataset.protocols[protocol]?.some((f) => f.name === foldName);
  const fold = getFold(dataset, protocol, !named && /^\d+$/.test(foldName) ? Number(foldName) - 1 : foldName);
  return { protocol, name: fold.name, train: new Set(fold.train), test: new Set(fold.test) };
}

/** Options of `benchmark`, those of `skelprune bench`. */
export interface BenchmarkOptions {
  /** The `.skp` model to time (usually the pruned one). */
  model: string;
  /** The unpruned model's `.skp`, timed first as the baseline of the speed-ups. */
  dense?: string;
  /** Timed batch-1 calls per model (default 2000). */
  repeats?: number;
  /** Batch size of the throughput measurement (default 32). */
  batch?: number;
  /** Also time each model's compacted network in onnxruntime-node (default true; needs the optional peer). */
  onnx?: boolean;
  /** Called once every model is loaded, just before the timing starts, with the number of runners. */
  onStart?: (runners: number) => void;
}

/** One timed runner. */
export interface BenchmarkRow {
  /** What ran: the skelprune runtime or onnxruntime-node, on which model. */
  name: string;
  /** Size of the model file in bytes (null for onnxruntime rows, which run from memory). */
  bytes: number | null;
  /** Median batch-1 latency, milliseconds. */
  p50Ms: number;
  /** 90th-percentile batch-1 latency, milliseconds. */
  p90Ms: number;
  /** Sequences per second at `batch`. */
  throughput: number;
  /** The first row's p50 over this row's. */
  speedup: number;
}

/** What `benchmark` returns. */
export interface BenchmarkResult {
  /** One per runner: the dense model first when given (the speed-ups' baseline), then the pruned one. */
  rows: BenchmarkRow[];
  /** Timed batch-1 calls per row. */
  repeats: number;
  /** Batch size of the throughput measurement. */
  batch: number;
  /** Rounds the timed calls are split into, interleaving the rows. */
  rounds: number;
}

/**
 * Times the models (and their ONNX exports in onnxruntime-node) in interleaved rounds on random node
 * features: batch-1 latency percentiles and batched throughput.
 */
export async function benchmark(options: BenchmarkOptions): Promise<BenchmarkResult> {
  return withUserErrors(timeModels(options));
}

async function timeModels(options: BenchmarkOptions): Promise<BenchmarkResult> {
  const repeats = options.repeats ?? 2000;
  const batch = options.batch ?? 32;
  const models = [{ label: 'pruned', path: options.model }];
  if (options.dense) models.unshift({ label: 'dense unpruned', path: options.dense });
  const entries: { name: string; bytes: number | null; runner: Runner }[] = [];
  try {
    for (const { label, path } of models) {
      const file = await loadModelFile(path);
      entries.push({
        name: `skelprune runtime, ${label}`,
        bytes: (await stat(path)).size,
        runner: runtimeRunner(file.model),
      });
      if (options.onnx ?? true) {
        const what = `${label}${label === 'pruned' ? ' (compacted, dense)' : ''}`;
        entries.push({
          name: `onnxruntime-node, ${what}`,
          bytes: null,
          runner: await onnxRunner(file.model),
        });
        const single = `onnxruntime-node 1 thread, ${what}`;
        entries.push({ name: single, bytes: null, runner: await onnxRunner(file.model, 1) });
      }
    }
    options.onStart?.(entries.length);
    const speeds = await measureSpeeds(
      entries.map((e) => e.runner),
      { repeats, batch },
    );
    const rows = entries.map((e, i) => ({
      name: e.name,
      bytes: e.bytes,
      p50Ms: speeds[i].p50Ms,
      p90Ms: speeds[i].p90Ms,
      throughput: speeds[i].throughput,
      speedup: speeds[0].p50Ms / speeds[i].p50Ms,
    }));
    return { rows, repeats, batch, rounds: ROUNDS };
  } finally {
    for (const e of entries) await e.runner.dispose();
  }
}
