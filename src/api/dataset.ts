/** Datasets: what `skelprune data inspect` reports about one, as data. */
import { type FoldSummary, type FrameStatistics, summarizeDataset } from '../data/summary.js';
import type { CenterMode, DataIssue, Dataset } from '../data/types.js';

/** Everything `skelprune data inspect` prints about a dataset. Counts per class are indexed by label. */
export interface DatasetInspection {
  /** Short name, e.g. `sbu`. */
  name: string;
  /** Title for reports. */
  title: string;
  /** Unit of the coordinates, e.g. `mm`. */
  units: string;
  /** Class names, indexed by label. */
  classNames: string[];
  /** The skeleton of one person, shared by every person of every sequence. */
  skeleton: {
    /** Persons per sequence. */
    persons: number;
    /** Joint names, indexed by joint. */
    jointNames: string[];
    /** Bones as pairs of joint indices. */
    bones: [number, number][];
    /** The default centre joint of preprocessing. */
    centerJoint: number;
    /** Whether the centre of the first frame or of every frame is subtracted. */
    centerMode: CenterMode;
  };
  /** Frames per sequence over the whole dataset. */
  frames: FrameStatistics;
  /** Sequences per class. */
  perClass: number[];
  /** Sequences per subject, subjects in natural order (`subject2` before `subject10`). */
  subjects: {
    /** The subject's name. */
    name: string;
    /** Its sequences. */
    sequences: number;
  }[];
  /** Per protocol and fold: sequences, frames and sequences per class of its training and test parts. */
  protocols: {
    /** The protocol's name, e.g. `5-fold`. */
    name: string;
    /** Its folds, in order. */
    folds: FoldSummary[];
  }[];
  /** Every file skipped or odd while loading. */
  issues: DataIssue[];
}

/** Counts per class, subject and protocol fold, frame statistics and loading issues of a dataset. */
export function inspectDataset(dataset: Dataset): DatasetInspection {
  const summary = summarizeDataset(dataset);
  const { graph } = dataset;
  return {
    name: dataset.name,
    title: dataset.title,
    units: dataset.units,
    classNames: [...dataset.classNames],
    skeleton: {
      persons: graph.persons,
      jointNames: [...graph.jointNames],
      bones: graph.bones.map(([a, b]) => [a, b]),
      centerJoint: graph.centerJoint,
      centerMode: graph.centerMode,
    },
    frames: summary.frames,
    perClass: summary.perClass,
    subjects: [...summary.perSubject].map(([name, sequences]) => ({ name, sequences })),
    protocols: summary.protocols.map(({ name, folds }) => ({ name, folds: [...folds] })),
    issues: [...dataset.issues],
  };
}
