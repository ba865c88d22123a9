/**
 * The generic format, for any skeleton source without code (docs/datasets.md has a full example):
 *   <dir>/skeleton.json     the skeleton and the classes (and optionally the protocols)
 *   <dir>/sequences.jsonl   one sequence per line: {"id", "label", "subject", "frames"}
 * `frames` nests [frame][person][joint][x, y, z]; with one person, [frame][joint][x, y, z] also works.
 * Without protocols, a 'cross-subject' protocol (leave one subject out) is derived when there are at
 * least two subjects.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DataFormatError } from '../errors.js';
import { readText, requireDirectory } from './files.js';
import { describeSchemaError, formatPath, preview } from './schema-errors.js';
import { leaveOneSubjectOut } from './splits.js';
import type { DataIssue, Dataset, Fold, SkeletonGraph, SkeletonSequence } from './types.js';

export const SKELETON_FILE = 'skeleton.json';
export const SEQUENCES_FILE = 'sequences.jsonl';
export const DERIVED_PROTOCOL = 'cross-subject';

const jointIndex = z.int().nonnegative();

const skeletonFileSchema = z.strictObject({
  name: z.string().min(1),
  title: z.string().optional(),
  units: z.string().default('unspecified'),
  jointNames: z.array(z.string().min(1)).min(1),
  bones: z.array(z.tuple([jointIndex, jointIndex])),
  persons: z.int().positive().default(1),
  classNames: z.array(z.string().min(1)).min(1),
  centerJoint: jointIndex.default(0),
  centerMode: z.enum(['first-frame', 'every-frame']).default('first-frame'),
  protocols: z
    .record(
      z.string(),
      z.array(
        z.strictObject({
          name: z.string(),
          train: z.array(z.string()).optional(),
          test: z.array(z.string()),
        }),
      ),
    )
    .optional(),
});

/** The contents of skeleton.json as validated (defaults applied). */
export type SkeletonFile = z.output<typeof skeletonFileSchema>;

const sequenceLineSchema = z.strictObject({
  id: z.string().min(1),
  label: z.union([z.string(), z.int().nonnegative()]),
  subject: z.string().min(1),
  frames: z.array(z.unknown()),
});

/** Reads a generic-format directory. Every malformed value fails with file, line, expected and found. */
export async function loadGeneric(dir: string): Promise<Dataset> {
  await requireDirectory(dir, `${SKELETON_FILE} and ${SEQUENCES_FILE}`);
  const skeletonPath = join(dir, SKELETON_FILE);
  const skeleton = parseSkeletonFile(await readText(skeletonPath), skeletonPath);
  const sequencesPath = join(dir, SEQUENCES_FILE);
  const { sequences, empty } = parseSequencesFile(await readText(sequencesPath), sequencesPath, skeleton);
  if (sequences.length === 0) {
    throw new DataFormatError(
      sequencesPath,
      undefined,
      'expected at least one sequence with frames, found none',
    );
  }
  const issues: DataIssue[] = [];
  const protocols = skeleton.protocols
    ? resolveProtocols(skeleton.protocols, sequences, empty, skeletonPath)
    : deriveProtocols(sequences, skeletonPath, issues);
  for (const { id, line } of empty) {
    issues.push({
      file: sequencesPath,
      line,
      message: `sequence "${id}" has no frames, in no protocol: skipped`,
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

function parseJson(text: string, file: string, line: number | undefined): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DataFormatError(
      file,
      line,
      `expected valid JSON, found a syntax error (${(error as Error).message})`,
    );
  }
}

function parseSkeletonFile(text: string, file: string): SkeletonFile {
  const input = parseJson(text, file, undefined);
  const parsed = skeletonFileSchema.safeParse(input);
  if (!parsed.success) throw new DataFormatError(file, undefined, describeSchemaError(parsed.error, input));
  const skeleton = parsed.data;
  const joints = skeleton.jointNames.length;
  const fail = (message: string) => new DataFormatError(file, undefined, message);
  skeleton.bones.forEach((bone, i) => {
    const outside = bone.findIndex((joint) => joint >= joints);
    if (outside !== -1) {
      throw fail(`bones[${i}][${outside}]: expected a joint index 0-${joints - 1}, found ${bone[outside]}`);
    }
  });
  if (skeleton.centerJoint >= joints) {
    throw fail(`centerJoint: expected a joint index 0-${joints - 1}, found ${skeleton.centerJoint}`);
  }
  const duplicate = skeleton.classNames.find((name, i) => skeleton.classNames.indexOf(name) !== i);
  if (duplicate !== undefined) throw fail(`classNames: expected unique names, found "${duplicate}" twice`);
  return skeleton;
}

function graphOf(skeleton: SkeletonFile): SkeletonGraph {
  return {
    jointNames: skeleton.jointNames,
    bones: skeleton.bones,
    persons: skeleton.persons,
    centerJoint: skeleton.centerJoint,
    centerMode: skeleton.centerMode,
  };
}

interface EmptySequence {
  readonly id: string;
  readonly line: number;
}

export function parseSequencesFile(text: string, file: string, skeleton: SkeletonFile) {
  const sequences: SkeletonSequence[] = [];
  const empty: EmptySequence[] = [];
  const lineOfId = new Map<string, number>();
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1;
    if (lines[index].trim() === '') continue;
    const input = parseJson(lines[index], file, line);
    const parsed = sequenceLineSchema.safeParse(input);
    if (!parsed.success) throw new DataFormatError(file, line, describeSchemaError(parsed.error, input));
    const record = parsed.data;
    const previous = lineOfId.get(record.id);
    if (previous !== undefined) {
      throw new DataFormatError(
        file,
        line,
        `id: expected a new id, found "${record.id}" again (first on line ${previous})`,
      );
    }
    lineOfId.set(record.id, line);
    const fail = (message: string) => new DataFormatError(file, line, message);
    const label = resolveLabel(record.label, skeleton.classNames, fail);
    if (record.frames.length === 0) {
      empty.push({ id: record.id, line });
      continue;
    }
    sequences.push({
      id: record.id,
      label,
      subject: record.subject,
      frames: record.frames.length,
      persons: skeleton.persons,
      joints: skeleton.jointNames.length,
      positions: readFrames(record.frames, skeleton.persons, skeleton.jointNames.length, fail),
      source: `${file}:${line}`,
    });
  }
  return { sequences, empty };
}

function resolveLabel(
  label: string | number,
  classNames: readonly string[],
  fail: (m: string) => Error,
): number {
  const index = typeof label === 'number' ? label : classNames.indexOf(label);
  if (index < 0 || index >= classNames.length) {
    const names = classNames.length <= 10 ? ` (${classNames.join(', ')})` : '';
    throw fail(
      `label: expected a class name${names} or an index 0-${classNames.length - 1}, found ${preview(label)}`,
    );
  }
  return index;
}

/** Copies nested [frame][person][joint][xyz] (or [frame][joint][xyz] for one person) arrays into a flat buffer. */
function readFrames(
  frames: unknown[],
  persons: number,
  joints: number,
  fail: (m: string) => Error,
): Float32Array {
  const positions = new Float32Array(frames.length * persons * joints * 3);
  const expectArray = (
    value: unknown,
    length: number,
    path: (string | number)[],
    what: string,
  ): unknown[] => {
    if (Array.isArray(value) && value.length === length) return value;
    const found = Array.isArray(value) ? `${value.length}` : preview(value);
    throw fail(`${formatPath(['frames', ...path])}: expected ${length} ${what}, found ${found}`);
  };
  let k = 0;
  frames.forEach((frame, f) => {
    const jointsOnly =
      persons === 1 && Array.isArray(frame) && Array.isArray(frame[0]) && !Array.isArray(frame[0][0]);
    const people = jointsOnly
      ? [frame]
      : expectArray(frame, persons, [f], persons === 1 ? 'person' : 'persons');
    people.forEach((person, p) => {
      const personPath = jointsOnly ? [f] : [f, p];
      expectArray(person, joints, personPath, 'joints').forEach((joint, j) => {
        const coordinates = expectArray(joint, 3, [...personPath, j], 'coordinates [x, y, z]');
        coordinates.forEach((value, axis) => {
          if (typeof value !== 'number' || !Number.isFinite(value)) {
            throw fail(
              `${formatPath(['frames', ...personPath, j, axis])}: expected a finite number, found ${preview(value)}`,
            );
          }
          positions[k++] = value;
        });
      });
    });
  });
  return positions;
}

function resolveProtocols(
  protocols: NonNullable<SkeletonFile['protocols']>,
  sequences: SkeletonSequence[],
  empty: EmptySequence[],
  file: string,
): Record<string, Fold[]> {
  const known = new Set(sequences.map((s) => s.id));
  const emptyIds = new Set(empty.map((e) => e.id));
  const resolved: Record<string, Fold[]> = {};
  for (const [protocol, folds] of Object.entries(protocols)) {
    resolved[protocol] = folds.map((fold) => {
      const test = new Set(fold.test);
      const train = fold.train ?? sequences.filter((s) => !test.has(s.id)).map((s) => s.id);
      const unusable = [...train, ...fold.test].filter((id) => !known.has(id));
      if (unusable.length > 0) {
        const withoutFrames = unusable.filter((id) => emptyIds.has(id));
        const unknown = unusable.filter((id) => !emptyIds.has(id));
        const problems = [
          withoutFrames.length > 0 ? `sequences with no frames: ${withoutFrames.join(', ')}` : '',
          unknown.length > 0 ? `ids not in ${SEQUENCES_FILE}: ${unknown.join(', ')}` : '',
        ];
        const message = `protocol '${protocol}' fold '${fold.name}' names ${problems.filter(Boolean).join('; ')}`;
        throw new DataFormatError(file, undefined, message);
      }
      return { name: fold.name, train, test: fold.test };
    });
  }
  return resolved;
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
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, SKELETON_FILE), `${JSON.stringify(skeleton, null, 2)}\n`);
  const lines = dataset.sequences.map((sequence) => {
    const head = JSON.stringify({
      id: sequence.id,
      label: dataset.classNames[sequence.label],
      subject: sequence.subject,
    });
    return `${head.slice(0, -1)},"frames":${framesJson(sequence)}}\n`;
  });
  await writeFile(join(dir, SEQUENCES_FILE), lines.join(''));
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
