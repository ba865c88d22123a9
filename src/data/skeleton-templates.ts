/**
 * Rest poses for the synthetic generator: a 20-joint body (Kinect v1 layout), a 21-joint hand
 * (MediaPipe landmark order), or a generated star of chains of any size. Joints are ordered so every
 * parent comes before its children; offsets are in millimetres, x right, y up.
 */

export interface SkeletonTemplate {
  readonly name: string;
  readonly jointNames: readonly string[];
  /** Parent of each joint, -1 for the root (joint 0). */
  readonly parents: readonly number[];
  /** Rest offset of each joint from its parent (the root's is its position). */
  readonly offsets: readonly (readonly [number, number, number])[];
  readonly centerJoint: number;
  readonly centerMode: 'first-frame' | 'every-frame';
}

type Joint = [name: string, parent: number, offset: [number, number, number]];

function template(
  name: string,
  joints: Joint[],
  centerJoint: number,
  centerMode: SkeletonTemplate['centerMode'],
): SkeletonTemplate {
  return {
    name,
    jointNames: joints.map(([jointName]) => jointName),
    parents: joints.map(([, parent]) => parent),
    offsets: joints.map(([, , offset]) => offset),
    centerJoint,
    centerMode,
  };
}

const BODY = template(
  'body',
  [
    ['HIP_CENTER', -1, [0, 0, 0]],
    ['TORSO', 0, [0, 200, 0]],
    ['NECK', 1, [0, 250, 0]],
    ['HEAD', 2, [0, 180, 0]],
    ['LEFT_SHOULDER', 2, [-170, -40, 0]],
    ['LEFT_ELBOW', 4, [0, -280, 0]],
    ['LEFT_WRIST', 5, [0, -250, 0]],
    ['LEFT_HAND', 6, [0, -80, 0]],
    ['RIGHT_SHOULDER', 2, [170, -40, 0]],
    ['RIGHT_ELBOW', 8, [0, -280, 0]],
    ['RIGHT_WRIST', 9, [0, -250, 0]],
    ['RIGHT_HAND', 10, [0, -80, 0]],
    ['LEFT_HIP', 0, [-100, -60, 0]],
    ['LEFT_KNEE', 12, [0, -420, 0]],
    ['LEFT_ANKLE', 13, [0, -400, 0]],
    ['LEFT_FOOT', 14, [0, -30, 100]],
    ['RIGHT_HIP', 0, [100, -60, 0]],
    ['RIGHT_KNEE', 16, [0, -420, 0]],
    ['RIGHT_ANKLE', 17, [0, -400, 0]],
    ['RIGHT_FOOT', 18, [0, -30, 100]],
  ],
  1,
  'first-frame',
);

/** A finger: the base joint's offset from the wrist, then straight segments along `direction`. */
function finger(name: string, base: [number, number, number], lengths: number[], joints: Joint[]): void {
  const [dx, dy] = [base[0], base[1]].map((v) => v / Math.hypot(base[0], base[1]));
  const names = name === 'THUMB' ? ['CMC', 'MCP', 'IP', 'TIP'] : ['MCP', 'PIP', 'DIP', 'TIP'];
  joints.push([`${name}_${names[0]}`, 0, base]);
  lengths.forEach((length, i) => {
    joints.push([`${name}_${names[i + 1]}`, joints.length - 1, [dx * length, dy * length, 0]]);
  });
}

const HAND = (() => {
  const joints: Joint[] = [['WRIST', -1, [0, 0, 0]]];
  finger('THUMB', [-25, 25, 0], [35, 30, 25], joints);
  finger('INDEX_FINGER', [-20, 85, 0], [40, 25, 20], joints);
  finger('MIDDLE_FINGER', [0, 88, 0], [45, 28, 22], joints);
  finger('RING_FINGER', [18, 82, 0], [42, 27, 21], joints);
  finger('PINKY', [34, 72, 0], [33, 21, 19], joints);
  return template('hand', joints, 0, 'every-frame');
})();

/** `joints` joints: a root and ⌈(joints − 1)/4⌉ chains of 100 mm bones spread evenly in the x-y plane. */
function star(joints: number): SkeletonTemplate {
  const chains = Math.max(1, Math.ceil((joints - 1) / 4));
  const list: Joint[] = [['J0', -1, [0, 0, 0]]];
  for (let k = 1; k < joints; k++) {
    const chain = (k - 1) % chains;
    const angle = (2 * Math.PI * chain) / chains;
    const parent = k - 1 < chains ? 0 : k - chains;
    list.push([`J${k}`, parent, [100 * Math.cos(angle), 100 * Math.sin(angle), 0]]);
  }
  return template(`star${joints}`, list, 0, 'first-frame');
}

export type TemplateChoice = 'body' | 'hand' | number;

export function skeletonTemplate(choice: TemplateChoice): SkeletonTemplate {
  if (choice === 'body') return BODY;
  if (choice === 'hand') return HAND;
  return star(choice);
}
