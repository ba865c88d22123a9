import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNumericTable, type TableFormat } from '../../src/data/numeric-table.js';
import { DataFormatError } from '../../src/errors.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const csv3 = { separator: ',' as const, columns: 3 };
const spaced3 = { separator: ' ' as const, columns: 3 };

function parseError(text: string, format: TableFormat = csv3): DataFormatError {
  try {
    parseNumericTable(bytes(text), 'data.txt', format);
  } catch (error) {
    assert.ok(error instanceof DataFormatError, `expected DataFormatError, got ${error}`);
    return error;
  }
  assert.fail(`no error for ${JSON.stringify(text)}`);
}

describe('parseNumericTable', () => {
  it('reads CSV with CRLF line endings, signs, exponents and a trailing blank line', () => {
    const table = parseNumericTable(bytes('1,-2.5,+3\r\n0.125,1e3,-4.5E-2\r\n\r\n'), 'a.csv', csv3);
    assert.equal(table.rows, 2);
    assert.deepEqual([...table.values], [1, -2.5, 3, 0.125, 1000, -0.045]);
  });

  it('parses exactly like Number() for plain decimals, including long mantissas', () => {
    const fields = ['79.827500', '-304.123456', '0.000001', '123456789.123456789', '.5', '7.'];
    const table = parseNumericTable(bytes(`${fields.join(' ')}\n`), 'a.txt', {
      separator: ' ',
      columns: fields.length,
    });
    assert.deepEqual([...table.values], fields.map(Number));
  });

  it('accepts runs of blanks between space-separated fields and an unterminated last line', () => {
    const table = parseNumericTable(bytes('1  2\t3\n4 5 6'), 'a.txt', spaced3);
    assert.deepEqual([...table.values], [1, 2, 3, 4, 5, 6]);
  });

  it('gives an empty table for an empty file', () => {
    assert.equal(parseNumericTable(bytes(''), 'a.txt', csv3).rows, 0);
  });

  it('reports a truncated line with its line number, expected and found field counts', () => {
    const error = parseError('1,2,3\n4,5\n');
    assert.equal(error.message, 'data.txt:2: expected 3 comma-separated numbers, found 2 fields');
    assert.equal(error.line, 2);
  });

  it('reports too many fields', () => {
    assert.match(
      parseError('1 2 3 4\n', spaced3).message,
      /^data\.txt:1: expected 3 space-separated numbers, found 4 fields$/,
    );
  });

  it('reports text in a number with the field position and the text found', () => {
    assert.equal(
      parseError('1,2,3\r\n4,abc,6\r\n').message,
      'data.txt:2: field 2 of 3: expected a number, found "abc"',
    );
    assert.match(parseError('1,2.5.1,3\n').message, /field 2 of 3: expected a number, found "2\.5\.1"/);
  });

  it('rejects NaN and infinities as non-finite numbers', () => {
    assert.equal(
      parseError('1,NaN,3\n').message,
      'data.txt:1: field 2 of 3: expected a finite number, found "NaN"',
    );
    assert.match(
      parseError('1,2,-Infinity\n').message,
      /field 3 of 3: expected a finite number, found "-Infinity"/,
    );
    assert.match(parseError('1,2,1e999\n').message, /field 3 of 3: expected a finite number, found "1e999"/);
  });

  it('rejects an empty line followed by more data', () => {
    assert.equal(
      parseError('1,2,3\n\n4,5,6\n').message,
      'data.txt:2: expected 3 comma-separated numbers, found an empty line',
    );
  });
});
