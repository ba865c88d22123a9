/**
 * Checks of the data itself, whatever the reader: frames with no skeleton (all zeros, as trackers
 * write when they lose the body), sequences too short to show motion, and the same recording under
 * two ids, which leaks test data into training when a fold puts the copies on both sides. Each finding
 * is a `DataIssue`; nothing is changed or dropped.
 */
import { createHash } from 'node:crypto';
import { listIds } from './schema-errors.js';
import type { DataIssue, Dataset, SkeletonSequence } from './types.js';

/** Sequences shorter than this show no motion to classify. */
export const MIN_FRAMES = 2;

/** Every quality issue of `dataset`, in sequence order, then the leaks by protocol fold. */
export function qualityIssues(dataset: Dataset): DataIssue[] {
  const issues: DataIssue[] = [];
  for (const sequence of dataset.sequences) {
    const issue = (message: string) => issues.push({ ...sourceOf(sequence), message });
    const zero = zeroFrames(sequence);
    if (zero.length > 0) {
      issue(
        `sequence "${sequence.id}": ${zero.length} of ${sequence.frames} frames are all zeros (${frameRanges(zero)}; no skeleton tracked?): mark missing joints as null instead`,
      );
    }
    if (sequence.frames < MIN_FRAMES) {
      issue(`sequence "${sequence.id}" has ${sequence.frames} frame: too short to show motion`);
    }
  }
  const copies = duplicateGroups(dataset.sequences);
  for (const ids of copies) {
    const first = dataset.sequences.find((s) => s.id === ids[0])!;
    issues.push({
      ...sourceOf(first),
      message: `identical recordings under different ids: ${ids.join(', ')}`,
    });
  }
  issues.push(...leaks(dataset, copies));
  return issues;
}

/** `source` is `file` or `file:line`; an issue keeps them apart. */
function sourceOf(sequence: SkeletonSequence): Pick<DataIssue, 'file' | 'line'> {
  const match = /^(.*):(\d+)$/.exec(sequence.source);
  return match ? { file: match[1], line: Number(match[2]) } : { file: sequence.source };
}

function zeroFrames({ positions, frames }: SkeletonSequence): number[] {
  const stride = positions.length / frames;
  const zero: number[] = [];
  for (let f = 0; f < frames; f++) {
    if (positions.subarray(f * stride, (f + 1) * stride).every((v) => v === 0)) zero.push(f);
  }
  return zero;
}

/** `0-3, 7, 9-12` for frames 0, 1, 2, 3, 7, 9, 10, 11, 12 (at most 5 ranges, then a count). */
function frameRanges(frames: readonly number[]): string {
  const ranges: string[] = [];
  for (let i = 0; i < frames.length; ) {
    let j = i;
    while (j + 1 < frames.length && frames[j + 1] === frames[j] + 1) j++;
    ranges.push(j === i ? `${frames[i]}` : `${frames[i]}-${frames[j]}`);
    i = j + 1;
  }
  const SHOWN = 5;
  const more = ranges.length > SHOWN ? ` and ${ranges.length - SHOWN} more ranges` : '';
  return `frame${frames.length === 1 ? '' : 's'} ${ranges.slice(0, SHOWN).join(', ')}${more}`;
}

/** Groups (two or more ids) of sequences with byte-identical positions. */
function duplicateGroups(sequences: readonly SkeletonSequence[]): string[][] {
  const byDigest = new Map<string, string[]>();
  for (const { id, positions } of sequences) {
    const digest = createHash('sha256')
      .update(new Uint8Array(positions.buffer, positions.byteOffset, positions.byteLength))
      .digest('hex');
    byDigest.set(digest, [...(byDigest.get(digest) ?? []), id]);
  }
  return [...byDigest.values()].filter((ids) => ids.length > 1);
}

/** Folds with copies of one recording on both sides: tested on what they trained on. */
function leaks(dataset: Dataset, copies: readonly string[][]): DataIssue[] {
  if (copies.length === 0) return [];
  const groupOf = new Map(copies.flatMap((ids, g) => ids.map((id): [string, number] => [id, g])));
  const issues: DataIssue[] = [];
  for (const [protocol, folds] of Object.entries(dataset.protocols)) {
    for (const fold of folds) {
      const trainGroups = new Set(fold.train.flatMap((id) => groupOf.get(id) ?? []));
      const leaked = fold.test.filter((id) => trainGroups.has(groupOf.get(id) ?? -1));
      if (leaked.length === 0) continue;
      issues.push({
        file: dataset.sequences[0].source.replace(/:\d+$/, ''),
        message: `LEAK: protocol '${protocol}' fold '${fold.name}' tests ${leaked.length} sequence(s) whose identical copies are in its training part: ${listIds(leaked)}`,
      });
    }
  }
  return issues;
}
