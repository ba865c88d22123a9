/**
 * A synthetic skeleton dataset, deterministic from its seed: the built-in default for the demo and for
 * fast tests. Classes come in pairs sharing one motion pattern, one played forwards and one backwards,
 * so they visit the same poses and only the order of the frames tells them apart.
 *
 * A motion pattern bends a few bones of each person (chosen per pattern) about their own axes with
 * angle θ(u) = gain · (A·(2u − 1) + B·sin(2πfu + φ)) over the sequence's normalized time u ∈ [0, 1],
 * carrying the limb below the bone along (forward kinematics). Subjects differ in body size, motion
 * gain and viewing angle; sequences differ in length, time window, position and sensor noise.
 */
import { z } from 'zod';
import { Rng } from '../engine/random.js';
import { ConfigError } from '../errors.js';
import { apply, IDENTITY, type Matrix3, multiply, rotation, type Vec3 } from './geometry.js';
import { describeSchemaError, safeParseFirst } from './schema-errors.js';
import { type SkeletonTemplate, skeletonTemplate } from './skeleton-templates.js';
import { leaveOneSubjectOut } from './splits.js';
import type { Dataset, SkeletonSequence } from './types.js';

export const syntheticOptionsSchema = z
  .strictObject({
    /** Classes; consecutive pairs share a motion pattern, played forwards then backwards. Default 8. */
    classes: z.int().min(2).default(8),
    /** Persons per sequence (1 to 4), each moving by a pattern of its own. Default 1. */
    persons: z.int().min(1).max(4).default(1),
    /**
     * A named template (`body`: 20 joints, `hand`: 21) or a joint count for a generated star of chains.
     * Default `body`.
     */
    joints: z.union([z.enum(['body', 'hand']), z.int().min(2)]).default('body'),
    /** Fewest frames of a sequence (lengths are uniform in minFrames..maxFrames). Default 16. */
    minFrames: z.int().min(2).default(16),
    /** Most frames of a sequence; at least `minFrames`. Default 40. */
    maxFrames: z.int().min(2).default(40),
    /** Sequences generated per class, dealt to the subjects in turn. Default 40. */
    sequencesPerClass: z.int().min(1).default(40),
    /**
     * Subjects, differing in body size, motion gain and viewing angle; the protocol leaves one out
     * per fold. Default 4.
     */
    subjects: z.int().min(1).default(4),
    /**
     * Standard deviation of the Gaussian sensor noise, as a fraction of the mean bone length. Default 0.02.
     */
    noise: z.number().min(0).default(0.02),
    /** Bones each motion pattern moves, per person. Default 3. */
    activeBones: z.int().min(1).default(3),
    /** Seed of the generator: the same options always give the same dataset. Default 1. */
    seed: z.int().default(1),
  })
  .refine((o) => o.minFrames <= o.maxFrames, {
    message: 'minFrames must not exceed maxFrames',
    path: ['minFrames'],
  });

/**
 * Options of the synthetic generator (classes, persons, joints, frames, sequences, subjects, noise,
 * seed); all optional.
 *
 * @interface
 */
export type SyntheticOptions = z.input<typeof syntheticOptionsSchema>;
type ResolvedOptions = z.output<typeof syntheticOptionsSchema>;

export const SYNTHETIC_PROTOCOL = 'cross-subject';

/** A synthetic skeleton dataset, deterministic from its seed, with a cross-subject protocol. */
export function generateSynthetic(options: SyntheticOptions = {}): Dataset {
  const parsed = safeParseFirst(syntheticOptionsSchema, options);
  if (!parsed.success) {
    throw new ConfigError(`synthetic options: ${describeSchemaError(parsed.error, options)}`);
  }
  const settings = parsed.data;
  const skeleton = skeletonTemplate(settings.joints);
  const rng = new Rng(settings.seed);
  const bones = skeleton.parents.length - 1;
  if (settings.activeBones > bones) {
    throw new ConfigError(
      `synthetic options: activeBones: at most ${bones} for this skeleton, found ${settings.activeBones}`,
    );
  }
  const patterns = Array.from({ length: Math.ceil(settings.classes / 2) }, (_, i) =>
    Array.from({ length: settings.persons }, (_, p) =>
      randomPattern(rng.fork(`pattern${i}/person${p}`), skeleton, settings.activeBones),
    ),
  );
  const subjects = Array.from({ length: settings.subjects }, (_, s) =>
    randomSubject(rng.fork(`subject${s}`)),
  );
  const classNames = Array.from({ length: settings.classes }, (_, c) => className(c));
  const sequenceRng = rng.fork('sequences');
  const sequences: SkeletonSequence[] = [];
  for (let label = 0; label < settings.classes; label++) {
    for (let k = 0; k < settings.sequencesPerClass; k++) {
      const subject = k % settings.subjects;
      const sequence = {
        id: `subject${subject + 1}/${classNames[label]}/${Math.floor(k / settings.subjects) + 1}`,
        label,
        subject: `subject${subject + 1}`,
        pattern: patterns[Math.floor(label / 2)],
        reversed: label % 2 === 1,
      };
      sequences.push(renderSequence(sequence, subjects[subject], skeleton, settings, sequenceRng));
    }
  }
  return {
    name: 'synthetic',
    title: `Synthetic motions (seed ${settings.seed})`,
    units: 'mm',
    classNames,
    graph: {
      jointNames: skeleton.jointNames,
      bones: skeleton.parents.slice(1).map((parent, i) => [parent, i + 1] as const),
      persons: settings.persons,
      centerJoint: skeleton.centerJoint,
      centerMode: skeleton.centerMode,
    },
    sequences,
    protocols: { [SYNTHETIC_PROTOCOL]: leaveOneSubjectOut(sequences) },
    issues: [],
  };
}

function className(label: number): string {
  const pattern = Math.floor(label / 2) + 1;
  return label % 2 === 0 ? `motion${pattern}` : `motion${pattern}-reversed`;
}

/** The bend of the bone into a joint: about `axis`, by θ(u) (see the top of this file). */
interface BoneMotion {
  readonly axis: Vec3;
  readonly ramp: number;
  readonly swing: number;
  readonly frequency: number;
  readonly phase: number;
}
/** How one person moves in one pattern: per joint, the motion of the bone into it (most have none). */
type Pattern = (BoneMotion | undefined)[];

interface Subject {
  readonly size: number;
  readonly gain: number;
  readonly yaw: number;
}

function randomPattern(rng: Rng, skeleton: SkeletonTemplate, activeBones: number): Pattern {
  const pattern: Pattern = skeleton.parents.map(() => undefined);
  for (const bone of rng.permutation(skeleton.parents.length - 1).slice(0, activeBones)) {
    pattern[bone + 1] = {
      axis: randomUnitVector(rng),
      ramp: (rng.uniform() < 0.5 ? -1 : 1) * rng.range(0.3, 0.7),
      swing: rng.range(0.3, 0.8),
      frequency: rng.range(0.5, 2),
      phase: rng.range(0, 2 * Math.PI),
    };
  }
  return pattern;
}

function randomSubject(rng: Rng): Subject {
  return { size: rng.range(0.85, 1.15), gain: rng.range(0.8, 1.2), yaw: rng.range(-0.35, 0.35) };
}

function randomUnitVector(rng: Rng): Vec3 {
  const v: Vec3 = [rng.normal(), rng.normal(), rng.normal()];
  const norm = Math.hypot(...v) || 1;
  return [v[0] / norm, v[1] / norm, v[2] / norm];
}

interface SequencePlan {
  readonly id: string;
  readonly label: number;
  readonly subject: string;
  readonly pattern: Pattern[];
  readonly reversed: boolean;
}

function renderSequence(
  plan: SequencePlan,
  subject: Subject,
  skeleton: SkeletonTemplate,
  settings: ResolvedOptions,
  rng: Rng,
): SkeletonSequence {
  const joints = skeleton.parents.length;
  const { persons } = settings;
  const frames = settings.minFrames + rng.int(settings.maxFrames - settings.minFrames + 1);
  const span = rng.range(0.8, 1);
  const start = rng.range(0, 1 - span);
  const gain = subject.gain * rng.range(0.9, 1.1);
  const phaseShift = rng.range(-0.3, 0.3);
  const boneLength = meanBoneLength(skeleton) * subject.size;
  const origin: Vec3 = [rng.range(-2, 2) * boneLength, rng.range(-0.5, 0.5) * boneLength, 10 * boneLength];
  const view = rotation([0, 1, 0], subject.yaw);
  const positions = new Float32Array(frames * persons * joints * 3);
  const pose = new Float64Array(joints * 3);
  for (let f = 0; f < frames; f++) {
    const progress = start + (span * f) / (frames - 1);
    const u = plan.reversed ? 1 - progress : progress;
    for (let p = 0; p < persons; p++) {
      posePerson(skeleton, plan.pattern[p], u, gain, phaseShift, pose);
      const personOrigin: Vec3 = [origin[0] + 6 * boneLength * p, origin[1], origin[2]];
      const out = (f * persons + p) * joints * 3;
      for (let j = 0; j < joints; j++) {
        const local = apply(view, [pose[j * 3], pose[j * 3 + 1], pose[j * 3 + 2]]);
        for (let axis = 0; axis < 3; axis++) {
          const noise = rng.normal(0, settings.noise * boneLength);
          positions[out + j * 3 + axis] = personOrigin[axis] + subject.size * local[axis] + noise;
        }
      }
    }
  }
  const source = `synthetic (seed ${settings.seed})`;
  return {
    id: plan.id,
    label: plan.label,
    subject: plan.subject,
    frames,
    persons,
    joints,
    positions,
    source,
  };
}

/** Forward kinematics at time u: each joint = parent + (parent's rotation · own bend) · rest offset. */
function posePerson(
  skeleton: SkeletonTemplate,
  pattern: Pattern,
  u: number,
  gain: number,
  phaseShift: number,
  out: Float64Array,
): void {
  const joints = skeleton.parents.length;
  const rotations: Matrix3[] = new Array(joints);
  rotations[0] = IDENTITY;
  for (let axis = 0; axis < 3; axis++) out[axis] = skeleton.offsets[0][axis];
  for (let j = 1; j < joints; j++) {
    const parent = skeleton.parents[j];
    const motion = pattern[j];
    const angle = motion
      ? gain *
        (motion.ramp * (2 * u - 1) +
          motion.swing * Math.sin(2 * Math.PI * motion.frequency * u + motion.phase + phaseShift))
      : 0;
    rotations[j] = motion ? multiply(rotations[parent], rotation(motion.axis, angle)) : rotations[parent];
    const offset = apply(rotations[j], skeleton.offsets[j]);
    for (let axis = 0; axis < 3; axis++) out[j * 3 + axis] = out[parent * 3 + axis] + offset[axis];
  }
}

function meanBoneLength(skeleton: SkeletonTemplate): number {
  const lengths = skeleton.offsets.slice(1).map((offset) => Math.hypot(...offset));
  return lengths.reduce((sum, length) => sum + length, 0) / lengths.length;
}
