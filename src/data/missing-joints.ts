/**
 * Filling in joints a source marks as missing (`null` in the generic format, NaN here), so that no
 * NaN ever reaches preprocessing or the network. Over time first: a joint missing in some frames is
 * interpolated linearly between the nearest frames that have it (held constant before the first and
 * after the last). A joint missing in every frame takes, frame by frame, the position of the nearest
 * joint along the bones that has one; a person missing entirely stays at the origin.
 */

/** What `fillMissingJoints` found. */
export interface MissingJoints {
  /** Joint positions (one joint, one frame, one person) that were missing. */
  readonly missing: number;
  /** Joints (per person) missing in every frame, filled from a neighbour along the bones. */
  readonly neverSeen: number;
}

/**
 * Fills the NaN joints of `positions` (frames × persons × joints × 3, row-major) in place. A joint
 * counts as missing when its x is NaN (readers write all three coordinates as NaN together).
 */
export function fillMissingJoints(
  positions: Float32Array,
  frames: number,
  persons: number,
  bones: readonly (readonly [number, number])[],
): MissingJoints {
  const joints = positions.length / (frames * persons * 3);
  const offset = (f: number, p: number, j: number) => ((f * persons + p) * joints + j) * 3;
  let missing = 0;
  for (let i = 0; i < positions.length; i += 3) if (Number.isNaN(positions[i])) missing++;
  if (missing === 0) return { missing, neverSeen: 0 };
  let neverSeen = 0;
  for (let p = 0; p < persons; p++) {
    const unseen: number[] = [];
    for (let j = 0; j < joints; j++) {
      if (!interpolateOverTime(positions, frames, (f) => offset(f, p, j))) unseen.push(j);
    }
    neverSeen += unseen.length;
    for (const [j, source] of nearestSeenJoints(unseen, joints, bones)) {
      for (let f = 0; f < frames; f++) {
        const to = offset(f, p, j);
        if (source < 0) positions.fill(0, to, to + 3);
        else positions.copyWithin(to, offset(f, p, source), offset(f, p, source) + 3);
      }
    }
  }
  return { missing, neverSeen };
}

/** Fills one joint's missing frames; false when it has no frame to fill from. */
function interpolateOverTime(positions: Float32Array, frames: number, at: (f: number) => number): boolean {
  let previous = -1;
  for (let f = 0; f <= frames; f++) {
    if (f < frames && Number.isNaN(positions[at(f)])) continue;
    if (f === frames && previous === -1) return false;
    for (let gap = previous + 1; gap < f; gap++) {
      for (let axis = 0; axis < 3; axis++) {
        const before = previous >= 0 ? positions[at(previous) + axis] : positions[at(f) + axis];
        const after = f < frames ? positions[at(f) + axis] : before;
        const t = previous >= 0 && f < frames ? (gap - previous) / (f - previous) : 0;
        positions[at(gap) + axis] = before + t * (after - before);
      }
    }
    previous = f;
  }
  return true;
}

/**
 * For each never-seen joint, the nearest joint (fewest bones away) that is seen, or -1 when none is
 * connected to it. Breadth-first over the bones, both directions.
 */
function nearestSeenJoints(
  unseen: readonly number[],
  joints: number,
  bones: readonly (readonly [number, number])[],
): Map<number, number> {
  const neighbours = Array.from({ length: joints }, (): number[] => []);
  for (const [a, b] of bones) {
    neighbours[a].push(b);
    neighbours[b].push(a);
  }
  const isUnseen = new Set(unseen);
  const nearest = new Map<number, number>();
  for (const start of unseen) {
    const visited = new Set([start]);
    let frontier = [start];
    let found = -1;
    while (frontier.length > 0 && found < 0) {
      const next: number[] = [];
      for (const joint of frontier) {
        for (const n of neighbours[joint]) {
          if (visited.has(n)) continue;
          visited.add(n);
          if (!isUnseen.has(n) && found < 0) found = n;
          next.push(n);
        }
      }
      frontier = next;
    }
    nearest.set(start, found);
  }
  return nearest;
}
