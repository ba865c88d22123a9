/** Counts and frame statistics of a dataset, per class and per protocol fold, for reports. */
import { compareNatural } from './splits.js';
import type { Dataset, SkeletonSequence } from './types.js';

/** Frames per sequence: count of sequences, total, min, mean, median, max. */
export interface FrameStatistics {
  /** Sequences counted. */
  readonly sequences: number;
  /** Frames of all of them together. */
  readonly total: number;
  /** Frames of the shortest sequence (0 when there are none). */
  readonly min: number;
  /** Mean frames per sequence. */
  readonly mean: number;
  /** Median frames per sequence (the mean of the middle two for an even count). */
  readonly median: number;
  /** Frames of the longest sequence. */
  readonly max: number;
}

/** Sequences and frames of one part (training or test) of a fold. */
export interface PartSummary {
  /** Sequences in the part. */
  readonly sequences: number;
  /** Frames of all of them together. */
  readonly frames: number;
  /** Sequences per class, indexed by label. */
  readonly perClass: number[];
}

/** Counts of one fold's training and test parts. */
export interface FoldSummary {
  /** The fold's name in its protocol (e.g. `fold1`, `1:1`, a subject). */
  readonly name: string;
  /** Its training part. */
  readonly train: PartSummary;
  /** Its test part. */
  readonly test: PartSummary;
}

export interface DatasetSummary {
  readonly frames: FrameStatistics;
  readonly perClass: number[];
  /** Sequences per subject, subjects in natural order. */
  readonly perSubject: ReadonlyMap<string, number>;
  readonly protocols: readonly { readonly name: string; readonly folds: readonly FoldSummary[] }[];
}

export function summarizeDataset(dataset: Dataset): DatasetSummary {
  const byId = new Map(dataset.sequences.map((s) => [s.id, s]));
  const part = (ids: readonly string[]) =>
    summarizePart(
      dataset,
      ids.map((id) => byId.get(id)!),
    );
  const perSubject = new Map<string, number>();
  const subjects = dataset.sequences.map((s) => s.subject).sort(compareNatural);
  for (const subject of subjects) perSubject.set(subject, (perSubject.get(subject) ?? 0) + 1);
  return {
    frames: frameStatistics(dataset.sequences.map((s) => s.frames)),
    perClass: summarizePart(dataset, dataset.sequences).perClass,
    perSubject,
    protocols: Object.entries(dataset.protocols).map(([name, folds]) => ({
      name,
      folds: folds.map((fold) => ({ name: fold.name, train: part(fold.train), test: part(fold.test) })),
    })),
  };
}

function summarizePart(dataset: Dataset, sequences: readonly SkeletonSequence[]): PartSummary {
  const perClass = dataset.classNames.map(() => 0);
  let frames = 0;
  for (const sequence of sequences) {
    perClass[sequence.label]++;
    frames += sequence.frames;
  }
  return { sequences: sequences.length, frames, perClass };
}

export function frameStatistics(lengths: readonly number[]): FrameStatistics {
  if (lengths.length === 0) return { sequences: 0, total: 0, min: 0, mean: 0, median: 0, max: 0 };
  const sorted = [...lengths].sort((a, b) => a - b);
  const total = sorted.reduce((sum, n) => sum + n, 0);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return {
    sequences: sorted.length,
    total,
    min: sorted[0],
    mean: total / sorted.length,
    median,
    max: sorted[sorted.length - 1],
  };
}
