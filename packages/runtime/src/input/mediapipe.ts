/**
 * Live hand input from MediaPipe Hands: its 21 landmarks reordered into a model's joint order (MediaPipe's
 * own, FPHA's, or any naming of the same joints) and brought to the units and frame the toolkit's hand
 * datasets use (millimetres, camera frame: x right, y down, z away from the camera), so a model trained
 * on FPHA or on clips recorded in the browser demo receives what it was trained on. The model's own
 * preprocessing (centring, scaling, temporal sampling, recorded in its `.skp` file) then runs as for
 * any sequence.
 *
 * ```ts
 * const mapping = handJointMapping(model.info.jointNames); // null: not a hand model
 * const stream = model.stream();
 * hands.onResults((results) => {
 *   const world = results.multiHandWorldLandmarks?.[0];
 *   if (!world || !mapping) return;
 *   stream.push(mediapipeHandFrame(world, { mapping, image: results.multiHandLandmarks[0] }));
 *   const prediction = stream.predict();
 * });
 * ```
 */

/**
 * MediaPipe Hands' landmark names, in its order: the wrist; the thumb's CMC, MCP, IP and TIP; then the
 * MCP, PIP, DIP and TIP of the index, middle, ring and pinky fingers.
 */
export const MEDIAPIPE_HAND_LANDMARKS: readonly string[] = [
  'WRIST',
  'THUMB_CMC',
  'THUMB_MCP',
  'THUMB_IP',
  'THUMB_TIP',
  'INDEX_FINGER_MCP',
  'INDEX_FINGER_PIP',
  'INDEX_FINGER_DIP',
  'INDEX_FINGER_TIP',
  'MIDDLE_FINGER_MCP',
  'MIDDLE_FINGER_PIP',
  'MIDDLE_FINGER_DIP',
  'MIDDLE_FINGER_TIP',
  'RING_FINGER_MCP',
  'RING_FINGER_PIP',
  'RING_FINGER_DIP',
  'RING_FINGER_TIP',
  'PINKY_MCP',
  'PINKY_PIP',
  'PINKY_DIP',
  'PINKY_TIP',
];

/**
 * The FPHA (F-PHAB) dataset's joint names, in its files' order: the wrist, the five MCPs (thumb to
 * pinky), then PIP, DIP and TIP of each finger. FPHA names the thumb's joints like a finger's: its
 * TMCP, TPIP, TDIP and TTIP are MediaPipe's THUMB_CMC, THUMB_MCP, THUMB_IP and THUMB_TIP.
 */
export const FPHA_HAND_JOINTS: readonly string[] = [
  'Wrist',
  'TMCP',
  'IMCP',
  'MMCP',
  'RMCP',
  'PMCP',
  'TPIP',
  'TDIP',
  'TTIP',
  'IPIP',
  'IDIP',
  'ITIP',
  'MPIP',
  'MDIP',
  'MTIP',
  'RPIP',
  'RDIP',
  'RTIP',
  'PPIP',
  'PDIP',
  'PTIP',
];

/** The hand's 20 bones in MediaPipe order: a tree from the wrist along each finger (parent, child). */
export const MEDIAPIPE_HAND_BONES: readonly (readonly [number, number])[] = [0, 1, 2, 3, 4].flatMap(
  (finger) => {
    const base = 1 + 4 * finger;
    return [
      [0, base],
      [base, base + 1],
      [base + 1, base + 2],
      [base + 2, base + 3],
    ] as const;
  },
);

/**
 * For each FPHA joint (file order), the MediaPipe landmark it is: FPHA joint `j` is MediaPipe
 * landmark `FPHA_FROM_MEDIAPIPE[j]`.
 */
export const FPHA_FROM_MEDIAPIPE: readonly number[] = [
  0, 1, 5, 9, 13, 17, 2, 3, 4, 6, 7, 8, 10, 11, 12, 14, 15, 16, 18, 19, 20,
];

/**
 * For each MediaPipe landmark, the FPHA joint it is: MediaPipe landmark `i` is FPHA joint
 * `MEDIAPIPE_FROM_FPHA[i]`. This is the official FPHA loader's `reorder_idx`.
 */
export const MEDIAPIPE_FROM_FPHA: readonly number[] = [
  0, 1, 6, 7, 8, 2, 9, 10, 11, 3, 12, 13, 14, 4, 15, 16, 17, 5, 18, 19, 20,
];

const FINGERS = ['thumb', 'index', 'middle', 'ring', 'pinky'] as const;
const FINGER_WORDS: Record<string, number> = {
  thumb: 0,
  t: 0,
  index: 1,
  i: 1,
  middle: 2,
  m: 2,
  ring: 3,
  r: 3,
  pinky: 4,
  little: 4,
  p: 4,
};
/** The four joints of a finger from the palm outwards; the thumb's anatomical names come first. */
const ANATOMICAL_THUMB = ['cmc', 'mcp', 'ip', 'tip'];
const FINGER_JOINTS = ['mcp', 'pip', 'dip', 'tip'];

/** A joint name read as (finger, joint): lower case, words split on anything but letters. */
function readJointName(name: string): { finger: number; joint: string } | 'wrist' | null {
  const words = name
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter((w) => w !== '' && w !== 'finger');
  if (words.length === 1 && words[0] === 'wrist') return 'wrist';
  if (words.length === 1) {
    // FPHA's abbreviations: a finger letter and the joint, e.g. TMCP, IPIP, PTIP.
    const [word] = words;
    const finger = FINGER_WORDS[word[0]];
    const joint = word.slice(1);
    return finger !== undefined && [...FINGER_JOINTS, 'cmc', 'ip'].includes(joint) ? { finger, joint } : null;
  }
  if (words.length !== 2) return null;
  const finger = FINGER_WORDS[words[0]];
  return finger !== undefined && words[0].length > 1 ? { finger, joint: words[1] } : null;
}

/**
 * Which MediaPipe landmark each of a skeleton's joints is, read from the joint names: MediaPipe's
 * (`THUMB_CMC`, `INDEX_FINGER_PIP`, ...), FPHA's (`TMCP`, `IPIP`, ...) or similar spellings
 * (`index_pip`, `pinkyTip`, `little_dip`), in any order. A thumb named with CMC or IP counts
 * anatomically (CMC, MCP, IP, TIP, as MediaPipe); otherwise its four joints count like a finger's
 * (MCP, PIP, DIP, TIP, as FPHA). Returns `mapping` with `mapping[j]` the landmark index of joint `j`,
 * or null when the names are not those of the 21 hand joints, each once.
 */
export function handJointMapping(jointNames: readonly string[]): number[] | null {
  if (jointNames.length !== MEDIAPIPE_HAND_LANDMARKS.length) return null;
  const read = jointNames.map(readJointName);
  if (read.some((r) => r === null)) return null;
  const anatomicalThumb = read.some(
    (r) => r !== 'wrist' && r !== null && r.finger === 0 && (r.joint === 'cmc' || r.joint === 'ip'),
  );
  const mapping = read.map((r) => {
    if (r === 'wrist') return 0;
    if (r === null) return -1;
    const order = r.finger === 0 && anatomicalThumb ? ANATOMICAL_THUMB : FINGER_JOINTS;
    const position = order.indexOf(r.joint);
    return position < 0 ? -1 : 1 + 4 * r.finger + position;
  });
  const seen = new Set(mapping);
  return seen.size === mapping.length && !seen.has(-1) ? mapping : null;
}

/** The finger a MediaPipe landmark belongs to (`wrist` for landmark 0). */
export function handLandmarkFinger(landmark: number): (typeof FINGERS)[number] | 'wrist' {
  return landmark === 0 ? 'wrist' : FINGERS[Math.floor((landmark - 1) / 4)];
}

/** A landmark as MediaPipe reports it (extra fields such as `visibility` are ignored). */
export interface HandLandmark {
  /** World landmarks: metres, x to the image's right. Image landmarks: fraction of the image width. */
  x: number;
  /** World landmarks: metres, y down the image. Image landmarks: fraction of the image height. */
  y: number;
  /** World landmarks: metres, away from the camera. Image landmarks: depth relative to the wrist. */
  z: number;
}

/** Options of `mediapipeHandFrame`. */
export interface HandFrameOptions {
  /**
   * `mapping[j]`: the MediaPipe landmark of the model's joint `j` (`handJointMapping`); default
   * MediaPipe's own order.
   */
  mapping?: readonly number[];
  /**
   * The same hand's image landmarks (`multiHandLandmarks`). With them, the hand is placed where it is
   * in front of the camera (estimated from its size and position in the image), so moving the hand
   * moves the joints, as in a camera-frame dataset; without them, the world landmarks' own origin,
   * the hand's centre, stays at (0, 0, 0).
   */
  image?: readonly HandLandmark[];
  /** Width over height of the image the landmarks come from (default 4/3). */
  aspect?: number;
  /** The camera's horizontal field of view in degrees, for the distance estimate (default 60). */
  fieldOfView?: number;
  /** Mirror the hand left to right (x → −x): e.g. a left hand as a right one (default false). */
  mirror?: boolean;
}

/** Palm bones that hardly bend (wrist to index and pinky MCP, index to pinky MCP): the scale estimate. */
const RIGID_PAIRS: readonly (readonly [number, number])[] = [
  [0, 5],
  [0, 17],
  [5, 17],
  [0, 9],
];

/**
 * One hand frame for a model from MediaPipe Hands' world landmarks (`multiHandWorldLandmarks[k]`, 21
 * points in metres): millimetres in the camera frame (x right, y down, z away from the camera, the
 * frame FPHA's files use), joints in the model's order (`options.mapping`). Returns 21 × 3
 * coordinates, ready for `StreamingClassifier.push`. Throws a `RangeError` when `world` (or
 * `options.image`) does not hold 21 landmarks or `mapping` is not 21 landmark indices.
 *
 * The placement from `options.image` is an estimate: the distance follows from how large the palm
 * looks at the given field of view. Models that centre every frame on a joint (FPHA's default) do
 * not depend on it; models that centre on the first frame see the hand's movement through it.
 */
export function mediapipeHandFrame(
  world: readonly HandLandmark[],
  options: HandFrameOptions = {},
): Float32Array {
  const count = MEDIAPIPE_HAND_LANDMARKS.length;
  if (world.length !== count)
    throw new RangeError(`expected ${count} world landmarks, found ${world.length}`);
  const mapping = options.mapping ?? MEDIAPIPE_HAND_LANDMARKS.map((_, i) => i);
  if (mapping.length !== count || mapping.some((m) => !Number.isInteger(m) || m < 0 || m >= count)) {
    throw new RangeError(`expected a mapping of ${count} landmark indices 0-${count - 1}`);
  }
  const offset = options.image ? placement(world, options.image, options) : [0, 0, 0];
  const sign = options.mirror ? -1 : 1;
  const out = new Float32Array(count * 3);
  mapping.forEach((landmark, j) => {
    const { x, y, z } = world[landmark];
    out[j * 3] = sign * (x + offset[0]) * 1000;
    out[j * 3 + 1] = (y + offset[1]) * 1000;
    out[j * 3 + 2] = (z + offset[2]) * 1000;
  });
  return out;
}

/**
 * Where the world landmarks' origin is in the camera frame, in metres: the wrist's image position
 * back-projected at the distance where the palm's size in the image matches its size in metres.
 */
function placement(
  world: readonly HandLandmark[],
  image: readonly HandLandmark[],
  options: HandFrameOptions,
): [number, number, number] {
  const count = MEDIAPIPE_HAND_LANDMARKS.length;
  if (image.length !== count)
    throw new RangeError(`expected ${count} image landmarks, found ${image.length}`);
  const aspect = options.aspect ?? 4 / 3;
  const focal = 0.5 / Math.tan((((options.fieldOfView ?? 60) / 2) * Math.PI) / 180);
  // Image coordinates in units of the image width, centred on the optical axis.
  const u = (p: HandLandmark) => p.x - 0.5;
  const v = (p: HandLandmark) => (p.y - 0.5) / aspect;
  let metres = 0;
  let widths = 0;
  for (const [a, b] of RIGID_PAIRS) {
    metres += Math.hypot(world[a].x - world[b].x, world[a].y - world[b].y, world[a].z - world[b].z);
    widths += Math.hypot(u(image[a]) - u(image[b]), v(image[a]) - v(image[b]));
  }
  if (!(metres > 0) || !(widths > 0)) return [0, 0, 0];
  const perWidth = metres / widths; // metres per image width at the hand's distance
  const wrist = image[0];
  const depth = focal * perWidth;
  return [u(wrist) * perWidth - world[0].x, v(wrist) * perWidth - world[0].y, depth - world[0].z];
}
