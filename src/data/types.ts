/**
 * The plain data types of the dataset layer. Every reader (SBU, FPHA, generic, synthetic) produces a
 * `Dataset`; everything downstream (preprocessing, training, evaluation) consumes only these types.
 */

/** One recorded sequence; the type is shared with the runtime package, which classifies them. */
export type { SkeletonSequence } from '@skelprune/runtime';

import type { SkeletonSequence } from '@skelprune/runtime';

/** The skeleton of one person, shared by every person of every sequence of a dataset. */
export interface SkeletonGraph {
  /** Names of one person's joints, in the order of the data (index = joint index). */
  readonly jointNames: readonly string[];
  /** Edges within one person, 0-based joint indices; the same bones apply to every person. */
  readonly bones: readonly (readonly [number, number])[];
  /** Persons in every sequence (SBU: 2). */
  readonly persons: number;
  /** The dataset's default centre for preprocessing (SBU: TORSO = 2, FPHA: Wrist = 0). */
  readonly centerJoint: number;
  /** Whether the default centring subtracts the centre of the first frame or of every frame. */
  readonly centerMode: CenterMode;
}

/** Whether centring subtracts the centre joint of the first frame or of every frame. */
export type CenterMode = 'first-frame' | 'every-frame';

/** One train/test partition of a protocol, by sequence id. */
export interface Fold {
  /** The fold's name in its protocol (e.g. `fold1`, `1:1`, a held-out subject). */
  readonly name: string;
  /** Ids of the training sequences. */
  readonly train: readonly string[];
  /** Ids of the test sequences. */
  readonly test: readonly string[];
}

/** A file that was skipped or looked odd while loading. Loaders never drop anything without one. */
export interface DataIssue {
  /** Path of the file concerned. */
  readonly file: string;
  /** 1-based line, when the issue concerns one line. */
  readonly line?: number;
  /** What was found and what was done about it, e.g. "empty file, not in the split: skipped". */
  readonly message: string;
}

/** A whole dataset in memory: classes, skeleton, sequences, evaluation protocols, loading issues. */
export interface Dataset {
  /** Short name, e.g. `sbu`, `fpha`, or the generic dataset's own name. */
  readonly name: string;
  /** Human-readable title for reports. */
  readonly title: string;
  /** Unit of the coordinates in `positions`, e.g. `mm`. */
  readonly units: string;
  /** Class names, by label index. */
  readonly classNames: readonly string[];
  /** The skeleton: joints, bones, persons, default centre. */
  readonly graph: SkeletonGraph;
  /** Every sequence, training and test alike (protocols split them by id). */
  readonly sequences: readonly SkeletonSequence[];
  /** Evaluation protocols by name (e.g. `5-fold`, `1:1`, `cross-person`), each a list of folds. */
  readonly protocols: Readonly<Record<string, readonly Fold[]>>;
  /** Files skipped or found odd while loading (empty for generated data). */
  readonly issues: readonly DataIssue[];
}
