/**
 * Sequences to classify from the bytes of one file, whatever its format: an SBU skeleton file, an FPHA
 * skeleton.txt (told apart by their first line) or a generic `.jsonl` read against the model's own
 * skeleton. Pure (no file system): the CLI reads files through ./sequence-file.ts, the browser demo
 * parses dropped files directly.
 */
import { DataFormatError } from '../errors.js';
import { parseFrameFile, sniffFrameFormat } from './frame-file.js';
import { parseSequencesFile } from './generic-format.js';
import { preview } from './schema-errors.js';
import { decodeText, parseJsonText } from './text.js';
import type { SkeletonSequence } from './types.js';

/** What the reader knows about the skeleton the sequences must have (the model's). */
export interface ExpectedSkeleton {
  jointNames: readonly string[];
  bones: readonly (readonly [number, number])[];
  persons: number;
  classNames: readonly string[];
}

/** `file` names the source in messages and ids (a path or a dropped file's name). */
export function parseSequenceFile(
  bytes: Uint8Array,
  file: string,
  skeleton: ExpectedSkeleton,
): SkeletonSequence[] {
  if (file.endsWith('.jsonl')) return parseJsonLines(decodeText(bytes, file), file, skeleton);
  if (file.endsWith('.json')) return parseJsonSequence(decodeText(bytes, file), file, skeleton);
  const format = sniffFrameFormat(bytes, file);
  const { frames, positions } = parseFrameFile(bytes, file, format);
  if (frames === 0) throw new DataFormatError(file, undefined, 'expected frames, found an empty file');
  return [
    {
      id: file.split(/[\\/]/).pop() ?? file,
      label: -1,
      subject: '',
      frames,
      persons: format.persons,
      joints: format.joints,
      positions,
      source: file,
    },
  ];
}

/**
 * One sequence as one JSON object, a line of sequences.jsonl on its own (`{"id", "frames", ...}`; the
 * id defaults to the file's name), pretty-printed or not.
 */
function parseJsonSequence(text: string, file: string, skeleton: ExpectedSkeleton): SkeletonSequence[] {
  const input = parseJsonText(text, file);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new DataFormatError(
      file,
      undefined,
      `expected one sequence as a JSON object {"frames": [...], "id"?, "label"?}, found ${Array.isArray(input) ? 'an array' : preview(input)}`,
    );
  }
  const record = { id: file.split(/[\\/]/).pop() ?? file, ...input };
  return parseJsonLines(JSON.stringify(record), file, skeleton);
}

function parseJsonLines(text: string, file: string, skeleton: ExpectedSkeleton): SkeletonSequence[] {
  const generic = {
    name: 'input',
    units: 'unspecified',
    jointNames: [...skeleton.jointNames],
    bones: skeleton.bones.map(([a, b]): [number, number] => [a, b]),
    persons: skeleton.persons,
    classNames: [...skeleton.classNames],
    centerJoint: 0,
    centerMode: 'first-frame' as const,
    channels: ['x', 'y', 'z'],
  };
  const { sequences, empty } = parseSequencesFile(text, file, generic, { labels: 'optional' });
  if (empty.length > 0) {
    const { id, line } = empty[0];
    throw new DataFormatError(file, line, `sequence "${id}" has no frames: nothing to classify`);
  }
  if (sequences.length === 0) throw new DataFormatError(file, undefined, 'expected sequences, found none');
  return sequences;
}
