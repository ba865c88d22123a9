/**
 * The generic format's two files parsed from their text (docs/datasets.md): skeleton.json and
 * sequences.jsonl. Pure (no file system), so a browser reads a dropped sequences.jsonl with the same
 * checks and messages as `loadGeneric`.
 */
import { z } from 'zod';
import { DataFormatError } from '../errors.js';
import { fillMissingJoints } from './missing-joints.js';
import { describeSchemaError, formatPath, preview, safeParseFirst } from './schema-errors.js';
import { parseJsonText } from './text.js';
import type { SkeletonGraph, SkeletonSequence } from './types.js';

const jointIndex = z.int().nonnegative();

/** A fold by sequence ids, or (with `by`) by the values of a sequence attribute such as `view`. */
const foldSchema = z.strictObject({
  name: z.string(),
  by: z.string().min(1).optional(),
  train: z.array(z.string()).optional(),
  test: z.array(z.string()),
});

/** One fold per distinct value of a sequence attribute (`subject` or one of `attributes`). */
const leaveOneOutSchema = z.strictObject({ leaveOneOut: z.string().min(1) });

/** The coordinates every joint starts with; further channels (a confidence...) are read and dropped. */
const POSITION_CHANNELS = ['x', 'y', 'z'] as const;

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
  channels: z
    .array(z.string().min(1))
    .min(3)
    .refine((names) => POSITION_CHANNELS.every((axis, i) => names[i] === axis), {
      message: 'expected the channels to start with "x", "y", "z"',
    })
    .default([...POSITION_CHANNELS]),
  protocols: z.record(z.string(), z.union([z.array(foldSchema), leaveOneOutSchema])).optional(),
});

/** The contents of skeleton.json as validated (defaults applied). */
export type SkeletonFile = z.output<typeof skeletonFileSchema>;

/** A protocol as written in skeleton.json: folds, or `{ "leaveOneOut": attribute }`. */
export type ProtocolSpec = NonNullable<SkeletonFile['protocols']>[string];

/** The subject of a sequence line that names none. */
export const UNSPECIFIED_SUBJECT = 'unspecified';

const sequenceLineSchema = z.strictObject({
  id: z.string().min(1),
  label: z.union([z.string(), z.int().nonnegative()]).optional(),
  subject: z.string().min(1).default(UNSPECIFIED_SUBJECT),
  attributes: z.record(z.string(), z.string()).optional(),
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
  const fold = foldSchema.extend({ train: ids.optional(), test: ids });
  return skeletonFileSchema.extend({
    bones: z
      .array(z.tuple([jointIndex, jointIndex]))
      .max(joints * joints, `expected at most ${joints * joints} bones (joints², ${joints} joints)`),
    protocols: z.record(z.string(), z.union([z.array(fold), leaveOneOutSchema])).optional(),
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

/** A sequence whose missing joints (`null`) were filled in, for the dataset's issues. */
export interface FilledSequence {
  readonly id: string;
  readonly line: number;
  /** Joints (one joint in one frame of one person) given as `null`. */
  readonly missing: number;
  /** Joints missing in every frame, filled from a neighbour along the bones (or the origin). */
  readonly neverSeen: number;
}

/** How `parseSequencesFile` treats the lines' `label`. */
export interface SequencesFileOptions {
  /**
   * `required` for a dataset (training needs every label); `optional` for sequences to classify,
   * where a line without a label gets the label -1.
   */
  readonly labels: 'required' | 'optional';
}

/** What `parseSequencesFile` read. */
export interface SequencesFile {
  /** The sequences with frames, in file order. */
  readonly sequences: SkeletonSequence[];
  /** Lines whose `frames` is empty. */
  readonly empty: EmptySequence[];
  /** Sequences with missing joints, filled in. */
  readonly filled: FilledSequence[];
  /** Every line's `subject` and `attributes`, by id, for protocols defined by attribute. */
  readonly attributes: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

export function parseSequencesFile(
  text: string,
  file: string,
  skeleton: SkeletonFile,
  options: SequencesFileOptions = { labels: 'required' },
): SequencesFile {
  const sequences: SkeletonSequence[] = [];
  const empty: EmptySequence[] = [];
  const filled: FilledSequence[] = [];
  const attributes = new Map<string, Record<string, string>>();
  const lineOfId = new Map<string, number>();
  const shape = {
    persons: skeleton.persons,
    joints: skeleton.jointNames.length,
    channels: skeleton.channels,
  };
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
    attributes.set(record.id, { ...record.attributes, subject: record.subject });
    const fail = (message: string) => new DataFormatError(file, line, message);
    const label = resolveLabel(record.label, skeleton.classNames, options.labels, fail);
    if (record.frames.length === 0) {
      empty.push({ id: record.id, line });
      continue;
    }
    const positions = readFrames(record.frames, shape, fail);
    const fill = fillMissingJoints(positions, record.frames.length, shape.persons, skeleton.bones);
    if (fill.missing > 0) filled.push({ id: record.id, line, ...fill });
    sequences.push({
      id: record.id,
      label,
      subject: record.subject,
      frames: record.frames.length,
      persons: skeleton.persons,
      joints: skeleton.jointNames.length,
      positions,
      source: `${file}:${line}`,
    });
  }
  return { sequences, empty, filled, attributes };
}

function resolveLabel(
  label: string | number | undefined,
  classNames: readonly string[],
  labels: SequencesFileOptions['labels'],
  fail: (m: string) => Error,
): number {
  if (label === undefined) {
    if (labels === 'optional') return -1;
    throw fail('label: expected the class of the sequence (a class name or index): training needs it');
  }
  const index = typeof label === 'number' ? label : classNames.indexOf(label);
  if (index < 0 || index >= classNames.length) {
    const names = classNames.length <= 10 ? ` (${classNames.join(', ')})` : '';
    throw fail(
      `label: expected a class name${names} or an index 0-${classNames.length - 1}, found ${preview(label)}`,
    );
  }
  return index;
}

/** What each joint of each frame holds, from skeleton.json. */
interface FrameShape {
  readonly persons: number;
  readonly joints: number;
  /** Per-joint channel names: x, y, z, then any extra ones (read, checked, dropped). */
  readonly channels: readonly string[];
}

/**
 * Copies nested [frame][person][joint][channels] (or [frame][joint][channels] for one person) arrays
 * into a flat x, y, z buffer; a joint given as `null` (missing) becomes NaN for `fillMissingJoints`.
 * Every value must stay finite as a float32. The buffer grows with the values found, so a skeleton
 * claiming huge `persons` or joint counts fails on the frames before anything is allocated.
 */
function readFrames(frames: unknown[], shape: FrameShape, fail: (m: string) => Error): Float32Array {
  const { persons, joints, channels } = shape;
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
  const jointWhat =
    channels.length === 3
      ? 'coordinates [x, y, z] (or null for a missing joint)'
      : `values [${channels.join(', ')}] (or null for a missing joint)`;
  frames.forEach((frame, f) => {
    const jointsOnly = persons === 1 && isJointList(frame);
    const people = jointsOnly
      ? [frame]
      : expectArray(frame, persons, [f], persons === 1 ? 'person' : 'persons');
    people.forEach((person, p) => {
      const personPath = jointsOnly ? [f] : [f, p];
      expectArray(person, joints, personPath, 'joints').forEach((joint, j) => {
        if (joint === null) {
          values.push(Number.NaN, Number.NaN, Number.NaN);
          return;
        }
        const jointValues = expectArray(joint, channels.length, [...personPath, j], jointWhat);
        jointValues.forEach((value, channel) => {
          if (typeof value !== 'number' || !Number.isFinite(Math.fround(value))) {
            const where = formatPath(['frames', ...personPath, j, channel]);
            const range = typeof value === 'number' ? ' within float32 range (±3.4e38)' : '';
            throw fail(`${where}: expected a finite number${range}, found ${preview(value)}`);
          }
          if (channel < POSITION_CHANNELS.length) values.push(value);
        });
      });
    });
  });
  return Float32Array.from(values);
}

/** Whether a one-person frame lists joints directly ([joint][xyz]) rather than persons first. */
function isJointList(frame: unknown): boolean {
  if (!Array.isArray(frame)) return false;
  const first = frame.find((joint) => joint !== null);
  return first === undefined ? frame.length !== 1 : Array.isArray(first) && !Array.isArray(first[0]);
}
