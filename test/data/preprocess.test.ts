import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type FittedPreprocessing,
  fitPreprocessing,
  mirrorPairsByName,
  outputFrames,
  type PreprocessConfig,
  parseFittedPreprocessing,
  preprocessSequence,
  viewJointsByName,
} from '../../src/data/preprocess.js';
import type { SkeletonGraph, SkeletonSequence } from '../../src/data/types.js';
import { Rng } from '../../src/engine/random.js';
import { ConfigError } from '../../src/errors.js';
import { onNote } from '../../src/util/notes.js';

/** A 3-joint chain (ROOT–TORSO–HAND); `value(f, p, j, axis)` gives every coordinate. */
const graph: SkeletonGraph = {
  jointNames: ['ROOT', 'TORSO', 'HAND'],
  bones: [
    [0, 1],
    [1, 2],
  ],
  persons: 2,
  centerJoint: 1,
  centerMode: 'first-frame',
};

function sequence(
  frames: number,
  value: (f: number, p: number, j: number, axis: number) => number,
): SkeletonSequence {
  const positions = new Float32Array(frames * 2 * 3 * 3);
  for (let k = 0; k < positions.length; k++) {
    const [f, p, j, axis] = [Math.floor(k / 18), Math.floor(k / 9) % 2, Math.floor(k / 3) % 3, k % 3];
    positions[k] = value(f, p, j, axis);
  }
  return {
    id: `seq${frames}`,
    label: 0,
    subject: 's',
    frames,
    persons: 2,
    joints: 3,
    positions,
    source: 'test',
  };
}

const at = (out: Float32Array, f: number, p: number, j: number, axis: number) =>
  out[((f * 2 + p) * 3 + j) * 3 + axis];
/** Deterministic but irregular coordinates. */
const wobbly = (f: number, p: number, j: number, axis: number) =>
  100 * p + 10 * j + Math.sin(f * 1.3 + j + axis * 2) * (axis + 1) + f;

function run(seq: SkeletonSequence, config: PreprocessConfig, rng?: Rng): Float32Array {
  return preprocessSequence(seq, fitPreprocessing([seq], graph, config), rng);
}

const identity = (frames: number): PreprocessConfig => ({
  center: 'none',
  scale: 'none',
  temporal: { mode: 'resample', frames },
});

describe('preprocessing: centring', () => {
  it("every-frame centring puts the mean of the persons' centre joint at the origin in every frame", () => {
    const out = run(sequence(7, wobbly), { ...identity(7), center: 'torso', centerMode: 'every-frame' });
    for (let f = 0; f < 7; f++) {
      for (let axis = 0; axis < 3; axis++) {
        assert.ok(Math.abs(at(out, f, 0, 1, axis) + at(out, f, 1, 1, axis)) < 1e-4);
      }
    }
  });

  it("first-frame centring (the dataset default here) subtracts frame 0's centre from all frames", () => {
    const seq = sequence(5, wobbly);
    const out = run(seq, { ...identity(5), center: 'dataset' });
    const centre = [0, 1, 2].map((axis) => (wobbly(0, 0, 1, axis) + wobbly(0, 1, 1, axis)) / 2);
    for (let f = 0; f < 5; f++) {
      for (let axis = 0; axis < 3; axis++) {
        assert.ok(
          Math.abs(
            at(out, f, 1, 2, axis) - (seq.positions[((f * 2 + 1) * 3 + 2) * 3 + axis] - centre[axis]),
          ) < 1e-4,
        );
      }
    }
  });

  it('resolves centre choices into the fitted config and rejects unknown joints', () => {
    assert.deepEqual(fitPreprocessing([], graph, { center: { joint: 2 }, scale: 'none' }).center, {
      joint: 2,
      mode: 'first-frame',
    });
    assert.equal(fitPreprocessing([], graph, { center: 'none', scale: 'none' }).center, null);
    assert.throws(() => fitPreprocessing([], graph, { center: 'wrist', scale: 'none' }), {
      name: 'ConfigError',
      message:
        "preprocessing: center 'wrist': the skeleton has no joint named like it (joints: ROOT, TORSO, HAND)",
    });
    assert.throws(
      () => fitPreprocessing([], graph, { center: { joint: 3 } }),
      /center\.joint: expected 0-2, found 3/,
    );
  });
});

describe('preprocessing: temporal', () => {
  const linear = (f: number, _p: number, j: number, axis: number) => 3 * f + j + 10 * axis;

  it('resampling keeps the endpoints and interpolates linearly', () => {
    const seq = sequence(5, linear);
    const out = run(seq, identity(9));
    assert.equal(out.length, 9 * 2 * 3 * 3);
    for (let i = 0; i < 9; i++) {
      const time = (i * 4) / 8;
      for (let axis = 0; axis < 3; axis++) {
        assert.ok(Math.abs(at(out, i, 1, 2, axis) - linear(time, 1, 2, axis)) < 1e-4);
      }
    }
    const squares = sequence(3, (f) => f * f);
    const down = run(squares, identity(2));
    assert.equal(at(down, 0, 0, 0, 0), 0);
    assert.equal(at(down, 1, 0, 0, 0), 4);
    const up = run(squares, identity(5));
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((i) => at(up, i, 0, 0, 0)),
      [0, 0.5, 1, 2.5, 4],
    );
  });

  it('chunking averages M equal parts, weighting frames that straddle a boundary', () => {
    const seq = sequence(6, (f) => f);
    assert.deepEqual(
      [0, 1, 2].map((c) =>
        at(run(seq, { ...identity(2), temporal: { mode: 'chunks', chunks: 3 } }), c, 0, 0, 0),
      ),
      [0.5, 2.5, 4.5],
    );
    const five = run(
      sequence(5, (f) => f * f),
      { ...identity(2), temporal: { mode: 'chunks', chunks: 2 } },
    );
    assert.ok(Math.abs(at(five, 0, 0, 0, 0) - (0 + 1 + 0.5 * 4) / 2.5) < 1e-5);
    assert.ok(Math.abs(at(five, 1, 0, 0, 0) - (0.5 * 4 + 9 + 16) / 2.5) < 1e-5);
    const short = run(
      sequence(2, (f) => f),
      { ...identity(2), temporal: { mode: 'chunks', chunks: 4 } },
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((c) => at(short, c, 0, 0, 0)),
      [0, 0, 1, 1],
    );
  });

  it('uses 32 resampled frames, global-std scaling and the dataset centre by default', () => {
    const fitted = fitPreprocessing([sequence(4, wobbly)], graph);
    assert.equal(outputFrames(fitted), 32);
    assert.equal(fitted.scale.method, 'global-std');
    assert.deepEqual(fitted.center, { joint: 1, mode: 'first-frame' });
  });
});

describe('preprocessing: scale normalization', () => {
  it('global-std divides by the std of the centred training coordinates (fitted on training only)', () => {
    const train = [sequence(6, wobbly), sequence(9, (f, p, j, a) => 2 * wobbly(f, p, j, a))];
    const fitted = fitPreprocessing(train, graph, { ...identity(9), scale: 'global-std', center: 'dataset' });
    assert.equal(fitted.scale.method, 'global-std');
    const out = train.flatMap((s) => [
      ...preprocessSequence(s, { ...fitted, temporal: { mode: 'resample', frames: s.frames } }),
    ]);
    const mean = out.reduce((a, b) => a + b, 0) / out.length;
    const variance = out.reduce((a, b) => a + (b - mean) ** 2, 0) / out.length;
    assert.ok(Math.abs(variance - 1) < 1e-4, `variance ${variance}`);
  });

  it('bone-length gives every bone its mean training length, in units of the mean bone length', () => {
    const stretch = (s: number) => sequence(4, (f, p, j, axis) => (axis === 0 ? j * s * (1 + p) : f));
    const fitted = fitPreprocessing([stretch(10), stretch(30)], graph, {
      ...identity(4),
      scale: 'bone-length',
    });
    assert.ok(fitted.scale.method === 'bone-length');
    assert.deepEqual(fitted.scale.tree, [
      [1, 0],
      [1, 2],
    ]);
    assert.deepEqual(fitted.scale.lengths, [30, 30]);
    assert.equal(fitted.scale.unit, 30);
    const out = preprocessSequence(stretch(50), fitted);
    for (let p = 0; p < 2; p++) {
      assert.ok(Math.abs(at(out, 2, p, 2, 0) - at(out, 2, p, 1, 0) - 1) < 1e-6);
      assert.ok(Math.abs(at(out, 2, p, 1, 0) - at(out, 2, p, 0, 0) - 1) < 1e-6);
    }
  });
});

describe('preprocessing: view normalisation', () => {
  const body: SkeletonGraph = {
    jointNames: ['hip_center', 'shoulder_left', 'shoulder_right', 'hip_left', 'hip_right', 'hand_left'],
    bones: [
      [0, 1],
      [0, 2],
      [0, 3],
      [0, 4],
      [1, 5],
    ],
    persons: 1,
    centerJoint: 0,
    centerMode: 'first-frame',
  };
  // A body facing +z in its own frame: right = +x, up = +y; the hand moves over time.
  const own = [
    [0, 0, 0],
    [-0.2, 0.5, 0],
    [0.2, 0.5, 0],
    [-0.1, 0, 0],
    [0.1, 0, 0],
    [-0.3, 0.2, 0.3],
  ];
  function seen(rotate: (p: number[]) => number[], offset: number[]): SkeletonSequence {
    const frames = 4;
    const positions = new Float32Array(frames * own.length * 3);
    for (let f = 0; f < frames; f++) {
      own.forEach((point, j) => {
        const moved = j === 5 ? [point[0], point[1] + 0.1 * f, point[2]] : point;
        rotate(moved).forEach((v, axis) => {
          positions[(f * own.length + j) * 3 + axis] = v + offset[axis];
        });
      });
    }
    return {
      id: 's',
      label: 0,
      subject: 's',
      frames,
      persons: 1,
      joints: own.length,
      positions,
      source: 's',
    };
  }
  const turn = (angle: number, tilt: number) => (p: number[]) => {
    const [c, s, ct, st] = [Math.cos(angle), Math.sin(angle), Math.cos(tilt), Math.sin(tilt)];
    const [x, y, z] = [c * p[0] + s * p[2], p[1], -s * p[0] + c * p[2]];
    return [x, ct * y - st * z, st * y + ct * z];
  };

  it("finds body and hand joints by name in the datasets' own spellings", () => {
    const sbu = ['HEAD', 'NECK', 'TORSO', 'LEFT_SHOULDER', 'LEFT_ELBOW', 'LEFT_HAND', 'RIGHT_SHOULDER'];
    const sbuFull = [...sbu, 'RIGHT_ELBOW', 'RIGHT_HAND', 'LEFT_HIP', 'LEFT_KNEE', 'LEFT_FOOT', 'RIGHT_HIP'];
    assert.deepEqual(viewJointsByName(sbuFull), {
      rightFrom: [3, 9],
      rightTo: [6, 12],
      upFrom: [9, 12],
      upTo: [3, 6],
    });
    assert.deepEqual(viewJointsByName(['HipLeft', 'HipRight', 'ShoulderLeft', 'ShoulderRight']), {
      rightFrom: [2, 0],
      rightTo: [3, 1],
      upFrom: [0, 1],
      upTo: [2, 3],
    });
    const fpha = ['Wrist', 'TMCP', 'IMCP', 'MMCP', 'RMCP', 'PMCP'];
    assert.deepEqual(viewJointsByName(fpha), { rightFrom: [5], rightTo: [2], upFrom: [0], upTo: [3] });
    const named = ['wrist', 'index_finger_mcp', 'middle_finger_mcp', 'pinky_mcp'];
    assert.deepEqual(viewJointsByName(named), { rightFrom: [3], rightTo: [1], upFrom: [0], upTo: [2] });
    assert.equal(viewJointsByName(['ROOT', 'TORSO', 'HAND']), null);
    const notes: string[] = [];
    const stop = onNote((text) => notes.push(text));
    assert.equal(fitPreprocessing([], graph, { view: 'auto', scale: 'none' }).view, null);
    stop();
    assert.match(notes.join('\n'), /view normalisation off: 'auto' found neither left and right shoulders/);
  });

  it('gives the same output whichever way the camera looked at the body', () => {
    const config: PreprocessConfig = { view: 'auto', scale: 'none', temporal: { frames: 4 } };
    const fitted = fitPreprocessing([], body, config);
    assert.deepEqual(fitted.view, { rightFrom: [1, 3], rightTo: [2, 4], upFrom: [3, 4], upTo: [1, 2] });
    const reference = preprocessSequence(
      seen((p) => p, [0, 0, 0]),
      fitted,
    );
    for (const [angle, tilt] of [
      [2.1, 0],
      [-0.7, 0.4],
    ]) {
      const other = preprocessSequence(seen(turn(angle, tilt), [1, 2, 3]), fitted);
      for (const [k, v] of other.entries()) {
        assert.ok(Math.abs(v - reference[k]) < 1e-5, `value ${k}: ${v} vs ${reference[k]}`);
      }
      const unrotated = preprocessSequence(seen(turn(angle, tilt), [1, 2, 3]), { ...fitted, view: null });
      assert.ok(
        unrotated.some((v, k) => Math.abs(v - reference[k]) > 0.05),
        'without it the view shows',
      );
    }
    // In its own frame the shoulders lie along x, symmetric about the centred hips.
    assert.ok(Math.abs(reference[3] + reference[6]) < 1e-5 && reference[6] > 0);
    assert.ok(Math.abs(reference[4] - reference[7]) < 1e-5 && Math.abs(reference[5]) < 1e-5);
  });

  it('reads fitted records written before view normalisation as having none', () => {
    const fitted = fitPreprocessing([], body, { view: 'auto', scale: 'none' });
    const { view: _view, ...older } = fitted;
    assert.equal(parseFittedPreprocessing(JSON.parse(JSON.stringify(older))).view, null);
    assert.deepEqual(parseFittedPreprocessing(JSON.parse(JSON.stringify(fitted))).view, fitted.view);
  });
});

describe('preprocessing: augmentation', () => {
  const seq = sequence(12, wobbly);
  const augment = { rotation: 30, scaling: 0.2, jitter: 0.01, temporalCrop: 0.3 };

  it('is off by default: an rng changes nothing', () => {
    assert.deepEqual(run(seq, {}, new Rng(1)), run(seq, {}));
  });

  it('is deterministic from the seed and differs between seeds', () => {
    const a = run(seq, { augment }, new Rng(4));
    assert.deepEqual(run(seq, { augment }, new Rng(4)), a);
    assert.notDeepEqual(run(seq, { augment }, new Rng(5)), a);
    assert.deepEqual(run(seq, { augment }), run(seq, {}));
  });

  it('rotates about the origin without changing distances, and scales by a bounded factor', () => {
    const plain = run(seq, { scale: 'none' });
    const rotated = run(seq, { scale: 'none', augment: { rotation: 45 } }, new Rng(2));
    const scaled = run(seq, { scale: 'none', augment: { scaling: 0.2 } }, new Rng(2));
    const ratio = scaled[5] / plain[5];
    assert.ok(ratio >= 0.8 && ratio <= 1.2);
    assert.notDeepEqual(rotated, plain);
    for (let k = 0; k < plain.length; k += 3) {
      const norm = (v: Float32Array) => Math.hypot(v[k], v[k + 1], v[k + 2]);
      assert.ok(Math.abs(norm(rotated) - norm(plain)) < 1e-3);
      assert.ok(Math.abs(scaled[k] - ratio * plain[k]) < 1e-3);
    }
  });

  it('turns about the vertical y axis by at most yaw: heights and horizontal distances kept', () => {
    const plain = run(seq, { scale: 'none' });
    const angles = Array.from({ length: 20 }, (_, s) => {
      const turned = run(seq, { scale: 'none', augment: { yaw: 30 } }, new Rng(s));
      let angle = 0;
      for (let k = 0; k < plain.length; k += 3) {
        assert.ok(Math.abs(turned[k + 1] - plain[k + 1]) < 1e-3);
        const radius = Math.hypot(plain[k], plain[k + 2]);
        assert.ok(Math.abs(Math.hypot(turned[k], turned[k + 2]) - radius) < 1e-3);
        if (radius > 0.1) {
          const turn = Math.atan2(turned[k + 2], turned[k]) - Math.atan2(plain[k + 2], plain[k]);
          angle = (Math.atan2(Math.sin(turn), Math.cos(turn)) * 180) / Math.PI;
        }
      }
      return angle;
    });
    assert.ok(angles.every((a) => Math.abs(a) <= 30 + 1e-3));
    assert.ok(angles.some((a) => a > 10) && angles.some((a) => a < -10));
  });

  it('swaps the two persons of an interaction with probability personSwap', () => {
    const plain = run(seq, {});
    const swapped = run(seq, { augment: { personSwap: 1 } }, new Rng(3));
    const half = 3 * 3;
    for (let t = 0; t < plain.length; t += 2 * half) {
      assert.deepEqual(swapped.subarray(t, t + half), plain.subarray(t + half, t + 2 * half));
      assert.deepEqual(swapped.subarray(t + half, t + 2 * half), plain.subarray(t, t + half));
    }
    const outcomes = Array.from({ length: 40 }, (_, s) =>
      run(seq, { augment: { personSwap: 0.5 } }, new Rng(s))[0] === plain[0] ? 'kept' : 'swapped',
    );
    assert.ok(outcomes.includes('kept') && outcomes.includes('swapped'));
  });

  it('warps time monotonically within [1 − temporalWarp, 1 + temporalWarp] of the speed, ends kept', () => {
    const ramp = sequence(41, (f) => f);
    const plain = run(ramp, identity(41));
    let changed = false;
    for (let seed = 0; seed < 10; seed++) {
      const out = run(ramp, { ...identity(41), augment: { temporalWarp: 0.5 } }, new Rng(seed));
      const times = Array.from({ length: 41 }, (_, f) => at(out, f, 0, 0, 0));
      assert.ok(
        Math.abs(times[0]) < 1e-4 && Math.abs(times[40] - 40) < 1e-4,
        `ends ${times[0]}, ${times[40]}`,
      );
      for (let f = 1; f < 41; f++) {
        // Speeds in [0.5, 1.5] normalised to the whole: a step is at least 0.5/1.5 and at most 1.5/0.5.
        const step = times[f] - times[f - 1];
        assert.ok(step >= 1 / 3 - 1e-4 && step <= 3 + 1e-4, `step ${step} at ${f}`);
      }
      changed ||= times.some((t, f) => Math.abs(t - at(plain, f, 0, 0, 0)) > 0.5);
    }
    assert.ok(changed, 'some warp moved a frame by more than half a frame');
  });

  it('mirrors with probability mirror: x negated, left and right twins swapped, the rest kept', () => {
    const sided: SkeletonGraph = { ...graph, jointNames: ['ROOT', 'hand_left', 'HandRight'] };
    const fit = (mirror: number) => fitPreprocessing([seq], sided, { augment: { mirror } });
    assert.deepEqual(fit(1).augment.mirrorPairs, [[1, 2]]);
    assert.deepEqual(fit(0).augment.mirrorPairs, []);
    const plain = preprocessSequence(seq, fit(0));
    const mirrored = preprocessSequence(seq, fit(1), new Rng(4));
    const twin = [0, 2, 1];
    for (let f = 0; f < plain.length / 18; f++) {
      for (let p = 0; p < 2; p++) {
        for (let j = 0; j < 3; j++) {
          assert.equal(at(mirrored, f, p, j, 0), -at(plain, f, p, twin[j], 0));
          assert.equal(at(mirrored, f, p, j, 1), at(plain, f, p, twin[j], 1));
          assert.equal(at(mirrored, f, p, j, 2), at(plain, f, p, twin[j], 2));
        }
      }
    }
    const outcomes = Array.from({ length: 40 }, (_, s) =>
      preprocessSequence(seq, fit(0.5), new Rng(s))[0] === plain[0] ? 'kept' : 'mirrored',
    );
    assert.ok(outcomes.includes('kept') && outcomes.includes('mirrored'));
  });

  it('finds left/right twins by name and notes when a mirror has none to swap', () => {
    assert.deepEqual(mirrorPairsByName(['l_hip', 'r_hip', 'ElbowLeft', 'ElbowRight', 'head', 'left_eye']), [
      [0, 1],
      [2, 3],
    ]);
    const notes: string[] = [];
    const stop = onNote((text) => notes.push(text));
    try {
      const fitted = fitPreprocessing([seq], graph, { augment: { mirror: 0.5 } });
      assert.deepEqual(fitted.augment.mirrorPairs, []);
    } finally {
      stop();
    }
    assert.match(notes.join('\n'), /mirror augmentation off: no joint names come in left\/right pairs/);
  });

  it('crops a contiguous window of at least (1 − temporalCrop) of the frames', () => {
    const ramp = sequence(20, (f) => f);
    for (let seed = 0; seed < 20; seed++) {
      const out = run(ramp, { ...identity(2), augment: { temporalCrop: 0.5 } }, new Rng(seed));
      const [first, last] = [at(out, 0, 0, 0, 0), at(out, 1, 0, 0, 0)];
      assert.ok(first >= 0 && last <= 19 && last - first + 1 >= 10, `window ${first}..${last}`);
    }
  });
});

describe('preprocessing: configuration', () => {
  it('survives JSON (for checkpoints) and reproduces the same output', () => {
    const seq = sequence(8, wobbly);
    const fitted = fitPreprocessing([seq], graph, {
      scale: 'bone-length',
      temporal: { mode: 'chunks', chunks: 4 },
    });
    const restored: FittedPreprocessing = parseFittedPreprocessing(JSON.parse(JSON.stringify(fitted)));
    assert.deepEqual(restored, fitted);
    assert.deepEqual(preprocessSequence(seq, restored), preprocessSequence(seq, fitted));
  });

  it('rejects unknown keys and bad values with a ConfigError naming them', () => {
    assert.throws(() => fitPreprocessing([], graph, { centre: 'none' } as PreprocessConfig), {
      message: 'preprocessing: Unrecognized key: "centre"',
    });
    assert.throws(() => fitPreprocessing([], graph, { augment: { rotation: -1 } }), ConfigError);
    assert.throws(
      () => parseFittedPreprocessing({ version: 2 }),
      /fitted preprocessing: 'preprocessing\.version': expected 1/,
    );
  });

  it('refuses a sequence whose skeleton does not match the fitted one', () => {
    const fitted = fitPreprocessing([], graph, { scale: 'none' });
    const other = { ...sequence(3, wobbly), persons: 1, joints: 6 };
    assert.throws(() => preprocessSequence(other, fitted), /expected 2 persons × 3 joints, found 1 × 6/);
  });
});
