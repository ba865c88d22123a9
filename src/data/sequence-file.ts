/**
 * Reading sequences to classify, whatever the source: a dataset folder (SBU, FPHA or generic), one
 * SBU skeleton file, one FPHA skeleton.txt, or a generic `sequences.jsonl` read against the model's
 * own skeleton. Labels, where the source has them, come along; they are not needed.
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DataFormatError, SkelpruneError } from '../errors.js';
import { FPHA_FRAME_FORMAT, FPHA_SPLIT_FILE } from './fpha.js';
import { type FrameFileFormat, readFrameFile } from './frame-file.js';
import { parseSequencesFile, SKELETON_FILE } from './generic.js';
import { type DatasetKind, loadDataset } from './load.js';
import { SBU_FRAME_FORMAT } from './sbu.js';
import type { SkeletonSequence } from './types.js';

/** What the reader knows about the skeleton the sequences must have (the model's). */
export interface ExpectedSkeleton {
  jointNames: readonly string[];
  bones: readonly (readonly [number, number])[];
  persons: number;
  classNames: readonly string[];
}

async function folderKind(dir: string): Promise<DatasetKind> {
  if (existsSync(join(dir, SKELETON_FILE))) return 'generic';
  if (existsSync(join(dir, FPHA_SPLIT_FILE))) return 'fpha';
  const entries = await readdir(dir);
  if (entries.some((name) => /^s\d\ds\d\d$/.test(name))) return 'sbu';
  throw new SkelpruneError(
    `${dir}: not a dataset folder (expected ${SKELETON_FILE}, ${FPHA_SPLIT_FILE} or SBU set folders such as s01s02/)`,
  );
}

/** SBU or FPHA, from the separator and column count of the first line. */
async function frameFormat(path: string): Promise<FrameFileFormat> {
  const text = await readFile(path, 'utf8');
  const first = text.split('\n', 1)[0].trim();
  const commaFields = first.split(',').length;
  const spaceFields = first.split(/\s+/).length;
  if (commaFields === 1 + SBU_FRAME_FORMAT.persons * SBU_FRAME_FORMAT.joints * 3) return SBU_FRAME_FORMAT;
  if (spaceFields === 1 + FPHA_FRAME_FORMAT.joints * 3) return FPHA_FRAME_FORMAT;
  throw new DataFormatError(
    path,
    1,
    `expected an SBU line (91 comma-separated numbers) or an FPHA line (64 space-separated numbers), found ${Math.max(commaFields, spaceFields)} fields`,
  );
}

export async function readSequences(path: string, skeleton: ExpectedSkeleton): Promise<SkeletonSequence[]> {
  if (!existsSync(path)) throw new SkelpruneError(`${path}: no such file or directory`);
  if (statSync(path).isDirectory()) {
    const kind = await folderKind(path);
    return [...(await loadDataset({ kind, path } as Parameters<typeof loadDataset>[0])).sequences];
  }
  if (path.endsWith('.jsonl')) {
    const generic = {
      name: 'input',
      units: 'unspecified',
      jointNames: [...skeleton.jointNames],
      bones: skeleton.bones.map(([a, b]): [number, number] => [a, b]),
      persons: skeleton.persons,
      classNames: [...skeleton.classNames],
      centerJoint: 0,
      centerMode: 'first-frame' as const,
    };
    return parseSequencesFile(await readFile(path, 'utf8'), path, generic).sequences;
  }
  const format = await frameFormat(path);
  const { frames, positions } = await readFrameFile(path, format);
  if (frames === 0) throw new DataFormatError(path, undefined, 'expected frames, found an empty file');
  return [
    {
      id: basename(path),
      label: -1,
      subject: '',
      frames,
      persons: format.persons,
      joints: format.joints,
      positions,
      source: path,
    },
  ];
}
