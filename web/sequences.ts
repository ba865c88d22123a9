/**
 * The sequences the page plays: synthetic sample motions made for the loaded model's skeleton (the
 * generator's defaults, the data `skelprune demo` and `reproduce --quick` train on; identical on every
 * load), the user's dropped SBU, FPHA or generic `.jsonl` files, and clips recorded from the camera.
 */

import { handJointMapping, type ModelInfo, type SkeletonClassifier } from '@skelprune/runtime';
import { classifierInternals } from '@skelprune/runtime/internal';
import { parseSequenceFile } from '../src/data/sequence-parse.js';
import { skeletonTemplate } from '../src/data/skeleton-templates.js';
import { generateSynthetic } from '../src/data/synthetic.js';
import type { SkeletonSequence } from '../src/data/types.js';
import { SkelpruneError } from '../src/errors.js';
import type { Bones } from './viewer.js';

/**
 * How a sequence's axes are drawn: `y-up` as they are (the synthetic generator, Kinect bodies), or
 * `camera` for a camera's frame (x right, y down, z away: FPHA, the webcam), turned upright.
 */
export type Axes = 'y-up' | 'camera';

export interface SequenceEntry {
  sequence: SkeletonSequence;
  title: string;
  /** The true class's name, where the source tells it. */
  trueClass: string | null;
  /** The skeleton's bones, for the view; empty when unknown (the joints are still shown). */
  bones: Bones;
  axes: Axes;
  /** A synthetic sample made for the model (replaced when a model with another skeleton loads). */
  sample: boolean;
  /** A hand in MediaPipe's joint order (a recorded clip): reordered for a model in another order. */
  mediapipeOrder?: boolean;
}

/** What the page can show when no sample motions fit the model's skeleton. */
export interface Samples {
  entries: SequenceEntry[];
  /** Why there are none, or what they are not (classes the model does not know); null when they fit. */
  note: string | null;
}

const normal = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * One synthetic sequence per class for the model's skeleton: the 20-joint body (or any skeleton whose
 * joint names it contains, e.g. SBU's 15 joints, with the model's persons) or the 21-joint hand (in
 * the model's joint order, MediaPipe's or FPHA's). All are performed by subject1, the test subject of
 * fold 1, so a fold-1 synthetic model classifies a subject it was not trained on. None when the
 * skeleton is neither.
 */
export function sampleSequences(info: ModelInfo | null): Samples {
  if (!info) return { entries: synthetic('body', 1, null, null), note: null };
  const hand = info.persons === 1 ? handJointMapping(info.jointNames) : null;
  if (hand) return withNote(synthetic('hand', 1, hand, info), info);
  const body = skeletonTemplate('body').jointNames.map(normal);
  const wanted = info.jointNames.map((name) => body.indexOf(normal(name)));
  if (!wanted.includes(-1) && info.persons <= 4)
    return withNote(synthetic('body', info.persons, wanted, info), info);
  const layout = `${info.persons} person(s) × ${info.joints} joints`;
  return {
    entries: [],
    note: `No sample motions fit this model's skeleton (${layout}): drop a sequence file recorded with it.`,
  };
}

function withNote(entries: SequenceEntry[], info: ModelInfo): Samples {
  const known = entries.some((e) => e.trueClass !== null);
  const note = known
    ? null
    : `The sample motions are synthetic, not classes of this model: its predictions on them mean nothing. ${
        info.joints === 21 ? 'Use the camera, or drop' : 'Drop'
      } a sequence of its own classes.`;
  return { entries, note };
}

/** The generator's sequences with the model's joints (by index into the template), one per class. */
function synthetic(
  kind: 'body' | 'hand',
  persons: number,
  joints: readonly number[] | null,
  info: ModelInfo | null,
): SequenceEntry[] {
  const dataset = generateSynthetic({ sequencesPerClass: 1, joints: kind, persons });
  const pick = joints ?? dataset.graph.jointNames.map((_, j) => j);
  // The template's bones, carried into the model's order; the model's own where it records them.
  const inverse = new Map(pick.map((template, j) => [template, j]));
  const templateBones = dataset.graph.bones
    .filter(([a, b]) => inverse.has(a) && inverse.has(b))
    .map(([a, b]) => [inverse.get(a) ?? 0, inverse.get(b) ?? 0] as const);
  const bones = info && info.bones.length > 0 ? info.bones : templateBones;
  return dataset.sequences.map((sequence) => {
    const name = dataset.classNames[sequence.label];
    const known = info === null || info.classNames.includes(name);
    const motion = kind === 'hand' ? `synthetic hand ${name}` : `synthetic ${name}`;
    return {
      sequence: selectJoints(sequence, pick),
      title: known ? motion : `${motion} (not a class of this model)`,
      trueClass: known ? name : null,
      bones,
      axes: 'y-up',
      sample: true,
    };
  });
}

function selectJoints(sequence: SkeletonSequence, pick: readonly number[]): SkeletonSequence {
  const { frames, persons, joints, positions } = sequence;
  if (pick.length === joints && pick.every((j, i) => j === i)) return sequence;
  const out = new Float32Array(frames * persons * pick.length * 3);
  for (let fp = 0; fp < frames * persons; fp++) {
    pick.forEach((j, k) => {
      out.set(
        positions.subarray((fp * joints + j) * 3, (fp * joints + j) * 3 + 3),
        (fp * pick.length + k) * 3,
      );
    });
  }
  return { ...sequence, joints: pick.length, positions: out };
}

/**
 * The sequences of a dropped file. A generic `.jsonl` is read against the model's skeleton and class
 * names, so it needs a model; SBU and FPHA files carry their own layout. With a model, every sequence
 * must fit its input: the library's error says what was found and what the model expects.
 */
export function readDroppedSequences(
  bytes: Uint8Array,
  name: string,
  predictor: SkeletonClassifier | null,
): SequenceEntry[] {
  if (!predictor) {
    if (name.endsWith('.jsonl')) {
      throw new SkelpruneError(
        `${name}: a generic .jsonl file is read against the model's skeleton: load a .skp model first`,
      );
    }
    return parseSequenceFile(bytes, name, NO_SKELETON).map((sequence) => entryOf(sequence, null));
  }
  const { file, input: modelInput } = classifierInternals(predictor);
  const { input, classNames } = file;
  const skeleton = { ...input, persons: input.preprocessing.persons, classNames };
  const sequences = parseSequenceFile(bytes, name, skeleton);
  // The model's own input check: a wrong persons × joints fails with the library's message.
  modelInput.encode(sequences);
  return sequences.map((sequence) => entryOf(sequence, predictor.info));
}

/** What a frame file is parsed against when no model is loaded (frame files carry their own layout). */
const NO_SKELETON = { jointNames: [], bones: [], persons: 1, classNames: [] };

function entryOf(sequence: SkeletonSequence, info: ModelInfo | null): SequenceEntry {
  // Hands (FPHA files, camera recordings) come in a camera's frame.
  const hand = sequence.persons === 1 && sequence.joints === 21;
  return {
    sequence,
    title: sequence.id,
    trueClass: info && sequence.label >= 0 ? info.classNames[sequence.label] : null,
    bones: info?.bones ?? [],
    axes: hand ? 'camera' : 'y-up',
    sample: false,
  };
}

/** Positions as the view draws them: a camera's frame turned upright (y up, z towards the viewer). */
export function viewPositions(positions: Float32Array, axes: Axes): Float32Array {
  if (axes === 'y-up') return positions;
  const out = new Float32Array(positions.length);
  for (let k = 0; k < positions.length; k += 3) {
    out[k] = positions[k];
    out[k + 1] = -positions[k + 1];
    out[k + 2] = -positions[k + 2];
  }
  return out;
}

/** Whether a sequence has the persons and joints the model takes. */
export function fits(entry: SequenceEntry, info: ModelInfo): boolean {
  return entry.sequence.persons === info.persons && entry.sequence.joints === info.joints;
}
