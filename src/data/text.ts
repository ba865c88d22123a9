/**
 * The text of user files, for every reader: UTF-8 only (a UTF-8 byte-order mark is skipped), anything
 * else refused naming the file and the line where it stops being UTF-8; and JSON syntax errors turned
 * into one line with the line of the fault where the engine tells it. Pure (no file system).
 */
import { DataFormatError } from '../errors.js';

const NEWLINE = 10;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Bytes of a UTF-8 byte-order mark at the start of `bytes` (3 or 0), so readers skip it. A UTF-16 (or
 * UTF-32) byte-order mark fails: such a file must be saved as UTF-8 first.
 */
export function byteOrderMarkLength(bytes: Uint8Array, file: string): number {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 3;
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    const mark = bytes[0] === 0xff ? 'FF FE' : 'FE FF';
    throw new DataFormatError(
      file,
      1,
      `expected UTF-8 text, found a UTF-16 byte-order mark (${mark}); save the file as UTF-8`,
    );
  }
  return 0;
}

/** The UTF-8 text of `bytes`; other encodings (UTF-16, Latin-1, binary data) fail with file and line. */
export function decodeText(bytes: Uint8Array, file: string): string {
  const content = bytes.subarray(byteOrderMarkLength(bytes, file));
  try {
    return strictUtf8.decode(content);
  } catch (error) {
    if (!(error instanceof TypeError)) {
      // V8 caps the length of a string (about 512 MiB on 64-bit machines).
      throw new DataFormatError(file, undefined, `too large to read as text (${bytes.length} bytes)`);
    }
    const line = firstLineNotUtf8(content);
    throw new DataFormatError(
      file,
      line,
      'expected UTF-8 text, found bytes that are not UTF-8 (Latin-1 or binary data?); save the file as UTF-8',
    );
  }
}

/** 1-based; a line feed never occurs inside a UTF-8 multi-byte sequence, so lines decode on their own. */
function firstLineNotUtf8(bytes: Uint8Array): number {
  let line = 1;
  for (let start = 0; ; line++) {
    const newline = bytes.indexOf(NEWLINE, start);
    const end = newline === -1 ? bytes.length : newline;
    try {
      strictUtf8.decode(bytes.subarray(start, end));
    } catch {
      return line;
    }
    if (newline === -1) return line;
    start = newline + 1;
  }
}

/**
 * `JSON.parse(text)`, failing with `DataFormatError` naming `file` and the line: `line` when the text
 * is one line of a larger file (a `.jsonl` record), else the line of the fault when the engine gives
 * its position. The engine's message is kept, on one line.
 */
export function parseJsonText(text: string, file: string, line?: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message);
    const at = line ?? (position ? lineAt(text, Number(position[1])) : undefined);
    const reason = message.replace(/\s+/g, ' ');
    throw new DataFormatError(file, at, `expected valid JSON, found a syntax error (${reason})`);
  }
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
