/**
 * SBU Kinect Interaction v2.0 (clean): 282 two-person interactions, 8 classes, 21 two-actor sets,
 * the official 5-fold cross-validation over sets. Reads either layout, per set folder:
 *   official  <root>/sAAsBB/0C/00K/skeleton_pos.txt
 *   flat      <root>/sAAsBB/sAAsBB-C-K.txt
 * Each file is CSV, one frame per line: frame number, then x y z of 15 joints of person A (left),
 * then of person B (right), normalized. By default the coordinates are denormalized to the official
 * Kinect real-world millimetres (X = 1280 − 2560x, Y = 960 − 1920y, Z = 1280z), so bone lengths and
 * distances mean something; `units: 'normalized'` keeps the raw values.
 */
import { join } from 'node:path';
import { SkelpruneError } from '../errors.js';
import { brokenLink, isFile, listDirectory, mapWithLimit, readFrameFile, requireDirectory } from './files.js';
import { type FrameFileFormat, SBU_FRAME_FORMAT } from './frame-file.js';
import type { DataIssue, Dataset, Fold, SkeletonGraph, SkeletonSequence } from './types.js';

/** Folder 0C holds class C−1. Names follow datasets.md §1c (mapping B, the one the data supports). */
export const SBU_CLASS_NAMES = [
  'approaching',
  'departing',
  'kicking',
  'pushing',
  'shaking hands',
  'hugging',
  'exchanging objects',
  'punching',
] as const;

export const SBU_JOINT_NAMES = [
  'HEAD',
  'NECK',
  'TORSO',
  'LEFT_SHOULDER',
  'LEFT_ELBOW',
  'LEFT_HAND',
  'RIGHT_SHOULDER',
  'RIGHT_ELBOW',
  'RIGHT_HAND',
  'LEFT_HIP',
  'LEFT_KNEE',
  'LEFT_FOOT',
  'RIGHT_HIP',
  'RIGHT_KNEE',
  'RIGHT_FOOT',
] as const;

/** The 14-edge kinematic tree of one person (datasets.md §1a). */
const SBU_BONES: [number, number][] = [
  [0, 1],
  [1, 2],
  [1, 3],
  [3, 4],
  [4, 5],
  [1, 6],
  [6, 7],
  [7, 8],
  [2, 9],
  [9, 10],
  [10, 11],
  [2, 12],
  [12, 13],
  [13, 14],
];

/** The official folds of the SBU README, as set names (datasets.md §1b). */
export const SBU_FOLDS: readonly (readonly string[])[] = [
  ['s01s02', 's03s04', 's05s02', 's06s04'],
  ['s02s03', 's02s07', 's03s05', 's05s03'],
  ['s01s03', 's01s07', 's07s01', 's07s03'],
  ['s02s01', 's02s06', 's03s02', 's03s06'],
  ['s04s02', 's04s03', 's04s06', 's06s02', 's06s03'],
];

export const SBU_PROTOCOL = '5-fold';

/** Options of the SBU reader. */
export interface SbuOptions {
  /** `mm` (default): official denormalization to millimetres; `normalized`: the values as stored. */
  readonly units?: 'mm' | 'normalized';
}

const PERSONS = SBU_FRAME_FORMAT.persons;
const JOINTS = SBU_JOINT_NAMES.length;
const SET_NAME = /^s\d\ds\d\d$/;
const CLASS_FOLDER = /^0([1-8])$/;
const SEQUENCE_FOLDER = /^(\d{3})$/;
const OFFICIAL_FILE = 'skeleton_pos.txt';

interface SbuFile {
  readonly id: string;
  readonly set: string;
  readonly label: number;
  readonly path: string;
}

export async function loadSbu(root: string, options: SbuOptions = {}): Promise<Dataset> {
  await requireDirectory(root, 'SBU set folders such as s01s02/');
  const issues: DataIssue[] = [];
  const files = await findSbuFiles(root, issues);
  const format: FrameFileFormat =
    options.units === 'normalized' ? { ...SBU_FRAME_FORMAT, axisTransform: undefined } : SBU_FRAME_FORMAT;
  const read = await mapWithLimit(files, 32, async (file) => ({
    file,
    data: await readFrameFile(file.path, format),
  }));
  const sequences: SkeletonSequence[] = [];
  for (const { file, data } of read) {
    if (data.issue) issues.push(data.issue);
    if (data.frames === 0) {
      issues.push({ file: file.path, message: 'empty file: skipped' });
      continue;
    }
    sequences.push({
      id: file.id,
      label: file.label,
      subject: file.set,
      frames: data.frames,
      persons: PERSONS,
      joints: JOINTS,
      positions: data.positions,
      source: file.path,
    });
  }
  return {
    name: 'sbu',
    title: 'SBU Kinect Interaction v2.0',
    units: options.units === 'normalized' ? 'normalized (x, y in [0, 1], z in [0, 7.8125])' : 'mm',
    classNames: SBU_CLASS_NAMES,
    graph: sbuGraph(),
    sequences,
    protocols: { [SBU_PROTOCOL]: officialFolds(root, sequences, issues) },
    issues,
  };
}

function sbuGraph(): SkeletonGraph {
  return {
    jointNames: SBU_JOINT_NAMES,
    bones: SBU_BONES,
    persons: PERSONS,
    centerJoint: SBU_JOINT_NAMES.indexOf('TORSO'),
    centerMode: 'first-frame',
  };
}

/** Every sequence file under `root`, in either layout, sorted by id; odd entries become issues. */
async function findSbuFiles(root: string, issues: DataIssue[]): Promise<SbuFile[]> {
  const files: SbuFile[] = [];
  const listing = await listDirectory(root);
  reportBroken(root, listing.broken, issues);
  for (const name of listing.directories) {
    if (SET_NAME.test(name)) files.push(...(await findSetFiles(join(root, name), name, issues)));
    else issues.push({ file: join(root, name), message: 'not an SBU set folder (sAAsBB): ignored' });
  }
  if (files.length === 0) {
    throw new SkelpruneError(
      `${root}: no SBU sequence files (expected sAAsBB/sAAsBB-C-K.txt or sAAsBB/0C/00K/skeleton_pos.txt)`,
    );
  }
  files.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  files.forEach((file, i) => {
    if (i > 0 && files[i - 1].id === file.id) {
      throw new SkelpruneError(
        `SBU sequence ${file.id} is present twice: ${files[i - 1].path} and ${file.path}`,
      );
    }
  });
  return files;
}

async function findSetFiles(dir: string, set: string, issues: DataIssue[]): Promise<SbuFile[]> {
  const flatName = new RegExp(`^${set}-([1-8])-(\\d+)\\.txt$`);
  const files: SbuFile[] = [];
  const listing = await listDirectory(dir);
  reportBroken(dir, listing.broken, issues);
  for (const name of listing.files) {
    const match = flatName.exec(name);
    if (match) files.push(sbuFile(set, Number(match[1]), Number(match[2]), join(dir, name)));
    else issues.push({ file: join(dir, name), message: `not named ${set}-<class>-<seq>.txt: ignored` });
  }
  for (const classFolder of listing.directories) {
    const classMatch = CLASS_FOLDER.exec(classFolder);
    if (!classMatch) {
      issues.push({ file: join(dir, classFolder), message: 'not a class folder (01…08): ignored' });
      continue;
    }
    const sequences = await listDirectory(join(dir, classFolder));
    reportBroken(join(dir, classFolder), sequences.broken, issues);
    for (const sequenceFolder of sequences.directories) {
      const path = join(dir, classFolder, sequenceFolder, OFFICIAL_FILE);
      const sequenceMatch = SEQUENCE_FOLDER.exec(sequenceFolder);
      if (!sequenceMatch) {
        issues.push({
          file: join(dir, classFolder, sequenceFolder),
          message: 'not a sequence folder (001…): ignored',
        });
      } else if (!(await isFile(path))) {
        const broken = await brokenLink(path);
        const message = broken
          ? `${broken}: sequence folder skipped`
          : `no ${OFFICIAL_FILE}: sequence folder skipped`;
        issues.push({ file: path, message });
      } else {
        files.push(sbuFile(set, Number(classMatch[1]), Number(sequenceMatch[1]), path));
      }
    }
  }
  return files;
}

/** A symbolic link that leads nowhere is skipped, never silently: one issue per link, naming it. */
function reportBroken(dir: string, broken: readonly { name: string; reason: string }[], issues: DataIssue[]) {
  for (const { name, reason } of broken)
    issues.push({ file: join(dir, name), message: `${reason}: skipped` });
}

function sbuFile(set: string, classNumber: number, sequenceNumber: number, path: string): SbuFile {
  const id = `${set}/${String(classNumber).padStart(2, '0')}/${String(sequenceNumber).padStart(3, '0')}`;
  return { id, set, label: classNumber - 1, path };
}

function officialFolds(root: string, sequences: SkeletonSequence[], issues: DataIssue[]): Fold[] {
  const officialSets = new Set(SBU_FOLDS.flat());
  const presentSets = new Set(sequences.map((s) => s.subject));
  const missing = [...officialSets].filter((set) => !presentSets.has(set)).sort();
  if (missing.length > 0) {
    issues.push({
      file: root,
      message: `official sets with no sequences: ${missing.join(', ')}; their folds are smaller`,
    });
  }
  for (const set of [...presentSets].filter((s) => !officialSets.has(s))) {
    issues.push({
      file: join(root, set),
      message: 'set is in no official fold: its sequences are in no fold',
    });
  }
  const inFolds = sequences.filter((s) => officialSets.has(s.subject));
  return SBU_FOLDS.map((sets, i) => ({
    name: `fold${i + 1}`,
    train: inFolds.filter((s) => !sets.includes(s.subject)).map((s) => s.id),
    test: inFolds.filter((s) => sets.includes(s.subject)).map((s) => s.id),
  }));
}
