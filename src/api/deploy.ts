/**
 * Deployment from a script: classifying the sequences of files with an exported `.skp` model (what
 * `skelprune predict` does) and timing models against each other (what `skelprune bench` does).
 * Apps that only run a model use `SkeletonClassifier` from `@skelprune/runtime` directly.
 */
import { stat } from 'node:fs/promises';
import { type ClassScore, SkeletonClassifier } from '@skelprune/runtime';
import { readSequences } from '../data/sequence-file.js';
import { withUserErrors } from '../errors.js';
import { measureSpeeds, onnxRunner, ROUNDS, type Runner, runtimeRunner } from '../runtime/latency.js';
import { loadModelFile } from '../runtime/model-io.js';
import { noteUnchecked } from '../util/notes.js';

/** Options of `classifySequences`, those of `skelprune predict`. */
export interface ClassifyOptions {
  /** The `.skp` model file written by `exportModel`. */
  model: string;
  /** An SBU or FPHA skeleton file, a generic `.jsonl`, or a dataset folder. */
  input: string;
  /** Classes listed in each prediction's `top` (default 3). */
  topK?: number;
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
}

/** What `classifySequences` returns. */
export interface ClassifyResult {
  /** One per sequence read, in the order of the input. */
  predictions: SequencePrediction[];
  /** Sequences whose source names their class. */
  labelled: number;
  /** Of those, the ones predicted correctly. */
  correct: number;
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
    const sequences = await readSequences(options.input, {
      jointNames: info.jointNames,
      bones: info.bones,
      persons: info.persons,
      classNames: info.classNames,
    });
    const names = info.classNames;
    const predictions = classifier.predictBatch(sequences, { topK: options.topK ?? 3 }).map(
      (p, i): SequencePrediction => ({
        id: sequences[i].id,
        predicted: p.className,
        probability: p.probability,
        top: p.top,
        label: sequences[i].label >= 0 ? names[sequences[i].label] : null,
        probabilities: Object.fromEntries(names.map((name, c) => [name, p.probabilities[c]])),
      }),
    );
    const labelled = predictions.filter((p) => p.label !== null);
    return {
      predictions,
      labelled: labelled.length,
      correct: labelled.filter((p) => p.label === p.predicted).length,
    };
  } finally {
    classifier.dispose();
  }
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
        const name = `onnxruntime-node, ${label}${label === 'pruned' ? ' (compacted, dense)' : ''}`;
        entries.push({ name, bytes: null, runner: await onnxRunner(file.model) });
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
