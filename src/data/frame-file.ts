/**
 * Per-frame skeleton text files, the shape SBU and FPHA share: one line per frame, a frame number
 * first, then x y z of every joint of every person. Pure (no file system), so browsers parse dropped
 * files with the same code; Node reads the bytes through ./files.ts.
 */
import { DataFormatError } from '../errors.js';
import { parseNumericTable } from './numeric-table.js';
import { byteOrderMarkLength } from './text.js';
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

/**
 * One SBU skeleton file (91 comma-separated columns: two persons × 15 joints), converted to the
 * official Kinect millimetres as `loadSbu` does by default (X = 1280 − 2560x, Y = 960 − 1920y, Z = 1280z).
 */
export const SBU_FRAME_FORMAT: FrameFileFormat = {
  separator: ',',
  persons: 2,
  joints: 15,
  axisTransform: { scale: [-2560, -1920, 1280], offset: [1280, 960, 0] },
};

/** One FPHA skeleton.txt (64 space-separated columns: 21 hand joints, millimetres). */
export const FPHA_FRAME_FORMAT: FrameFileFormat = { separator: ' ', persons: 1, joints: 21 };

export interface FrameFile {
  readonly frames: number;
  /** frames × persons × joints × 3. */
  readonly positions: Float32Array;
  /** Set when the frame numbers do not count up by one (the data is kept as is). */
  readonly issue?: DataIssue;
}

/** SBU or FPHA, from the separator and field count of the first line of `bytes`. */
export function sniffFrameFormat(bytes: Uint8Array, file: string): FrameFileFormat {
  const start = byteOrderMarkLength(bytes, file);
  const newline = bytes.indexOf(10, start);
  const first = new TextDecoder()
    .decode(bytes.subarray(start, newline === -1 ? bytes.length : newline))
    .trim();
  const commaFields = first.split(',').length;
  const spaceFields = first.split(/\s+/).length;
  if (commaFields === columnsOf(SBU_FRAME_FORMAT)) return SBU_FRAME_FORMAT;
  if (spaceFields === columnsOf(FPHA_FRAME_FORMAT)) return FPHA_FRAME_FORMAT;
  const found =
    first !== ''
      ? `${Math.max(commaFields, spaceFields)} fields`
      : bytes.length === start
        ? 'an empty file'
        : 'an empty line';
  throw new DataFormatError(
    file,
    1,
    `expected an SBU line (${columnsOf(SBU_FRAME_FORMAT)} comma-separated numbers) or an FPHA line (${columnsOf(FPHA_FRAME_FORMAT)} space-separated numbers), found ${found}`,
  );
}

/** The frame number and every coordinate. */
function columnsOf(format: FrameFileFormat): number {
  return 1 + format.persons * format.joints * 3;
}

export function parseFrameFile(bytes: Uint8Array, file: string, format: FrameFileFormat): FrameFile {
  const coordinates = format.persons * format.joints * 3;
  const table = parseNumericTable(bytes, file, { separator: format.separator, columns: columnsOf(format) });
  const positions = new Float32Array(table.rows * coordinates);
  const { scale, offset } = format.axisTransform ?? { scale: [1, 1, 1], offset: [0, 0, 0] };
  for (let row = 0; row < table.rows; row++) {
    const from = row * table.columns + 1;
    const to = row * coordinates;
    for (let k = 0; k < coordinates; k++) {
      const axis = k % 3;
      positions[to + k] = offset[axis] + scale[axis] * table.values[from + k];
      if (!Number.isFinite(positions[to + k])) {
        // Rows are lines: the table allows no blank line before data.
        throw new DataFormatError(
          file,
          row + 1,
          float32Overflow(k + 2, table.columns, table.values[from + k], format),
        );
      }
    }
  }
  const issue = frameNumberGap(table.values, table.rows, table.columns, file);
  return issue ? { frames: table.rows, positions, issue } : { frames: table.rows, positions };
}

function float32Overflow(field: number, columns: number, value: number, format: FrameFileFormat): string {
  const converted = format.axisTransform ? ' after conversion to millimetres' : '';
  return `field ${field} of ${columns}: expected a coordinate within float32 range (±3.4e38)${converted}, found ${value}`;
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
