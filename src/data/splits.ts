/** Protocol folds and the validation split carved from a fold's training part. */
import { Rng } from '../engine/random.js';
import { SkelpruneError } from '../errors.js';
import type { Dataset, Fold, SkeletonSequence } from './types.js';

/** Orders subject names naturally, so `Subject_2` comes before `Subject_10`. */
export function compareNatural(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** One fold per subject: test on that subject's sequences, train on everyone else's. */
export function leaveOneSubjectOut(sequences: readonly SkeletonSequence[]): Fold[] {
  const subjects = [...new Set(sequences.map((s) => s.subject))].sort(compareNatural);
  return subjects.map((subject) => ({
    name: subject,
    train: sequences.filter((s) => s.subject !== subject).map((s) => s.id),
    test: sequences.filter((s) => s.subject === subject).map((s) => s.id),
  }));
}

/** A fold by protocol name and fold name or 0-based index; unknown names list the known ones. */
export function getFold(dataset: Dataset, protocol: string, fold: string | number): Fold {
  const folds = dataset.protocols[protocol];
  if (!folds) {
    const known = Object.keys(dataset.protocols).join(', ') || 'none';
    throw new SkelpruneError(`${dataset.name} has no protocol '${protocol}' (protocols: ${known})`);
  }
  const found = typeof fold === 'number' ? folds[fold] : folds.find((f) => f.name === fold);
  if (!found) {
    const known = folds.map((f, i) => `${i} '${f.name}'`).join(', ');
    throw new SkelpruneError(`${dataset.name} protocol '${protocol}' has no fold ${fold} (folds: ${known})`);
  }
  return found;
}

/** How the validation part is drawn: a share of every class, or whole subjects (nobody in both parts). */
export const VALIDATION_GROUPINGS = ['class', 'subject'] as const;
export type ValidationGrouping = (typeof VALIDATION_GROUPINGS)[number];

export interface ValidationSplitOptions {
  /** Share of the training part moved to validation; default 0.1. */
  readonly fraction?: number;
  /** 'class' (default): round(fraction · n_c) of every class c; 'subject': whole subjects. */
  readonly by?: ValidationGrouping;
  readonly seed: number;
}

export interface ValidationSplit {
  readonly train: string[];
  readonly validation: string[];
}

/**
 * Moves part of `trainIds` into a validation set, for model selection without touching the test part.
 * By class: `round(fraction · n_c)` random sequences of every class c. By subject: randomly ordered
 * whole subjects until at least `round(fraction · n)` sequences, so that validation measures what a
 * cross-subject test does (the same person in both parts flatters it). Deterministic from the seed;
 * both parts keep the order of `trainIds`.
 */
export function validationSplit(
  dataset: Dataset,
  trainIds: readonly string[],
  options: ValidationSplitOptions,
): ValidationSplit {
  const fraction = options.fraction ?? 0.1;
  if (!(fraction >= 0 && fraction < 1)) {
    throw new SkelpruneError(`validation fraction must be in [0, 1), got ${fraction}`);
  }
  const byId = new Map(dataset.sequences.map((s) => [s.id, s]));
  const sequences = trainIds.map((id) => {
    const sequence = byId.get(id);
    if (!sequence) throw new SkelpruneError(`${dataset.name} has no sequence '${id}'`);
    return sequence;
  });
  const rng = new Rng(options.seed);
  const validation =
    options.by === 'subject'
      ? subjectsHeldOut(dataset.name, sequences, fraction, rng)
      : shareOfEveryClass(dataset.classNames.length, sequences, fraction, rng);
  return {
    train: trainIds.filter((id) => !validation.has(id)),
    validation: trainIds.filter((id) => validation.has(id)),
  };
}

function shareOfEveryClass(
  classes: number,
  sequences: readonly SkeletonSequence[],
  fraction: number,
  rng: Rng,
): Set<string> {
  const idsByClass = Array.from({ length: classes }, (): string[] => []);
  for (const s of sequences) idsByClass[s.label].push(s.id);
  return new Set(
    idsByClass.flatMap((ids) => rng.shuffle([...ids]).slice(0, Math.round(fraction * ids.length))),
  );
}

function subjectsHeldOut(
  datasetName: string,
  sequences: readonly SkeletonSequence[],
  fraction: number,
  rng: Rng,
): Set<string> {
  const wanted = Math.round(fraction * sequences.length);
  if (wanted === 0) return new Set();
  const idsBySubject = new Map<string, string[]>();
  for (const s of sequences) {
    const ids = idsBySubject.get(s.subject) ?? [];
    ids.push(s.id);
    idsBySubject.set(s.subject, ids);
  }
  const subjects = [...idsBySubject.keys()].sort(compareNatural);
  const held: string[] = [];
  let heldSubjects = 0;
  for (const subject of rng.shuffle(subjects)) {
    if (held.length >= wanted) break;
    held.push(...idsBySubject.get(subject)!);
    heldSubjects += 1;
  }
  if (heldSubjects === subjects.length) {
    throw new SkelpruneError(
      `${datasetName}: a validation share of ${fraction} by subject would hold out all ${subjects.length} subject(s) of the training part; lower the fraction or validate by class`,
    );
  }
  return new Set(held);
}
