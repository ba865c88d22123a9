/**
 * Classifying skeleton sequences with an exported model, in Node or a browser: the model file's own
 * input pipeline (preprocessing and node features, exactly as in training) feeds the inference engine,
 * and logits become class probabilities.
 */
import type { SkeletonSequence } from '../data/types.js';
import type { Kernels } from '../kernels/types.js';
import { ModelInput } from '../model/input.js';
import { InferenceEngine } from './engine.js';
import type { ModelFile } from './model-file.js';

export interface Prediction {
  id: string;
  /** The sequence's own label when its source has one, else −1. */
  label: number;
  predicted: number;
  probabilities: Float32Array;
}

/** Softmax of each row of a [rows, classes] logit matrix, in float64 for stability. */
export function softmaxRows(logits: Float32Array, classes: number): Float32Array[] {
  const rows: Float32Array[] = [];
  for (let r = 0; r < logits.length / classes; r++) {
    const row = logits.subarray(r * classes, (r + 1) * classes);
    const max = Math.max(...row);
    const exps = Array.from(row, (v) => Math.exp(v - max));
    const total = exps.reduce((a, b) => a + b, 0);
    rows.push(Float32Array.from(exps, (e) => e / total));
  }
  return rows;
}

export class Predictor {
  readonly file: ModelFile;
  readonly input: ModelInput;
  readonly engine: InferenceEngine;

  constructor(file: ModelFile, kernels?: Kernels) {
    this.file = file;
    this.input = new ModelInput(file.input);
    this.engine = new InferenceEngine(file.model, kernels);
  }

  get classNames(): string[] {
    return this.file.classNames;
  }

  /** Logits [batch, classes] of node features [batch, nodes, width] (the training features). */
  logits(features: Float32Array, batch: number): Float32Array {
    return this.engine.predict(features, batch);
  }

  /** Preprocesses and classifies sequences in batches. */
  classify(sequences: readonly SkeletonSequence[], batchSize = 32): Prediction[] {
    const out: Prediction[] = [];
    for (let start = 0; start < sequences.length; start += batchSize) {
      const part = sequences.slice(start, start + batchSize);
      const { x } = this.input.encode(part);
      const probabilities = softmaxRows(this.logits(x, part.length), this.file.model.classes);
      part.forEach((sequence, i) => {
        const p = probabilities[i];
        out.push({
          id: sequence.id,
          label: sequence.label,
          predicted: p.indexOf(Math.max(...p)),
          probabilities: p,
        });
      });
    }
    return out;
  }

  dispose(): void {
    this.engine.dispose();
  }
}
