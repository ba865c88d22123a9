/**
 * Sliding-window classification: the last frames up to the current one go through the model's own
 * input pipeline (preprocessing and node features, as in training) and the inference engine.
 */

import { type SkeletonClassifier, softmax } from '@skelprune/runtime';
import { classifierInternals } from '@skelprune/runtime/internal';
import type { SkeletonSequence } from '../src/data/types.js';

/** Frames [end − length + 1, end] of a sequence (fewer at its start), as a sequence of their own. */
export function windowOf(sequence: SkeletonSequence, end: number, length: number): SkeletonSequence {
  const start = Math.max(0, end - length + 1);
  const stride = sequence.persons * sequence.joints * 3;
  return {
    ...sequence,
    frames: end - start + 1,
    positions: sequence.positions.subarray(start * stride, (end + 1) * stride),
  };
}

/**
 * Timing a ~0.1 ms inference with a browser clock (5 µs steps at best, 100 µs without cross-origin
 * isolation) needs repeats: each measurement runs the model until this much time has passed.
 */
const MEASURE_MS = 2;
const MAX_REPEATS = 500;

export interface WindowPrediction {
  probabilities: Float32Array;
  /** Milliseconds per inference of the engine (preprocessing excluded). */
  latencyMs: number;
}

/** Classifies one window; throws the library's error when the window does not fit the model. */
export function classifyWindow(predictor: SkeletonClassifier, window: SkeletonSequence): WindowPrediction {
  const { file, input, engine } = classifierInternals(predictor);
  const { x } = input.encode([window]);
  const logits = new Float32Array(file.model.classes);
  let repeats = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MEASURE_MS && repeats < MAX_REPEATS) {
    engine.predict(x, 1, logits);
    repeats++;
    elapsed = performance.now() - start;
  }
  return { probabilities: softmax(logits), latencyMs: elapsed / repeats };
}

/** The mean of the most recent latencies, so the figure settles while it follows changes. */
export class LatencyMeter {
  private readonly recent: number[] = [];

  constructor(private readonly size = 50) {}

  add(ms: number): void {
    this.recent.push(ms);
    if (this.recent.length > this.size) this.recent.shift();
  }

  get count(): number {
    return this.recent.length;
  }

  get meanMs(): number {
    return this.recent.reduce((sum, ms) => sum + ms, 0) / Math.max(1, this.recent.length);
  }
}

/** The k most probable classes, most probable first. */
export function topClasses(probabilities: Float32Array, k: number): { index: number; p: number }[] {
  return [...probabilities.keys()]
    .sort((a, b) => probabilities[b] - probabilities[a])
    .slice(0, k)
    .map((index) => ({ index, p: probabilities[index] }));
}
