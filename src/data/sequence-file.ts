/**
 * Reading sequences to classify, whatever the source: a dataset folder (SBU, FPHA or generic), one
 * SBU skeleton file, one FPHA skeleton.txt, a generic `sequences.jsonl` or one sequence's `.json`
 * read against the model's own skeleton. Labels, where the source has them, come along; they are not
 * needed.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SkelpruneError } from '../errors.js';
import { listDirectories, readBytes } from './files.js';
import { FPHA_SPLIT_FILE } from './fpha.js';
import { SKELETON_FILE } from './generic.js';
import { type DatasetKind, loadDataset } from './load.js';
import { type ExpectedSkeleton, parseSequenceFile } from './sequence-parse.js';
import type { Dataset, SkeletonSequence } from './types.js';

async function folderKind(dir: string): Promise<DatasetKind> {
  if (existsSync(join(dir, SKELETON_FILE))) return 'generic';
  if (existsSync(join(dir, FPHA_SPLIT_FILE))) return 'fpha';
  const entries = await listDirectories(dir);
  if (entries.some((name) => /^s\d\ds\d\d$/.test(name))) return 'sbu';
  throw new SkelpruneError(
    `${dir}: not a dataset folder (expected ${SKELETON_FILE}, ${FPHA_SPLIT_FILE} or SBU set folders such as s01s02/)`,
  );
}

/** Sequences read from a file or folder; a folder's dataset comes along for its protocols. */
export interface SequenceSource {
  readonly sequences: readonly SkeletonSequence[];
  /** The dataset, when the path was a dataset folder. */
  readonly dataset?: Dataset;
}

export async function readSequences(path: string, skeleton: ExpectedSkeleton): Promise<SequenceSource> {
  if (!existsSync(path)) throw new SkelpruneError(`${path}: no such file or directory`);
  if (statSync(path).isDirectory()) {
    const kind = await folderKind(path);
    const dataset = await loadDataset({ kind, path } as Parameters<typeof loadDataset>[0]);
    return { sequences: dataset.sequences, dataset };
  }
  return { sequences: parseSequenceFile(await readBytes(path), path, skeleton) };
}
