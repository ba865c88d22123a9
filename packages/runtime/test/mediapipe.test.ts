import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FPHA_FROM_MEDIAPIPE,
  FPHA_HAND_JOINTS,
  type HandLandmark,
  handJointMapping,
  handLandmarkFinger,
  MEDIAPIPE_FROM_FPHA,
  MEDIAPIPE_HAND_BONES,
  MEDIAPIPE_HAND_LANDMARKS,
  mediapipeHandFrame,
} from '../src/index.js';

const FINGERS = ['INDEX_FINGER', 'MIDDLE_FINGER', 'RING_FINGER', 'PINKY'];
const LETTERS = ['T', 'I', 'M', 'R', 'P'];

/** MediaPipe's documented order: wrist; thumb CMC, MCP, IP, TIP; then MCP, PIP, DIP, TIP per finger. */
const MEDIAPIPE_DOCUMENTED = [
  'WRIST',
  ...['CMC', 'MCP', 'IP', 'TIP'].map((joint) => `THUMB_${joint}`),
  ...FINGERS.flatMap((finger) => ['MCP', 'PIP', 'DIP', 'TIP'].map((joint) => `${finger}_${joint}`)),
];

/** FPHA's documented file order: wrist, the five MCPs, then PIP, DIP, TIP per finger (thumb to pinky). */
const FPHA_DOCUMENTED = [
  'Wrist',
  ...LETTERS.map((letter) => `${letter}MCP`),
  ...LETTERS.flatMap((letter) => ['PIP', 'DIP', 'TIP'].map((joint) => `${letter}${joint}`)),
];

/** FPHA's 20 bones in file order (datasets.md §2a): a tree from the wrist along each finger. */
const FPHA_BONES = [
  [0, 1], [1, 6], [6, 7], [7, 8],
  [0, 2], [2, 9], [9, 10], [10, 11],
  [0, 3], [3, 12], [12, 13], [13, 14],
  [0, 4], [4, 15], [15, 16], [16, 17],
  [0, 5], [5, 18], [18, 19], [19, 20],
]; // biome-ignore format: one finger per line

/** The official FPHA loader's reorder_idx: file order → wrist, then each finger MCP→TIP. */
const OFFICIAL_REORDER = [0, 1, 6, 7, 8, 2, 9, 10, 11, 3, 12, 13, 14, 4, 15, 16, 17, 5, 18, 19, 20];

/** A right hand in FPHA file order, millimetres, palm in the z = 400 plane, fingers bent towards +z. */
function fphaHand(): Float32Array {
  const out = new Float32Array(21 * 3);
  const set = (joint: number, x: number, y: number, z: number) => out.set([x, y, z], joint * 3);
  set(0, 0, 0, 400);
  LETTERS.forEach((_, finger) => {
    const angle = ((finger - 2) * Math.PI) / 9;
    const mcp = finger === 0 ? 20 : 70;
    const [dx, dy] = [Math.sin(angle), -Math.cos(angle)];
    set(1 + finger, dx * mcp, dy * mcp, 400);
    for (let k = 0; k < 3; k++) {
      const reach = mcp + 30 * (k + 1);
      set(6 + finger * 3 + k, dx * reach, dy * reach, 400 + 8 * (k + 1));
    }
  });
  return out;
}

/** MediaPipe world landmarks (metres, origin at the palm's centre) of an FPHA-order hand. */
function worldLandmarks(fpha: Float32Array, origin: readonly number[]): HandLandmark[] {
  return MEDIAPIPE_FROM_FPHA.map((j) => ({
    x: fpha[j * 3] / 1000 - origin[0],
    y: fpha[j * 3 + 1] / 1000 - origin[1],
    z: fpha[j * 3 + 2] / 1000 - origin[2],
  }));
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  assert.equal(actual.length, expected.length);
  for (let k = 0; k < actual.length; k++) {
    assert.ok(Math.abs(actual[k] - expected[k]) <= tolerance, `[${k}]: ${actual[k]} vs ${expected[k]}`);
  }
}

describe('MediaPipe hand landmarks', () => {
  it('lists both documented joint orders', () => {
    assert.deepEqual(MEDIAPIPE_HAND_LANDMARKS, MEDIAPIPE_DOCUMENTED);
    assert.deepEqual(FPHA_HAND_JOINTS, FPHA_DOCUMENTED);
    assert.deepEqual(
      MEDIAPIPE_HAND_LANDMARKS.map((_, i) => handLandmarkFinger(i)),
      ['wrist', ...['thumb', 'index', 'middle', 'ring', 'pinky'].flatMap((f) => [f, f, f, f])],
    );
  });

  it('maps between the orders with inverse permutations, the official reorder among them', () => {
    assert.deepEqual(MEDIAPIPE_FROM_FPHA, OFFICIAL_REORDER);
    for (let i = 0; i < 21; i++) {
      assert.equal(FPHA_FROM_MEDIAPIPE[MEDIAPIPE_FROM_FPHA[i]], i);
      assert.equal(MEDIAPIPE_FROM_FPHA[FPHA_FROM_MEDIAPIPE[i]], i);
    }
    // Name by name: FPHA's thumb TMCP, TPIP, TDIP, TTIP is MediaPipe's CMC, MCP, IP, TIP.
    const pairs = FPHA_HAND_JOINTS.map(
      (name, j) => `${name}=${MEDIAPIPE_HAND_LANDMARKS[FPHA_FROM_MEDIAPIPE[j]]}`,
    );
    assert.deepEqual(pairs.slice(0, 9), [
      'Wrist=WRIST',
      'TMCP=THUMB_CMC',
      'IMCP=INDEX_FINGER_MCP',
      'MMCP=MIDDLE_FINGER_MCP',
      'RMCP=RING_FINGER_MCP',
      'PMCP=PINKY_MCP',
      'TPIP=THUMB_MCP',
      'TDIP=THUMB_IP',
      'TTIP=THUMB_TIP',
    ]);
    assert.equal(pairs[20], 'PTIP=PINKY_TIP');
  });

  it("carries MediaPipe's bones onto FPHA's documented bones", () => {
    const mapped = MEDIAPIPE_HAND_BONES.map(([a, b]) => [MEDIAPIPE_FROM_FPHA[a], MEDIAPIPE_FROM_FPHA[b]]);
    const key = (bones: readonly (readonly number[])[]) => bones.map(([a, b]) => `${a}-${b}`).sort();
    assert.deepEqual(key(mapped), key(FPHA_BONES));
  });

  it('reads the joint order from the names of a model skeleton', () => {
    const identity = MEDIAPIPE_HAND_LANDMARKS.map((_, i) => i);
    assert.deepEqual(handJointMapping(MEDIAPIPE_HAND_LANDMARKS), identity);
    assert.deepEqual(handJointMapping(FPHA_HAND_JOINTS), [...FPHA_FROM_MEDIAPIPE]);
    // Other spellings, shuffled: index_pip, pinkyTip, little_dip, thumb_cmc.
    const spelled = MEDIAPIPE_HAND_LANDMARKS.map((name) =>
      name
        .toLowerCase()
        .replace('_finger', '')
        .replace('pinky_dip', 'little_dip')
        .replace('pinky_tip', 'pinkyTip'),
    );
    const order = [...identity].reverse();
    assert.deepEqual(handJointMapping(order.map((i) => spelled[i])), order);
    assert.equal(handJointMapping(MEDIAPIPE_HAND_LANDMARKS.slice(0, 20)), null, 'not 21 joints');
    const twice = [...FPHA_HAND_JOINTS];
    twice[20] = 'PDIP';
    assert.equal(handJointMapping(twice), null, 'a joint twice');
    assert.equal(handJointMapping(Array.from({ length: 21 }, (_, i) => `J${i}`)), null, 'unknown names');
  });

  it('gives an FPHA-order model the FPHA frame, in millimetres, whatever the world origin', () => {
    const fpha = fphaHand();
    const world = worldLandmarks(fpha, [0.03, -0.04, 0.41]);
    const mapping = handJointMapping(FPHA_HAND_JOINTS) ?? [];
    const origin = [30, -40, 410];
    const expected = fpha.map((v, k) => v - origin[k % 3]);
    assertClose(mediapipeHandFrame(world, { mapping }), expected, 1e-3);
    // MediaPipe order by default; mirroring flips x only.
    const own = mediapipeHandFrame(world, { mirror: true });
    MEDIAPIPE_FROM_FPHA.forEach((j, i) => {
      assertClose(
        own.subarray(i * 3, i * 3 + 3),
        [-expected[j * 3], expected[j * 3 + 1], expected[j * 3 + 2]],
        1e-3,
      );
    });
  });

  it('places the hand in front of the camera from its image landmarks', () => {
    const fpha = fphaHand();
    const at = [0.12, -0.05, 0.55]; // metres: right of and above the optical axis
    const camera = worldLandmarks(fpha, [0, 0, 0.4]).map(({ x, y, z }) => ({
      x: x + at[0],
      y: y + at[1],
      z: z + at[2],
    }));
    const aspect = 16 / 9;
    const fieldOfView = 70;
    const focal = 0.5 / Math.tan((fieldOfView / 2) * (Math.PI / 180));
    // Pinhole projection: x across the width, y down the height, both as fractions of the image.
    const image = camera.map(({ x, y, z }) => ({
      x: 0.5 + (focal * x) / z,
      y: 0.5 + (aspect * focal * y) / z,
      z: 0,
    }));
    // World landmarks centred on the palm, as MediaPipe gives them.
    const centre = [0, 1, 2].map((axis) => camera.reduce((sum, p) => sum + [p.x, p.y, p.z][axis], 0) / 21);
    const world = camera.map(({ x, y, z }) => ({ x: x - centre[0], y: y - centre[1], z: z - centre[2] }));
    const placed = mediapipeHandFrame(world, { image, aspect, fieldOfView });
    // The wrist is estimated from the palm's size in the image (here flat and facing the camera: exact).
    const wrist = camera[0];
    assertClose(placed.subarray(0, 3), [wrist.x * 1000, wrist.y * 1000, wrist.z * 1000], 0.5);
    // Moving the hand 10 cm to the right moves every joint 10 cm to the right.
    const moved = mediapipeHandFrame(world, {
      image: image.map((p, i) => ({ ...p, x: 0.5 + (focal * (camera[i].x + 0.1)) / camera[i].z })),
      aspect,
      fieldOfView,
    });
    for (let j = 0; j < 21; j++) assert.ok(Math.abs(moved[j * 3] - placed[j * 3] - 100) < 1, `joint ${j}`);
  });

  it('refuses landmark lists and mappings of the wrong length', () => {
    const world = worldLandmarks(fphaHand(), [0, 0, 0]);
    assert.throws(() => mediapipeHandFrame(world.slice(1)), /expected 21 world landmarks, found 20/);
    assert.throws(() => mediapipeHandFrame(world, { mapping: [0, 1] }), /mapping of 21 landmark indices/);
    assert.throws(
      () => mediapipeHandFrame(world, { image: world.slice(2) }),
      /expected 21 image landmarks, found 19/,
    );
  });
});
