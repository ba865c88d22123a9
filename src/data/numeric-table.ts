/**
 * A fast parser for text tables of numbers (one row per line, a fixed number of fields), shared by
 * every text reader. It scans bytes instead of splitting strings: FPHA alone is 105k lines × 64
 * fields. When a line does not parse, a slow second look at that one line explains what was expected
 * and what was found, located as `file:line`.
 */
import { DataFormatError } from '../errors.js';
import { byteOrderMarkLength } from './text.js';

export interface TableFormat {
  /** `,` for CSV; ` ` means fields separated by runs of spaces or tabs. */
  readonly separator: ',' | ' ';
  readonly columns: number;
}

export interface NumericTable {
  readonly rows: number;
  readonly columns: number;
  /** rows × columns, row-major. */
  readonly values: Float64Array;
}

const NEWLINE = 10;
const CARRIAGE_RETURN = 13;
const SPACE = 32;
const TAB = 9;
const COMMA = 44;
const DOT = 46;
const PLUS = 43;
const MINUS = 45;
const DIGIT_0 = 48;
const DIGIT_9 = 57;
const LOWER_E = 101;
const UPPER_E = 69;

/** Powers of ten that are exact doubles; scaling an exact mantissa by one of them rounds only once. */
const EXACT_POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** Mantissas of up to 15 decimal digits are exact doubles. */
const MAX_EXACT_DIGITS = 15;

/**
 * Parses `bytes` (ASCII text, LF or CRLF line endings, a UTF-8 byte-order mark skipped) into a table
 * with `format.columns` numbers per line. Blank lines are allowed only at the end. An empty file
 * gives a table with 0 rows. Throws `DataFormatError(file, line, …)` on the first malformed line.
 */
export function parseNumericTable(bytes: Uint8Array, file: string, format: TableFormat): NumericTable {
  const values = new Float64Array(maxRows(bytes, format.columns) * format.columns);
  const cursor = new LineCursor(bytes, byteOrderMarkLength(bytes, file));
  let rows = 0;
  let firstBlankLine = 0;
  while (cursor.next()) {
    if (cursor.start === cursor.end) {
      if (firstBlankLine === 0) firstBlankLine = cursor.line;
      continue;
    }
    if (firstBlankLine !== 0) {
      throw new DataFormatError(file, firstBlankLine, `expected ${describe(format)}, found an empty line`);
    }
    if (!parseRow(bytes, cursor.start, cursor.end, format, values, rows * format.columns)) {
      throw new DataFormatError(file, cursor.line, diagnoseLine(cursor.text(), format));
    }
    rows++;
  }
  return { rows, columns: format.columns, values: values.subarray(0, rows * format.columns) };
}

/** Walks the lines of a byte buffer; `start`/`end` exclude the line terminator. */
class LineCursor {
  start = 0;
  end = 0;
  line = 0;
  private nextStart: number;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
  ) {
    this.nextStart = start;
  }

  next(): boolean {
    if (this.nextStart >= this.bytes.length) return false;
    this.start = this.nextStart;
    const newline = this.bytes.indexOf(NEWLINE, this.start);
    const lineEnd = newline === -1 ? this.bytes.length : newline;
    this.end = lineEnd > this.start && this.bytes[lineEnd - 1] === CARRIAGE_RETURN ? lineEnd - 1 : lineEnd;
    this.nextStart = lineEnd + 1;
    this.line++;
    return true;
  }

  text(): string {
    return latin1(this.bytes.subarray(this.start, this.end));
  }
}

/** One character per byte, as Node's 'latin1' decodes, without Node's Buffer (browsers parse too). */
function latin1(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

/**
 * The most rows `bytes` can hold: one per line, and no more than its length allows, since a row of
 * n numbers takes at least 2n − 1 bytes plus a line feed: a file of a million blank lines does not
 * allocate a million rows.
 */
function maxRows(bytes: Uint8Array, columns: number): number {
  let lines = 1;
  for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) lines++;
  return Math.min(lines, Math.floor((bytes.length + 1) / (2 * columns)));
}

/** Scratch state of the number scanner: where the last number ended and its value. */
const scanned = { end: 0, value: 0 };

/** The fast path: true and `out` filled when the line holds exactly `format.columns` plain numbers. */
function parseRow(
  bytes: Uint8Array,
  start: number,
  end: number,
  format: TableFormat,
  out: Float64Array,
  offset: number,
): boolean {
  let i = skipBlanks(bytes, start, end);
  for (let column = 0; column < format.columns; column++) {
    if (column > 0) {
      const afterBlanks = skipBlanks(bytes, i, end);
      if (format.separator === ',') {
        if (bytes[afterBlanks] !== COMMA) return false;
        i = skipBlanks(bytes, afterBlanks + 1, end);
      } else {
        if (afterBlanks === i) return false;
        i = afterBlanks;
      }
    }
    if (!scanNumber(bytes, i, end)) return false;
    out[offset + column] = scanned.value;
    i = scanned.end;
  }
  return skipBlanks(bytes, i, end) === end;
}

function skipBlanks(bytes: Uint8Array, i: number, end: number): number {
  while (i < end && (bytes[i] === SPACE || bytes[i] === TAB)) i++;
  return i;
}

function isDigit(byte: number): boolean {
  return byte >= DIGIT_0 && byte <= DIGIT_9;
}

/** Scans `[+-]digits[.digits][e[+-]digits]` at `i` into `scanned`; false if there is no number there. */
function scanNumber(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  const negative = bytes[i] === MINUS;
  if (negative || bytes[i] === PLUS) i++;
  let mantissa = 0;
  let digits = 0;
  let exponent = 0;
  for (; i < end && isDigit(bytes[i]); i++, digits++) mantissa = mantissa * 10 + (bytes[i] - DIGIT_0);
  if (i < end && bytes[i] === DOT) {
    for (i++; i < end && isDigit(bytes[i]); i++, digits++, exponent--) {
      mantissa = mantissa * 10 + (bytes[i] - DIGIT_0);
    }
  }
  if (digits === 0) return false;
  if (i < end && (bytes[i] === LOWER_E || bytes[i] === UPPER_E)) {
    i++;
    const negativeExponent = bytes[i] === MINUS;
    if (negativeExponent || bytes[i] === PLUS) i++;
    let written = 0;
    let power = 0;
    for (; i < end && isDigit(bytes[i]); i++, written++) power = power * 10 + (bytes[i] - DIGIT_0);
    if (written === 0) return false;
    exponent += negativeExponent ? -power : power;
  }
  const magnitude =
    digits <= MAX_EXACT_DIGITS && Math.abs(exponent) < EXACT_POWERS_OF_TEN.length
      ? exponent < 0
        ? mantissa / EXACT_POWERS_OF_TEN[-exponent]
        : mantissa * EXACT_POWERS_OF_TEN[exponent]
      : Math.abs(Number(latin1(bytes.subarray(start, i))));
  if (!Number.isFinite(magnitude)) return false;
  scanned.value = negative ? -magnitude : magnitude;
  scanned.end = i;
  return true;
}

const PLAIN_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Explains why a line failed the fast path: the field count, or the first field that is not a number. */
function diagnoseLine(text: string, format: TableFormat): string {
  const fields = splitFields(text, format.separator);
  if (fields.length !== format.columns) {
    return `expected ${describe(format)}, found ${fields.length} field${fields.length === 1 ? '' : 's'}`;
  }
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    if (PLAIN_NUMBER.test(field) && Number.isFinite(Number(field))) continue;
    const expected =
      PLAIN_NUMBER.test(field) || /^[+-]?(nan|inf(inity)?)$/i.test(field) ? 'a finite number' : 'a number';
    return `field ${i + 1} of ${format.columns}: expected ${expected}, found ${JSON.stringify(shorten(field))}`;
  }
  return `expected ${describe(format)}, found ${JSON.stringify(shorten(text))}`;
}

function splitFields(text: string, separator: ',' | ' '): string[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  return separator === ',' ? trimmed.split(',').map((field) => field.trim()) : trimmed.split(/[ \t]+/);
}

function describe(format: TableFormat): string {
  const separated = format.separator === ',' ? 'comma-separated' : 'space-separated';
  return `${format.columns} ${separated} numbers`;
}

function shorten(text: string): string {
  return text.length <= 40 ? text : `${text.slice(0, 37)}...`;
}
