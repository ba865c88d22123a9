/**
 * The generic format's two files parsed from their text (docs/datasets.md): skeleton.json and
 * sequences.jsonl. Pure (no file system), so a browser reads a dropped sequences.jsonl with the same
 * checks and messages as `loadGeneric`.
 */
import { z } from 'zod';
import { DataFormatError } from '../errors.js';
import { describeSchemaError, formatPath, preview, safeParseFirst } from './schema-errors.js';
import { parseJsonText } from './text.js';
import type { SkeletonGraph, SkeletonSequence } from './types.js';

const jointIndex = z.int().nonnegative();

export const skeletonFileSchema = z.strictObject({
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

/** What the lengths of skeleton.json's lists are checked against before their elements are. */
export interface SkeletonFileLimits {
  /**
   * How many sequences there can be (e.g. the lines of sequences.jsonl): no fold's `train` or
   * `test` lists more ids than that.
   */
  readonly sequences?: number;
}

/**
 * The schema with list lengths bounded by the data: at most joints² bones (a bone joins two distinct
 * joints, both directions counted), at most `limits.sequences` ids per fold list. Lengths are checked
 * before elements, so a huge list fails in constant time with one message.
 */
function boundedSkeletonSchema(input: unknown, limits: SkeletonFileLimits) {
  const jointNames = (input as { jointNames?: unknown } | null)?.jointNames;
  const joints = Array.isArray(jointNames) ? jointNames.length : 0;
  const sequences = limits.sequences ?? Number.MAX_SAFE_INTEGER;
  const ids = z
    .array(z.string())
    .max(sequences, `expected at most ${sequences} ids (one per sequence, ${sequences} in all)`);
  return skeletonFileSchema.extend({
    bones: z
      .array(z.tuple([jointIndex, jointIndex]))
      .max(joints * joints, `expected at most ${joints * joints} bones (joints², ${joints} joints)`),
    protocols: z
      .record(z.string(), z.array(z.strictObject({ name: z.string(), train: ids.optional(), test: ids })))
      .optional(),
  });
}

export function parseSkeletonFile(text: string, file: string, limits: SkeletonFileLimits = {}): SkeletonFile {
  const input = parseJsonText(text, file);
  const parsed = safeParseFirst(boundedSkeletonSchema(input, limits), input);
  if (!parsed.success) throw new DataFormatError(file, undefined, describeSchemaError(parsed.error, input));
  const skeleton = parsed.data;
  const joints = skeleton.jointNames.length;
  const fail = (message: string) => new DataFormatError(file, undefined, message);
  skeleton.bones.forEach((bone, i) => {
    const outside = bone.findIndex((joint) => joint >= joints);
    if (outside !== -1) {
      throw fail(`bones[${i}][${outside}]: expected a joint index 0-${joints - 1}, found ${bone[outside]}`);
    }
    if (bone[0] === bone[1]) {
      throw fail(
        `bones[${i}]: expected two different joints, found [${bone[0]}, ${bone[1]}] (a joint joined to itself)`,
      );
    }
  });
  if (skeleton.centerJoint >= joints) {
    throw fail(`centerJoint: expected a joint index 0-${joints - 1}, found ${skeleton.centerJoint}`);
  }
  const duplicate = skeleton.classNames.find((name, i) => skeleton.classNames.indexOf(name) !== i);
  if (duplicate !== undefined) throw fail(`classNames: expected unique names, found "${duplicate}" twice`);
  return skeleton;
}

export function graphOf(skeleton: SkeletonFile): SkeletonGraph {
  return {
    jointNames: skeleton.jointNames,
    bones: skeleton.bones,
    persons: skeleton.persons,
    centerJoint: skeleton.centerJoint,
    centerMode: skeleton.centerMode,
  };
}

export interface EmptySequence {
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
    const input = parseJsonText(lines[index], file, line);
    const parsed = safeParseFirst(sequenceLineSchema, input);
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

/**
 * Copies nested [frame][person][joint][xyz] (or [frame][joint][xyz] for one person) arrays into a flat
 * buffer. Every coordinate must stay finite as a float32. The buffer grows with the values found, so
 * a skeleton claiming huge `persons` or joint counts fails on the frames before anything is allocated.
 */
function readFrames(
  frames: unknown[],
  persons: number,
  joints: number,
  fail: (m: string) => Error,
): Float32Array {
  const values: number[] = [];
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
          if (typeof value !== 'number' || !Number.isFinite(Math.fround(value))) {
            const where = formatPath(['frames', ...personPath, j, axis]);
            const range = typeof value === 'number' ? ' within float32 range (±3.4e38)' : '';
            throw fail(`${where}: expected a finite number${range}, found ${preview(value)}`);
          }
          values.push(value);
        });
      });
    });
  });
  return Float32Array.from(values);
}
