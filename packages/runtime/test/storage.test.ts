import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  convertStorage,
  denseValues,
  STORAGE_FORMATS,
  storeNonzeros,
  storeTransposed,
  summarizeStorage,
} from '../src/model/storage.js';
import { Rng } from '../src/random.js';

/** A 10 × 13 matrix (partial 4×4 blocks on both edges) with a third of its entries nonzero. */
function sparseMatrix(seed: number): { values: Float32Array; rows: number; cols: number } {
  const rng = new Rng(seed);
  const rows = 10;
  const cols = 13;
  const values = Float32Array.from({ length: rows * cols }, () => (rng.uniform() < 0.33 ? rng.normal() : 0));
  return { values, rows, cols };
}

describe('weight storage', () => {
  it('builds every format alike from dense values and from the list of nonzeros', () => {
    const { values, rows, cols } = sparseMatrix(4);
    const positions = Int32Array.from(values.keys()).filter((k) => values[k] !== 0);
    const nonzeros = Float32Array.from(positions, (k) => values[k]);
    for (const format of STORAGE_FORMATS) {
      const stored = storeTransposed(values, rows, cols, format);
      assert.deepEqual(storeNonzeros(positions, nonzeros, rows, cols, format), stored, format);
      assert.deepEqual(denseValues(stored), values, format);
      assert.equal(stored.format, format);
    }
  });

  it('converts between every pair of formats as if stored in the target format directly', () => {
    const { values, rows, cols } = sparseMatrix(6);
    for (const from of STORAGE_FORMATS) {
      const stored = storeTransposed(values, rows, cols, from);
      for (const to of STORAGE_FORMATS)
        assert.deepEqual(
          convertStorage(stored, to),
          storeTransposed(values, rows, cols, to),
          `${from} → ${to}`,
        );
    }
  });

  it('summarizes each format with the same nonzeros and 4×4 blocks, counted by hand', () => {
    const { values, rows, cols } = sparseMatrix(5);
    const nonzeros = values.filter((v) => v !== 0).length;
    const blocks = new Set(
      [...values.keys()]
        .filter((k) => values[k] !== 0)
        .map((k) => `${Math.floor(Math.floor(k / cols) / 4)},${Math.floor((k % cols) / 4)}`),
    ).size;
    // Bytes: dense all floats; csr row pointers, u16 columns and floats; bsr the same per 4×4 block.
    const bytes = {
      dense: 4 * rows * cols,
      csr: 4 * (rows + 1) + (2 + 4) * nonzeros,
      bsr: 4 * (Math.ceil(rows / 4) + 1) + (2 + 4 * 16) * blocks,
    };
    for (const format of STORAGE_FORMATS) {
      assert.deepEqual(summarizeStorage(storeTransposed(values, rows, cols, format)), {
        format,
        rows,
        cols,
        nonzeros,
        blocks,
        bytes: bytes[format],
      });
    }
  });

  it('keeps a matrix without nonzeros empty in the sparse formats', () => {
    const zeros = new Float32Array(6 * 5);
    for (const format of ['csr', 'bsr'] as const) {
      const stored = storeTransposed(zeros, 6, 5, format);
      assert.equal(summarizeStorage(stored).nonzeros, 0);
      assert.equal(stored.format === 'dense' ? -1 : stored.index.length, 0, format);
    }
  });
});
