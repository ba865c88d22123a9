/**
 * What the deployment API accepts as a sequence: nested arrays as apps hold them (frames × joints × 3
 * for one person, frames × persons × joints × 3 for several), or a packed sequence with flat
 * positions (the toolkit's `SkeletonSequence` is one). Everything is checked here, so a malformed
 * input is a clear error instead of a wrong prediction.
 */
import { SkelpruneError } from '../errors.js';
import type { SkeletonSequence } from './types.js';

/** One frame: joints × [x, y, z], or persons × joints × [x, y, z]. */
export type NestedFrame = readonly (readonly number[])[] | readonly (readonly (readonly number[])[])[];

/** Positions packed frame after frame: ((frame·persons + person)·joints + joint)·3 + axis. */
export interface PackedSequence {
  /**
   * frames · persons · joints · 3 finite coordinates, index ((frame·persons + person)·joints +
   * joint)·3 + axis (a Float32Array is used as is).
   */
  positions: ArrayLike<number>;
  /** Frames in `positions` (at least 1). */
  frames: number;
  /** Persons in every frame (default: the model's; another count is an error). */
  persons?: number;
  /** Joints of each person (default: the model's; another count is an error). */
  joints?: number;
  /** A name for error messages (default: `sequence i`, its index in the batch). */
  id?: string;
  /** Where it came from (a file), for error messages. */
  source?: string;
}

/**
 * One sequence as `predict` accepts it: its frames as nested arrays (see {@link NestedFrame}; at
 * least one), or a {@link PackedSequence} such as the toolkit's `SkeletonSequence`.
 */
export type SequenceInput = readonly NestedFrame[] | PackedSequence;

interface Expected {
  persons: number;
  joints: number;
  id: string;
}

/** A checked SkeletonSequence of the model's shape from any accepted input. */
export function toSequence(input: SequenceInput, expected: Expected): SkeletonSequence {
  if (Array.isArray(input)) return fromFrames(input as readonly NestedFrame[], expected);
  const packed = input as PackedSequence;
  if (typeof packed !== 'object' || packed === null || !('positions' in packed)) {
    throw new SkelpruneError(`${expected.id}: expected an array of frames or { positions, frames }`);
  }
  const id = packed.id ?? expected.id;
  const persons = packed.persons ?? expected.persons;
  const joints = packed.joints ?? expected.joints;
  if (persons !== expected.persons || joints !== expected.joints) {
    const where = packed.source && packed.source !== id ? ` (${packed.source})` : '';
    throw new SkelpruneError(
      `sequence ${id}${where} has ${persons} person(s) × ${joints} joints; the model expects ${expected.persons} × ${expected.joints}`,
    );
  }
  const frameSize = persons * joints * 3;
  if (
    !Number.isInteger(packed.frames) ||
    packed.frames < 1 ||
    packed.positions.length !== packed.frames * frameSize
  ) {
    throw new SkelpruneError(
      `${id}: ${packed.frames} frame(s) of ${persons} × ${joints} joints need ${Number(packed.frames) * frameSize} coordinates, found ${packed.positions.length}`,
    );
  }
  const positions =
    packed.positions instanceof Float32Array ? packed.positions : Float32Array.from(packed.positions);
  checkFinite(positions, id, frameSize);
  return {
    id,
    label: -1,
    subject: '',
    frames: packed.frames,
    persons,
    joints,
    positions,
    source: packed.source ?? id,
  };
}

function fromFrames(frames: readonly NestedFrame[], expected: Expected): SkeletonSequence {
  const { persons, joints, id } = expected;
  if (frames.length === 0) throw new SkelpruneError(`${id}: has no frames`);
  const frameSize = persons * joints * 3;
  const positions = new Float32Array(frames.length * frameSize);
  frames.forEach((frame, f) => {
    writeFrame(frame, positions, f * frameSize, expected, `${id}, frame ${f}`);
  });
  checkFinite(positions, id, frameSize);
  return { id, label: -1, subject: '', frames: frames.length, persons, joints, positions, source: id };
}

/** Writes one nested frame (joints × 3, or persons × joints × 3) into `out` at `offset`. */
export function writeFrame(
  frame: NestedFrame | ArrayLike<number>,
  out: Float32Array,
  offset: number,
  expected: Omit<Expected, 'id'>,
  where: string,
): void {
  const { persons, joints } = expected;
  // Flat coordinates: a typed array, or a plain array of numbers.
  if (!Array.isArray(frame) || typeof frame[0] === 'number') {
    const flat = frame as ArrayLike<number>;
    if (flat.length !== persons * joints * 3) {
      throw new SkelpruneError(
        `${where}: expected ${persons * joints * 3} coordinates, found ${flat.length}`,
      );
    }
    for (let k = 0; k < flat.length; k++) out[offset + k] = flat[k];
    return;
  }
  const nested = frame as readonly unknown[];
  const multi = nested.length > 0 && Array.isArray(nested[0]) && Array.isArray((nested[0] as unknown[])[0]);
  const people = (multi ? nested : [nested]) as readonly (readonly (readonly number[])[])[];
  if (people.length !== persons) {
    throw new SkelpruneError(`${where}: has ${people.length} person(s); the model expects ${persons}`);
  }
  people.forEach((person, p) => {
    if (person.length !== joints) {
      throw new SkelpruneError(`${where}: has ${person.length} joints; the model expects ${joints}`);
    }
    person.forEach((point, j) => {
      if (!Array.isArray(point) || point.length !== 3) {
        throw new SkelpruneError(`${where}, joint ${j}: expected [x, y, z]`);
      }
      out.set(point, offset + (p * joints + j) * 3);
    });
  });
}

function checkFinite(positions: Float32Array, id: string, frameSize: number): void {
  const bad = positions.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new SkelpruneError(
      `${id}, frame ${Math.floor(bad / frameSize)}: coordinate ${bad % frameSize} is not a finite float32 number`,
    );
  }
}
