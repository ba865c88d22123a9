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

export interface ValidationSplitOptions {
  /** Share of each class moved to validation, rounded per class; default 0.1. */
  readonly fraction?: number;
  readonly seed: number;
}

export interface ValidationSplit {
  readonly train: string[];
  readonly validation: string[];
}

/**
 * Moves `round(fraction · n_c)` randomly chosen sequences of every class c out of `trainIds` into a
 * validation set, for model selection without touching the test part. Deterministic from the seed;
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
  const labels = new Map(dataset.sequences.map((s) => [s.id, s.label]));
  const idsByClass = dataset.classNames.map((): string[] => []);
  for (const id of trainIds) {
    const label = labels.get(id);
    if (label === undefined) throw new SkelpruneError(`${dataset.name} has no sequence '${id}'`);
    idsByClass[label].push(id);
  }
  const rng = new Rng(options.seed);
  const validation = new Set<string>();
  for (const ids of idsByClass) {
    const picked = rng.shuffle([...ids]).slice(0, Math.round(fraction * ids.length));
    for (const id of picked) validation.add(id);
  }
  return {
    train: trainIds.filter((id) => !validation.has(id)),
    validation: trainIds.filter((id) => validation.has(id)),
  };
}
