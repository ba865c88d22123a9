/**
 * The generic format, for any skeleton source without code (docs/datasets.md has a full example):
 *   <dir>/skeleton.json     the skeleton and the classes (and optionally the protocols)
 *   <dir>/sequences.jsonl   one sequence per line: {"id", "label", "subject", "frames"}
 * `frames` nests [frame][person][joint][x, y, z]; with one person, [frame][joint][x, y, z] also works.
 * Without protocols, a 'cross-subject' protocol (leave one subject out) is derived when there are at
 * least two subjects.
 */
import { join } from 'node:path';
import type { z } from 'zod';
import { DataFormatError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { readText, requireDirectory } from './files.js';
import {
  type EmptySequence,
  type FilledSequence,
  graphOf,
  type ProtocolSpec,
  parseSequencesFile,
  parseSkeletonFile,
  type SkeletonFile,
  type skeletonFileSchema,
} from './generic-format.js';
import { listIds, short } from './schema-errors.js';
import { compareNatural, leaveOneSubjectOut } from './splits.js';
import type { DataIssue, Dataset, Fold, SkeletonSequence } from './types.js';

export const SKELETON_FILE = 'skeleton.json';
export const SEQUENCES_FILE = 'sequences.jsonl';
export const DERIVED_PROTOCOL = 'cross-subject';

/** Reads a generic-format directory. Every malformed value fails with file, line, expected and found. */
export async function loadGeneric(dir: string): Promise<Dataset> {
  await requireDirectory(dir, `${SKELETON_FILE} and ${SEQUENCES_FILE}`);
  const skeletonPath = join(dir, SKELETON_FILE);
  const skeletonText = await readText(skeletonPath);
  const sequencesPath = join(dir, SEQUENCES_FILE);
  const sequencesText = await readText(sequencesPath);
  // No fold can list more ids than there are sequences (lines): longer lists fail before their ids are read.
  const skeleton = parseSkeletonFile(skeletonText, skeletonPath, { sequences: countLines(sequencesText) });
  const { sequences, empty, filled, attributes } = parseSequencesFile(sequencesText, sequencesPath, skeleton);
  if (sequences.length === 0) {
    throw new DataFormatError(
      sequencesPath,
      undefined,
      'expected at least one sequence with frames, found none',
    );
  }
  const issues: DataIssue[] = [];
  const protocols = skeleton.protocols
    ? resolveProtocols(skeleton.protocols, { sequences, empty, attributes }, skeletonPath)
    : deriveProtocols(sequences, skeletonPath, issues);
  for (const { id, line } of empty) {
    issues.push({
      file: sequencesPath,
      line,
      message: `sequence "${id}" has no frames, in no protocol: skipped`,
    });
  }
  for (const fill of filled)
    issues.push({ file: sequencesPath, line: fill.line, message: filledMessage(fill) });
  if (skeleton.channels.length > 3) {
    issues.push({
      file: skeletonPath,
      message: `channels ${skeleton.channels.slice(3).join(', ')} after x, y, z: read and checked, not used (the model sees positions only)`,
    });
  }
  return {
    name: skeleton.name,
    title: skeleton.title ?? skeleton.name,
    units: skeleton.units,
    classNames: skeleton.classNames,
    graph: graphOf(skeleton),
    sequences,
    protocols,
    issues,
  };
}

function filledMessage({ id, missing, neverSeen }: FilledSequence): string {
  const never =
    neverSeen > 0
      ? `; ${neverSeen} joint(s) missing in every frame took a neighbour's position along the bones`
      : '';
  return `sequence "${id}": ${missing} missing joint position(s) (null) filled by interpolation over time${never}`;
}

/** Lines that are not blank (an upper bound on the sequences of a sequences.jsonl). */
function countLines(text: string): number {
  let count = 0;
  for (const line of text.split('\n')) if (line.trim() !== '') count++;
  return count;
}

/**
 * A fold's lists must be sets, and disjoint: an id listed twice would weigh twice in training or in
 * the test score, and an id in both parts would be tested on what the model was trained on.
 */
function checkFold(
  fold: { name: string; train?: readonly string[]; test: readonly string[] },
  where: string,
  fail: (message: string) => Error,
): void {
  const test = new Set<string>();
  for (const id of fold.test) {
    if (test.has(id)) throw fail(`${where} lists id '${short(id)}' twice in 'test'`);
    test.add(id);
  }
  if (fold.train === undefined) return;
  const train = new Set<string>();
  for (const id of fold.train) {
    if (train.has(id)) throw fail(`${where} lists id '${short(id)}' twice in 'train'`);
    train.add(id);
  }
  const leaked = fold.test.filter((id) => train.has(id));
  if (leaked.length > 0) {
    throw fail(
      `${where} has ${leaked.length} id(s) in both 'train' and 'test' (the model would be tested on sequences it trained on): ${listIds(leaked)}`,
    );
  }
}

/** What protocols are resolved against: the sequences read, the empty ones, every line's attributes. */
interface ProtocolSources {
  readonly sequences: readonly SkeletonSequence[];
  readonly empty: readonly EmptySequence[];
  readonly attributes: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

function resolveProtocols(
  protocols: NonNullable<SkeletonFile['protocols']>,
  sources: ProtocolSources,
  file: string,
): Record<string, Fold[]> {
  const known = new Set(sources.sequences.map((s) => s.id));
  const emptyIds = new Set(sources.empty.map((e) => e.id));
  const resolved: Record<string, Fold[]> = {};
  const fail = (message: string) => new DataFormatError(file, undefined, message);
  for (const [protocol, spec] of Object.entries(protocols)) {
    const names = new Set<string>();
    resolved[protocol] = foldsOf(protocol, spec, sources, fail).map((fold) => {
      const where = `protocol '${short(protocol)}' fold '${short(fold.name)}'`;
      if (names.has(fold.name))
        throw fail(`protocol '${short(protocol)}' has two folds named '${short(fold.name)}'`);
      names.add(fold.name);
      checkFold(fold, where, fail);
      const test = new Set(fold.test);
      const train = fold.train ?? sources.sequences.filter((s) => !test.has(s.id)).map((s) => s.id);
      const unusable = [...train, ...fold.test].filter((id) => !known.has(id));
      if (unusable.length > 0) {
        const withoutFrames = unusable.filter((id) => emptyIds.has(id));
        const unknown = unusable.filter((id) => !emptyIds.has(id));
        const problems = [
          withoutFrames.length > 0 ? `sequences with no frames: ${listIds(withoutFrames)}` : '',
          unknown.length > 0 ? `ids not in ${SEQUENCES_FILE}: ${listIds(unknown)}` : '',
        ];
        throw fail(`${where} names ${problems.filter(Boolean).join('; ')}`);
      }
      return { name: fold.name, train, test: fold.test };
    });
  }
  return resolved;
}

/** A fold as listed: ids, with `train` left out meaning every other sequence. */
type ListedFold = { name: string; train?: readonly string[]; test: readonly string[] };

/**
 * A protocol's folds as id lists: listed ids as they are; a fold `by` an attribute selects the
 * sequences (with frames) whose attribute takes one of the listed values; `leaveOneOut` makes one
 * fold per value of the attribute, in natural order.
 */
function foldsOf(
  protocol: string,
  spec: ProtocolSpec,
  { sequences, attributes }: ProtocolSources,
  fail: (message: string) => Error,
): ListedFold[] {
  const attributeOf = (id: string, attribute: string) => attributes.get(id)?.[attribute];
  const requireAttribute = (attribute: string, where: string) => {
    const lacking = sequences.filter((s) => attributeOf(s.id, attribute) === undefined).map((s) => s.id);
    if (lacking.length > 0) {
      throw fail(
        `${where} uses attribute '${short(attribute)}', which these sequences lack: ${listIds(lacking)} (give each line "attributes": {"${short(attribute)}": "..."})`,
      );
    }
  };
  const select = (attribute: string, values: readonly string[]) => {
    const wanted = new Set(values);
    return sequences.filter((s) => wanted.has(attributeOf(s.id, attribute)!)).map((s) => s.id);
  };
  if (!Array.isArray(spec)) {
    const attribute = spec.leaveOneOut;
    requireAttribute(attribute, `protocol '${short(protocol)}'`);
    const values = [...new Set(sequences.map((s) => attributeOf(s.id, attribute)!))].sort(compareNatural);
    if (values.length < 2) {
      throw fail(
        `protocol '${short(protocol)}': leaving one '${short(attribute)}' out needs at least two values, found ${values.length}`,
      );
    }
    return values.map((value) => ({ name: value, test: select(attribute, [value]) }));
  }
  return spec.map((fold) => {
    if (fold.by === undefined) return fold;
    const where = `protocol '${short(protocol)}' fold '${short(fold.name)}'`;
    requireAttribute(fold.by, where);
    const test = select(fold.by, fold.test);
    if (test.length === 0) throw fail(`${where}: no sequence has ${short(fold.by)} ${listIds(fold.test)}`);
    return { name: fold.name, train: fold.train && select(fold.by, fold.train), test };
  });
}

function deriveProtocols(
  sequences: SkeletonSequence[],
  file: string,
  issues: DataIssue[],
): Record<string, Fold[]> {
  if (new Set(sequences.map((s) => s.subject)).size >= 2) {
    return { [DERIVED_PROTOCOL]: leaveOneSubjectOut(sequences) };
  }
  issues.push({
    file,
    message: 'no protocols given and fewer than two subjects: the dataset has no protocol',
  });
  return {};
}

/**
 * Writes `dataset` in the generic format (skeleton.json + sequences.jsonl), protocols included, so
 * that `loadGeneric(dir)` gives back the same dataset. Useful for converting other sources.
 */
export async function writeGenericDataset(dataset: Dataset, dir: string): Promise<void> {
  const { graph } = dataset;
  const skeleton: z.input<typeof skeletonFileSchema> = {
    name: dataset.name,
    title: dataset.title,
    units: dataset.units,
    jointNames: [...graph.jointNames],
    bones: graph.bones.map(([a, b]) => [a, b]),
    persons: graph.persons,
    classNames: [...dataset.classNames],
    centerJoint: graph.centerJoint,
    centerMode: graph.centerMode,
    protocols: Object.fromEntries(
      Object.entries(dataset.protocols).map(([name, folds]) => [
        name,
        folds.map((fold) => ({ name: fold.name, train: [...fold.train], test: [...fold.test] })),
      ]),
    ),
  };
  await writeFileAtomic(join(dir, SKELETON_FILE), `${JSON.stringify(skeleton, null, 2)}\n`);
  const lines = dataset.sequences.map((sequence) => {
    const head = JSON.stringify({
      id: sequence.id,
      label: dataset.classNames[sequence.label],
      subject: sequence.subject,
    });
    return `${head.slice(0, -1)},"frames":${framesJson(sequence)}}\n`;
  });
  await writeFileAtomic(join(dir, SEQUENCES_FILE), lines.join(''));
}

/** Nested JSON arrays of the positions, persons level left out for one person. */
function framesJson(sequence: SkeletonSequence): string {
  const { positions, persons, joints } = sequence;
  const point = (offset: number) =>
    `[${float32Text(positions[offset])},${float32Text(positions[offset + 1])},${float32Text(positions[offset + 2])}]`;
  const person = (offset: number) =>
    `[${Array.from({ length: joints }, (_, j) => point(offset + j * 3)).join(',')}]`;
  const frame = (offset: number) =>
    persons === 1
      ? person(offset)
      : `[${Array.from({ length: persons }, (_, p) => person(offset + p * joints * 3)).join(',')}]`;
  const stride = persons * joints * 3;
  return `[${Array.from({ length: sequence.frames }, (_, f) => frame(f * stride)).join(',')}]`;
}

/** The shortest decimal text that reads back as exactly this float32 value (at most 9 digits). */
function float32Text(value: number): string {
  for (let digits = 6; digits < 9; digits++) {
    const rounded = Number(value.toPrecision(digits));
    if (Math.fround(rounded) === value) return String(rounded);
  }
  return String(Number(value.toPrecision(9)));
}
