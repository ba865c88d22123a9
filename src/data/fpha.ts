/**
 * FPHA / F-PHAB, the First-Person Hand Action Benchmark: 1,175 sequences of one hand (21 joints, mm,
 * depth-camera frame), 45 classes, 6 subjects. Layout:
 *   <root>/data_split_action_recognition.txt                        the official 1:1 split
 *   <root>/Hand_pose_annotation_v1/Subject_k/<action>/<seq>/skeleton.txt
 * Each skeleton.txt has one frame per line: frame number, then x y z of the 21 joints.
 * Protocols: '1:1' (the split file: 600 train / 575 test) and 'cross-person' (leave one subject out,
 * 6 folds over the same 1,175 sequences). Annotation files the split does not name are reported as
 * issues and skipped; a split entry without its file is an error.
 */

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FPHA_HAND_JOINTS } from '@skelprune/runtime';
import { DataFormatError } from '../errors.js';
import { mapWithLimit, readFrameFile, readText, requireDirectory } from './files.js';
import { FPHA_FRAME_FORMAT } from './frame-file.js';
import { preview } from './schema-errors.js';
import { leaveOneSubjectOut } from './splits.js';
import type { DataIssue, Dataset, SkeletonGraph, SkeletonSequence } from './types.js';

/** Class names by label; they are also the action folder names (datasets.md §2c). */
export const FPHA_CLASS_NAMES = [
  'open_juice_bottle',
  'close_juice_bottle',
  'pour_juice_bottle',
  'open_peanut_butter',
  'close_peanut_butter',
  'prick',
  'sprinkle',
  'scoop_spoon',
  'put_sugar',
  'stir',
  'open_milk',
  'close_milk',
  'pour_milk',
  'drink_mug',
  'put_tea_bag',
  'put_salt',
  'open_liquid_soap',
  'close_liquid_soap',
  'pour_liquid_soap',
  'wash_sponge',
  'flip_sponge',
  'scratch_sponge',
  'squeeze_sponge',
  'open_soda_can',
  'use_flash',
  'write',
  'tear_paper',
  'squeeze_paper',
  'open_letter',
  'take_letter_from_enveloppe',
  'read_letter',
  'flip_pages',
  'use_calculator',
  'light_candle',
  'charge_cell_phone',
  'unfold_glasses',
  'clean_glasses',
  'open_wallet',
  'give_coin',
  'receive_coin',
  'give_card',
  'pour_wine',
  'toast_wine',
  'handshake',
  'high_five',
] as const;

/** Joint order of the files: wrist, the five MCPs, then PIP, DIP, TIP of each finger (T, I, M, R, P). */
export const FPHA_JOINT_NAMES = FPHA_HAND_JOINTS;

/** The 20 bones, a tree rooted at the wrist, in file order (datasets.md §2a). */
const FPHA_BONES: [number, number][] = [
  [0, 1],
  [1, 6],
  [6, 7],
  [7, 8],
  [0, 2],
  [2, 9],
  [9, 10],
  [10, 11],
  [0, 3],
  [3, 12],
  [12, 13],
  [13, 14],
  [0, 4],
  [4, 15],
  [15, 16],
  [16, 17],
  [0, 5],
  [5, 18],
  [18, 19],
  [19, 20],
];

export const FPHA_SPLIT_FILE = 'data_split_action_recognition.txt';
export const FPHA_ANNOTATION_DIR = 'Hand_pose_annotation_v1';
const SKELETON_FILE = 'skeleton.txt';
const SPLIT_PATH = /^(Subject_\d+)\/([A-Za-z_]+)\/(\d+)$/;
const SECTION_HEADER = /^(Training|Test)\s+(\d+)$/;
/** How many missing paths an error names before summarizing the rest. */
const MISSING_LISTED = 20;

interface SplitEntry {
  readonly id: string;
  readonly subject: string;
  readonly label: number;
  readonly part: 'train' | 'test';
  readonly line: number;
}

export async function loadFpha(root: string): Promise<Dataset> {
  await requireDirectory(root, `${FPHA_SPLIT_FILE} and ${FPHA_ANNOTATION_DIR}/`);
  const splitFile = join(root, FPHA_SPLIT_FILE);
  const annotationDir = join(root, FPHA_ANNOTATION_DIR);
  const entries = parseSplitFile(await readText(splitFile), splitFile);
  await requireDirectory(annotationDir, 'Subject_<k>/<action>/<seq>/skeleton.txt');
  const issues: DataIssue[] = [];
  const onDisk = await findSkeletonFiles(annotationDir, issues);
  requireSplitFiles(entries, onDisk, splitFile, annotationDir);
  issues.push(...(await unreferencedFiles(entries, onDisk, annotationDir)));

  const read = await mapWithLimit(entries, 32, async (entry) => {
    const source = join(annotationDir, entry.id, SKELETON_FILE);
    return { entry, source, data: await readFrameFile(source, FPHA_FRAME_FORMAT) };
  });
  const sequences = read.map(({ entry, source, data }): SkeletonSequence => {
    if (data.frames === 0) {
      throw new DataFormatError(splitFile, entry.line, `${entry.id} is in the split but ${source} is empty`);
    }
    if (data.issue) issues.push(data.issue);
    const { persons, joints } = FPHA_FRAME_FORMAT;
    const { id, label, subject } = entry;
    return { id, label, subject, frames: data.frames, persons, joints, positions: data.positions, source };
  });
  const part = (name: SplitEntry['part']) => entries.filter((e) => e.part === name).map((e) => e.id);
  return {
    name: 'fpha',
    title: 'First-Person Hand Action Benchmark (F-PHAB)',
    units: 'mm',
    classNames: FPHA_CLASS_NAMES,
    graph: fphaGraph(),
    sequences,
    protocols: {
      '1:1': [{ name: '1:1', train: part('train'), test: part('test') }],
      'cross-person': leaveOneSubjectOut(sequences),
    },
    issues,
  };
}

function fphaGraph(): SkeletonGraph {
  return {
    jointNames: FPHA_JOINT_NAMES,
    bones: FPHA_BONES,
    persons: 1,
    centerJoint: 0,
    centerMode: 'every-frame',
  };
}

/**
 * Parses the split file: a `Training <n>` header, n lines `<Subject_k>/<action>/<seq> <label>`, a
 * `Test <n>` header, n more lines. Requires both sections, in that order, each once (a file cut
 * short after the training part fails), and checks the counts, the labels against the action folder
 * names and that no sequence is listed twice.
 */
function parseSplitFile(text: string, file: string): SplitEntry[] {
  const entries: SplitEntry[] = [];
  const firstLineOf = new Map<string, number>();
  let section: { part: SplitEntry['part']; announced: number; line: number; found: number } | undefined;
  const closeSection = () => {
    if (section && section.found !== section.announced) {
      const { line, announced, found } = section;
      throw new DataFormatError(file, line, `header announces ${announced} entries, found ${found}`);
    }
  };
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1;
    const content = lines[index].trim();
    if (content === '') continue;
    const header = SECTION_HEADER.exec(content);
    if (header) {
      closeSection();
      const part = header[1] === 'Training' ? 'train' : 'test';
      // Exactly the two sections, Training then Test.
      const expected = section === undefined ? 'train' : section.part === 'train' ? 'test' : undefined;
      if (part !== expected) {
        const found = `found a second '${header[1]}' header`;
        const message =
          expected === 'train'
            ? `expected a 'Training <count>' header first, found ${preview(content)}`
            : expected === 'test'
              ? `expected a 'Test <count>' header after the Training section, ${found}`
              : `expected nothing after the Test section, ${found}`;
        throw new DataFormatError(file, line, message);
      }
      section = { part, announced: Number(header[2]), line, found: 0 };
      continue;
    }
    if (!section) {
      throw new DataFormatError(
        file,
        line,
        `expected a 'Training <count>' header, found ${preview(content)}`,
      );
    }
    const entry = parseSplitEntry(content, file, line, section.part);
    const previous = firstLineOf.get(entry.id);
    if (previous !== undefined) {
      throw new DataFormatError(file, line, `${entry.id} is listed twice (first on line ${previous})`);
    }
    firstLineOf.set(entry.id, line);
    entries.push(entry);
    section.found++;
  }
  closeSection();
  if (section === undefined) {
    throw new DataFormatError(
      file,
      undefined,
      "expected 'Training <n>' and 'Test <n>' sections, found neither",
    );
  }
  if (section.part === 'train') {
    throw new DataFormatError(
      file,
      undefined,
      "expected a 'Test <n>' section after the Training section, found none (is the file cut short?)",
    );
  }
  if (entries.length === 0) {
    throw new DataFormatError(
      file,
      undefined,
      "expected 'Training <n>' and 'Test <n>' sections, found no entries",
    );
  }
  return entries;
}

function parseSplitEntry(content: string, file: string, line: number, part: SplitEntry['part']): SplitEntry {
  const fields = content.split(/\s+/);
  const path = SPLIT_PATH.exec(fields[0]);
  if (fields.length !== 2 || !path) {
    const found = preview(content);
    throw new DataFormatError(file, line, `expected '<Subject_k>/<action>/<seq> <label>', found ${found}`);
  }
  const label = Number(fields[1]);
  if (!/^\d+$/.test(fields[1]) || label >= FPHA_CLASS_NAMES.length) {
    const expected = `a class label 0-${FPHA_CLASS_NAMES.length - 1}`;
    throw new DataFormatError(file, line, `expected ${expected}, found ${preview(fields[1])}`);
  }
  if (path[2] !== FPHA_CLASS_NAMES[label]) {
    const message = `label ${label} is '${FPHA_CLASS_NAMES[label]}' but the path's action is '${path[2]}'`;
    throw new DataFormatError(file, line, message);
  }
  return { id: fields[0], subject: path[1], label, part, line };
}

/** Sequence ids (`Subject_k/<action>/<seq>`) of every skeleton.txt under the annotation folder. */
async function findSkeletonFiles(annotationDir: string, issues: DataIssue[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const relative of await readdir(annotationDir, { recursive: true })) {
    const parts = relative.split(/[\\/]/);
    if (parts[parts.length - 1] !== SKELETON_FILE) continue;
    const id = parts.slice(0, -1).join('/');
    if (parts.length === 4 && SPLIT_PATH.test(id)) found.add(id);
    else
      issues.push({
        file: join(annotationDir, relative),
        message: 'not at Subject_k/<action>/<seq>/: ignored',
      });
  }
  return found;
}

function requireSplitFiles(
  entries: SplitEntry[],
  onDisk: Set<string>,
  splitFile: string,
  annotationDir: string,
) {
  const missing = entries
    .filter((e) => !onDisk.has(e.id))
    .map((e) => join(annotationDir, e.id, SKELETON_FILE));
  if (missing.length === 0) return;
  const listed = missing.slice(0, MISSING_LISTED).join(', ');
  const rest = missing.length > MISSING_LISTED ? ` and ${missing.length - MISSING_LISTED} more` : '';
  const count = `${missing.length} split ${missing.length === 1 ? 'entry has' : 'entries have'}`;
  throw new DataFormatError(splitFile, undefined, `${count} no skeleton file: ${listed}${rest}`);
}

async function unreferencedFiles(entries: SplitEntry[], onDisk: Set<string>, annotationDir: string) {
  const inSplit = new Set(entries.map((e) => e.id));
  const extra = [...onDisk].filter((id) => !inSplit.has(id)).sort();
  return Promise.all(
    extra.map(async (id): Promise<DataIssue> => {
      const file = join(annotationDir, id, SKELETON_FILE);
      const { size } = await stat(file);
      return {
        file,
        message: size === 0 ? 'empty file, not in the split: skipped' : 'not in the split: skipped',
      };
    }),
  );
}
