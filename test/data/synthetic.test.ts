import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitPreprocessing, preprocessSequence } from '../../src/data/preprocess.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import type { Dataset } from '../../src/data/types.js';
import { ConfigError } from '../../src/errors.js';

describe('synthetic generator', () => {
  it('is bit-identical for the same seed and differs for another seed', () => {
    const a = generateSynthetic({ seed: 5, sequencesPerClass: 8 });
    const b = generateSynthetic({ seed: 5, sequencesPerClass: 8 });
    assert.deepEqual(a, b);
    const c = generateSynthetic({ seed: 6, sequencesPerClass: 8 });
    assert.notDeepEqual(c.sequences[0].positions, a.sequences[0].positions);
  });

  it('has small defaults: 8 classes × 40 sequences, 20-joint body, 16-40 frames, 4 subjects', () => {
    const dataset = generateSynthetic();
    assert.equal(dataset.classNames.length, 8);
    assert.equal(dataset.sequences.length, 320);
    assert.equal(dataset.graph.jointNames.length, 20);
    assert.equal(dataset.graph.bones.length, 19);
    for (const s of dataset.sequences) {
      assert.ok(s.frames >= 16 && s.frames <= 40);
      assert.equal(s.positions.length, s.frames * 20 * 3);
    }
    const folds = dataset.protocols['cross-subject'];
    assert.deepEqual(
      folds.map((f) => [f.name, f.train.length, f.test.length]),
      [
        ['subject1', 240, 80],
        ['subject2', 240, 80],
        ['subject3', 240, 80],
        ['subject4', 240, 80],
      ],
    );
  });

  it('moves limbs rigidly: without noise every bone keeps its length', () => {
    for (const joints of ['body', 'hand', 13] as const) {
      const dataset = generateSynthetic({ joints, persons: 2, noise: 0, sequencesPerClass: 2, classes: 4 });
      for (const s of dataset.sequences) {
        for (const [a, b] of dataset.graph.bones) {
          const length = (f: number, p: number) => {
            const at = (j: number, axis: number) =>
              s.positions[((f * s.persons + p) * s.joints + j) * 3 + axis];
            return Math.hypot(at(b, 0) - at(a, 0), at(b, 1) - at(a, 1), at(b, 2) - at(a, 2));
          };
          for (let p = 0; p < 2; p++) {
            for (let f = 1; f < s.frames; f++) assert.ok(Math.abs(length(f, p) - length(0, p)) < 1e-2);
          }
        }
      }
    }
  });

  it('makes classes a nearest-centroid classifier separates across subjects, but not from one frame', () => {
    const dataset = generateSynthetic({ seed: 3 });
    const fold = dataset.protocols['cross-subject'][0];
    const frameSize = 20 * 3;
    const whole = nearestCentroidAccuracy(dataset, fold, (x) => x);
    const middleFrame = nearestCentroidAccuracy(dataset, fold, (x) =>
      x.subarray(8 * frameSize, 9 * frameSize),
    );
    assert.ok(whole > 0.9, `accuracy ${whole} (chance 0.125)`);
    assert.ok(middleFrame < whole - 0.1, `one frame ${middleFrame} vs whole ${whole}`);
  });

  it('rejects bad options with a ConfigError naming the option', () => {
    assert.throws(() => generateSynthetic({ minFrames: 50, maxFrames: 40 }), {
      name: 'ConfigError',
      message: 'synthetic options: minFrames: minFrames must not exceed maxFrames (found 50)',
    });
    assert.throws(() => generateSynthetic({ classes: 1 }), ConfigError);
    assert.throws(() => generateSynthetic({ joints: 3, activeBones: 3 }), /activeBones: at most 2/);
  });
});

function nearestCentroidAccuracy(
  dataset: Dataset,
  fold: { train: readonly string[]; test: readonly string[] },
  feature: (x: Float32Array) => Float32Array,
): number {
  const byId = new Map(dataset.sequences.map((s) => [s.id, s]));
  const train = fold.train.map((id) => byId.get(id)!);
  const fitted = fitPreprocessing(train, dataset.graph, { temporal: { mode: 'resample', frames: 16 } });
  const features = (ids: readonly string[]) =>
    ids.map((id) => ({ x: feature(preprocessSequence(byId.get(id)!, fitted)), y: byId.get(id)!.label }));
  const size = features(fold.train.slice(0, 1))[0].x.length;
  const centroids = dataset.classNames.map(() => new Float64Array(size));
  const counts = dataset.classNames.map(() => 0);
  for (const { x, y } of features(fold.train)) {
    counts[y]++;
    for (let k = 0; k < size; k++) centroids[y][k] += x[k];
  }
  centroids.forEach((c, y) => {
    for (let k = 0; k < size; k++) c[k] /= counts[y];
  });
  const test = features(fold.test);
  const correct = test.filter(({ x, y }) => {
    const distances = centroids.map((c) => c.reduce((sum, v, k) => sum + (v - x[k]) ** 2, 0));
    return distances.indexOf(Math.min(...distances)) === y;
  }).length;
  return correct / test.length;
}
