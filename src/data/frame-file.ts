/**
 * Reads a per-frame skeleton text file, the shape SBU and FPHA share: one line per frame, a frame
 * number first, then x y z of every joint of every person.
 */
import { readBytes } from './files.js';
import { parseNumericTable } from './numeric-table.js';
import type { DataIssue } from './types.js';

export interface FrameFileFormat {
  readonly separator: ',' | ' ';
  readonly persons: number;
  readonly joints: number;
  /** Per-axis affine map applied to every coordinate: stored = offset[axis] + scale[axis] · raw. */
  readonly axisTransform?: {
    readonly scale: readonly [number, number, number];
    readonly offset: readonly [number, number, number];
  };
}

export interface FrameFile {
  readonly frames: number;
  /** frames × persons × joints × 3. */
  readonly positions: Float32Array;
  /** Set when the frame numbers do not count up by one (the data is kept as is). */
  readonly issue?: DataIssue;
}

export async function readFrameFile(path: string, format: FrameFileFormat): Promise<FrameFile> {
  const coordinates = format.persons * format.joints * 3;
  const table = parseNumericTable(await readBytes(path), path, {
    separator: format.separator,
    columns: 1 + coordinates,
  });
  const positions = new Float32Array(table.rows * coordinates);
  const { scale, offset } = format.axisTransform ?? { scale: [1, 1, 1], offset: [0, 0, 0] };
  for (let row = 0; row < table.rows; row++) {
    const from = row * table.columns + 1;
    const to = row * coordinates;
    for (let k = 0; k < coordinates; k++) {
      const axis = k % 3;
      positions[to + k] = offset[axis] + scale[axis] * table.values[from + k];
    }
  }
  const issue = frameNumberGap(table.values, table.rows, table.columns, path);
  return issue ? { frames: table.rows, positions, issue } : { frames: table.rows, positions };
}

function frameNumberGap(
  values: Float64Array,
  rows: number,
  columns: number,
  file: string,
): DataIssue | undefined {
  for (let row = 1; row < rows; row++) {
    const expected = values[(row - 1) * columns] + 1;
    const found = values[row * columns];
    if (found !== expected) {
      return {
        file,
        line: row + 1,
        message: `frame numbers are not consecutive (expected ${expected}, found ${found}); frames kept in file order`,
      };
    }
  }
  return undefined;
}
