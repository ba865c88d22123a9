/**
 * Recorded tracker results for the browser tests: synthetic hand motions (the generator's 21-joint
 * hand, MediaPipe's landmark order, millimetres, y up) as MediaPipe Hands would report them for a
 * right hand about 45 cm in front of a 640 × 480 webcam: world landmarks in metres around the hand's
 * centre (x right, y down, z away), image landmarks by a pinhole projection with a 60° field of view,
 * and the handedness label MediaPipe gives a right hand in an unmirrored image ('Left').
 */
import type { SkeletonSequence } from '../../src/data/types.js';

export interface Landmark {
  x: number;
  y: number;
  z: number;
}

/** What the page's `onResults` reads of MediaPipe's results (web/live.ts). */
export interface TrackerResults {
  multiHandLandmarks: Landmark[][];
  multiHandWorldLandmarks: Landmark[][];
  multiHandedness: { label: 'Left' | 'Right'; score: number; index: number }[];
}

const ASPECT = 640 / 480;
const FOCAL = 0.5 / Math.tan(Math.PI / 6);
const DEPTH = 0.45;

/** One result per frame of a one-person, 21-joint sequence. */
export function trackerResults(sequence: SkeletonSequence): TrackerResults[] {
  const { frames, joints, positions } = sequence;
  // The sequence's mean position goes to the middle of the image, DEPTH away.
  const mean = [0, 1, 2].map((axis) => {
    let sum = 0;
    for (let k = axis; k < positions.length; k += 3) sum += positions[k];
    return (3 * sum) / positions.length;
  });
  return Array.from({ length: frames }, (_, f) => {
    // Camera frame in metres: y and z turned (the generator's y is up).
    const camera = Array.from({ length: joints }, (_, j) => {
      const at = (f * joints + j) * 3;
      return {
        x: (positions[at] - mean[0]) / 1000,
        y: -(positions[at + 1] - mean[1]) / 1000,
        z: DEPTH - (positions[at + 2] - mean[2]) / 1000,
      };
    });
    const centre = ['x', 'y', 'z'].map(
      (axis) => camera.reduce((sum, p) => sum + p[axis as keyof Landmark], 0) / joints,
    );
    const world = camera.map((p) => ({ x: p.x - centre[0], y: p.y - centre[1], z: p.z - centre[2] }));
    const image = camera.map((p) => ({
      x: 0.5 + (FOCAL * p.x) / p.z,
      y: 0.5 + (ASPECT * FOCAL * p.y) / p.z,
      z: p.z - camera[0].z,
    }));
    return {
      multiHandLandmarks: [image],
      multiHandWorldLandmarks: [world],
      multiHandedness: [{ label: 'Left', score: 0.98, index: 0 }],
    };
  });
}

/** Results without a hand: enough of them (web/live.ts LOST_AFTER) and the page starts its window again. */
export function noHand(count: number): TrackerResults[] {
  return Array.from({ length: count }, () => ({
    multiHandLandmarks: [],
    multiHandWorldLandmarks: [],
    multiHandedness: [],
  }));
}
