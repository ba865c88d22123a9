import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  ATTENTION_ADD,
  ATTENTION_FINISH,
  type AttentionParams,
  type HeapMatrix,
  type Kernels,
  type Ptr,
} from '../../src/kernels/types.js';
import { assertClose, filled, heap, Rng, randomBuffer, read, threaded, ts, wasm } from './helpers.js';

after(() => threaded.dispose());

const backends: [string, Kernels][] = [
  ['wasm', wasm],
  ['ts', ts],
];

function ints(values: readonly number[]): Ptr {
  const ptr = heap.allocZeroed(Math.max(1, values.length));
  new Int32Array(heap.memory.buffer).set(values, ptr);
  return ptr;
}

function u16s(values: readonly number[]): Ptr {
  const ptr = heap.allocZeroed(Math.max(1, Math.ceil(values.length / 2)));
  new Uint16Array(heap.memory.buffer).set(values, ptr * 2);
  return ptr;
}

const indexTable = (values: readonly number[], wide: boolean) => (wide ? ints(values) : u16s(values));

/** A rows × cols matrix W (output rows) with some empty rows, as a plain array. */
function sparseMatrix(rng: Rng, rows: number, cols: number, density: number): Float64Array {
  return Float64Array.from({ length: rows * cols }, (_, e) =>
    Math.floor(e / cols) % 5 !== 3 && rng.uniform() < density ? rng.range(-1, 1) : 0,
  );
}

/** W in the heap in a format, laid out as the kernel contract (types.ts HeapMatrix) says. */
function heapMatrix(
  w: Float64Array,
  rows: number,
  cols: number,
  format: HeapMatrix['format'],
  wide: boolean,
) {
  const blockRows = Math.ceil(rows / 4);
  const blockCols = Math.ceil(cols / 4);
  const at = (o: number, i: number) => (o < rows && i < cols ? w[o * cols + i] : 0);
  if (format === 'dense') {
    const values = heap.allocZeroed(16 * blockRows * blockCols);
    for (let o = 0; o < rows; o++)
      for (let i = 0; i < cols; i++) heap.f32[values + o * 4 * blockCols + i] = at(o, i);
    return { format, blockRows, blockCols, values } satisfies HeapMatrix;
  }
  const rowPtr = [0];
  const index: number[] = [];
  const values: number[] = [];
  if (format === 'csr') {
    for (let o = 0; o < rows; o++) {
      for (let i = 0; i < cols; i++) {
        if (at(o, i) === 0) continue;
        index.push(i);
        values.push(at(o, i));
      }
      rowPtr.push(index.length);
    }
    const matrix = { format, rows, rowPtr: ints(rowPtr), index: indexTable(index, wide), wideIndex: wide };
    return { ...matrix, values: floats(values) } satisfies HeapMatrix;
  }
  for (let r = 0; r < blockRows; r++) {
    for (let c = 0; c < blockCols; c++) {
      const block = Array.from({ length: 16 }, (_, e) => at(4 * r + Math.floor(e / 4), 4 * c + (e % 4)));
      if (block.every((v) => v === 0)) continue;
      index.push(c);
      values.push(...block);
    }
    rowPtr.push(index.length);
  }
  const matrix = { format, blockRows, rowPtr: ints(rowPtr), index: indexTable(index, wide), wideIndex: wide };
  return { ...matrix, values: floats(values) } satisfies HeapMatrix;
}

function floats(values: readonly number[]): Ptr {
  const ptr = heap.allocZeroed(Math.max(1, values.length));
  heap.f32.set(values, ptr);
  return ptr;
}

describe('sparse products', () => {
  const shapes = [
    { rows: 13, cols: 22, density: 0.3 },
    { rows: 64, cols: 520, density: 1 },
    { rows: 40, cols: 70, density: 0.05 },
  ];
  // Column vectors: 1, 2, 6, 7, 9 and 25 (chunks of at most 7 vectors in wasm, near-equal widths).
  const columnCounts = [1, 2, 5, 24, 28, 36, 100];
  for (const format of ['dense', 'csr', 'bsr'] as const) {
    for (const wide of format === 'dense' ? [false] : [false, true]) {
      it(`${format}${wide ? ' (i32 indices)' : ''}: act(bias + W·x) for 1 to 100 columns, wasm and ts`, () => {
        const rng = new Rng(7);
        for (const { rows, cols, density } of shapes) {
          const w = sparseMatrix(rng, rows, cols, density);
          const matrix = heapMatrix(w, rows, cols, format, wide);
          const paddedRows = 4 * Math.ceil(rows / 4);
          const bias = floats(
            Array.from({ length: paddedRows }, (_, o) => (o < rows ? rng.range(-1, 1) : 0)),
          );
          for (const columns of columnCounts) {
            // Rows are wider than the lanes written, to catch writes past them.
            const ld = columns === 1 ? 1 : 4 * Math.ceil(columns / 4) + 4;
            const lanes = columns === 1 ? 1 : 4 * Math.ceil(columns / 4);
            const x = randomBuffer(rng, 4 * Math.ceil(cols / 4) * ld);
            const sums = new Float64Array(rows * lanes);
            for (let o = 0; o < rows; o++) {
              for (let c = 0; c < lanes; c++) {
                let sum = heap.f32[bias + o];
                for (let i = 0; i < cols; i++) sum += w[o * cols + i] * heap.f32[x + i * ld + c];
                sums[o * lanes + c] = sum;
              }
            }
            for (const relu of [false, true]) {
              const expected = relu ? sums.map((v) => Math.max(v, 0)) : sums;
              for (const [name, kernels] of backends) {
                const y = filled(paddedRows * ld, Number.NaN);
                kernels.product(matrix, x, ld, columns, bias, relu, y);
                const got = read(y, paddedRows * ld);
                const label = `${name} ${rows}×${cols} columns ${columns} relu ${relu}`;
                const written = Float64Array.from(
                  { length: rows * lanes },
                  (_, e) => got[Math.floor(e / lanes) * ld + (e % lanes)],
                );
                assertClose(written, expected, 1e-5, label, Math.sqrt(cols));
                for (let o = 0; o < rows; o++) {
                  for (let c = lanes; c < ld; c++)
                    assert.ok(Number.isNaN(got[o * ld + c]), `${label}: wrote past lane ${lanes}`);
                }
                heap.free(y);
              }
            }
            heap.free(x);
          }
        }
      });
    }
  }
});

describe('attention of all heads', () => {
  // Widths of 1 to 13 vectors (the wasm kernel mixes up to 6 per pass, in chunks of up to 3), odd and
  // even node counts, and channel and dim counts that are and are not multiples of the 3 rows the
  // kernel computes at once.
  const cases = [
    { nodes: 1, batch: 2 },
    { nodes: 6, batch: 3 },
    { nodes: 11, batch: 2 },
    { nodes: 16, batch: 2 },
    { nodes: 20, batch: 2 },
    { nodes: 21, batch: 4 },
    { nodes: 22, batch: 2 },
    { nodes: 25, batch: 2 },
    { nodes: 32, batch: 1 },
    { nodes: 37, batch: 3 },
    { nodes: 50, batch: 1 },
  ];
  for (const { nodes, batch } of cases) {
    it(`scores, column softmax and mixing for static and dynamic heads (${nodes} nodes), wasm and ts`, () => {
      const rng = new Rng(nodes);
      const width = 4 * Math.ceil(nodes / 4);
      const ld = batch * width + 4;
      const dims = 8;
      const channels = 11;
      const q = randomBuffer(rng, dims * ld);
      const k = randomBuffer(rng, dims * ld);
      const u = randomBuffer(rng, channels * ld);
      // Static heads have dimCount 0; matrices are [nodes, width].
      const heads = [
        { firstDim: 1, dimCount: 3, channels: [0, 4, 6] },
        { firstDim: 0, dimCount: 0, channels: [2] },
        { firstDim: 4, dimCount: 1, channels: [1, 2, 3, 5] },
        { firstDim: 0, dimCount: 8, channels: [10, 9, 8, 7, 6, 5, 4] },
        { firstDim: 2, dimCount: 2, channels: [3, 7] },
        { firstDim: 0, dimCount: 0, channels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
        { firstDim: 5, dimCount: 3, channels: [] },
        { firstDim: 6, dimCount: 2, channels: [8, 0, 9, 1, 10] },
      ];
      const matrices = heads.map(() => {
        const m = Array.from({ length: nodes * width }, (_, e) =>
          e % width < nodes ? rng.range(0, 0.3) : 0,
        );
        return floats(m);
      });
      const table: number[] = [];
      const indices: number[] = [];
      let outRow = 0;
      heads.forEach((h, i) => {
        table.push(h.firstDim, h.dimCount, indices.length, h.channels.length, matrices[i], outRow, 0);
        indices.push(...h.channels);
        outRow += h.channels.length;
      });
      const scale = 0.4;
      const expected = new Float64Array(outRow * ld).fill(Number.NaN);
      const f = heap.f32;
      for (let b = 0; b < batch; b++) {
        let row = 0;
        heads.forEach((h, hi) => {
          // Aᵀ[j, i]: the given matrix for a static head, else a softmax over j.
          const a = new Float64Array(nodes * width);
          for (let i = 0; i < width; i++) {
            const logits = Array.from({ length: nodes }, (_, j) => {
              let dot = 0;
              for (let d = h.firstDim; d < h.firstDim + h.dimCount; d++) {
                dot += f[k + d * ld + b * width + j] * f[q + d * ld + b * width + i];
              }
              return f[matrices[hi] + j * width + i] + scale * dot;
            });
            const top = Math.max(...logits);
            const total = logits.reduce((s, v) => s + Math.exp(v - top), 0);
            for (let j = 0; j < nodes; j++) {
              a[j * width + i] =
                h.dimCount > 0 ? Math.exp(logits[j] - top) / total : f[matrices[hi] + j * width + i];
            }
          }
          for (const channel of h.channels) {
            for (let i = 0; i < width; i++) {
              let sum = 0;
              for (let j = 0; j < nodes; j++) sum += f[u + channel * ld + b * width + j] * a[j * width + i];
              expected[row * ld + b * width + i] = sum;
            }
            row++;
          }
        });
      }
      for (const [name, kernels] of [...backends, ['wasm, 2 threads', threaded] as [string, Kernels]]) {
        const out = filled(outRow * ld, Number.NaN);
        const params: AttentionParams = {
          ...{ heads: heads.length, table: ints(table), indices: ints(indices), q, k, u, ld, batch },
          ...{ nodes, paddedNodes: width, scale, scratch: heap.alloc(nodes * width), out, bias: 0 },
        };
        kernels.attentionMix(params);
        assertClose(read(out, outRow * ld), expected, 1e-5, `${name} attention`);
      }
    });
  }

  it('sums heads into the same rows, the last adding the bias with relu, wasm and ts', () => {
    const rng = new Rng(5);
    const [nodes, width, batch, dims, rows] = [21, 24, 3, 4, 7];
    const ld = batch * width;
    const [q, k, u] = [dims, dims, 3 * rows].map((n) => randomBuffer(rng, n * ld));
    const bias = floats(Array.from({ length: rows }, () => rng.range(-1, 1)));
    const matrix = floats(
      Array.from({ length: nodes * width }, (_, e) => (e % width < nodes ? rng.range(0, 0.3) : 0)),
    );
    // Three heads, each mixing its own block of rows of u: static, dynamic, dynamic.
    const head = (h: number, mode: number, outRow: number) => [
      h === 0 ? 0 : h,
      h === 0 ? 0 : 2,
      h * rows,
      rows,
      matrix,
      outRow,
      mode,
    ];
    const indices = ints(Array.from({ length: 3 * rows }, (_, r) => r));
    const call = (kernels: Kernels, table: number[], heads: number, out: Ptr) =>
      kernels.attentionMix({
        ...{ heads, table: ints(table), indices, q, k, u, ld, batch, nodes, paddedNodes: width },
        ...{ scale: 0.5, scratch: heap.alloc(nodes * width), out, bias },
      });
    // Reference: each head stored into rows of its own, by the stored mode tested above.
    const separate = filled(3 * rows * ld, 0);
    call(
      ts,
      [0, 1, 2].flatMap((h) => head(h, 0, h * rows)),
      3,
      separate,
    );
    const mixed = read(separate, 3 * rows * ld);
    const expected = new Float64Array(rows * ld);
    for (let e = 0; e < rows * ld; e++) {
      const sum = mixed[e] + mixed[rows * ld + e] + mixed[2 * rows * ld + e];
      expected[e] = Math.max(0, sum + heap.f32[bias + Math.floor(e / ld)]);
    }
    const table = [
      ...head(0, 0, 0),
      ...head(1, ATTENTION_ADD, 0),
      ...head(2, ATTENTION_ADD | ATTENTION_FINISH, 0),
    ];
    for (const [name, kernels] of [...backends, ['wasm, 2 threads', threaded] as [string, Kernels]]) {
      for (const calls of [batch, 1]) {
        const out = filled(rows * ld, Number.NaN);
        // Batch 1 (one call per sample) is where threads would otherwise take heads.
        for (let b = 0; b < batch / calls; b++) {
          const column = b * calls * width;
          kernels.attentionMix({
            ...{ heads: 3, table: ints(table), indices, q: q + column, k: k + column, u: u + column, ld },
            ...{ batch: calls, nodes, paddedNodes: width, scale: 0.5, scratch: heap.alloc(nodes * width) },
            ...{ out: out + column, bias },
          });
        }
        assertClose(read(out, rows * ld), expected, 1e-5, `${name}, ${calls} samples a call`);
      }
    }
  });

  it('softmax of widely spread scores: maxima and sums, no overflow', () => {
    // Scores up to ±200: e^(s − max) over 0 down to far below the smallest float.
    const nodes = 9;
    const width = 12;
    const ld = width;
    const q = floats(Array.from({ length: ld }, (_, i) => (i % 3) * 10 - 10));
    const k = floats(Array.from({ length: ld }, (_, j) => (j % 4) * 5 - 7));
    const u = floats(Array.from({ length: 2 * ld }, (_, e) => (e % 5) - 2));
    const bias = floats(Array.from({ length: nodes * width }, (_, e) => (e % 7) - 3));
    const expected = new Float64Array(2 * ld);
    const f = heap.f32;
    for (let i = 0; i < width; i++) {
      const logits = Array.from(
        { length: nodes },
        (_, j) => f[bias + j * width + i] + 2 * f[k + j] * f[q + i],
      );
      const top = Math.max(...logits);
      const total = logits.reduce((s, v) => s + Math.exp(v - top), 0);
      for (let r = 0; r < 2; r++) {
        let sum = 0;
        for (let j = 0; j < nodes; j++) sum += f[u + r * ld + j] * (Math.exp(logits[j] - top) / total);
        expected[r * ld + i] = sum;
      }
    }
    for (const [name, kernels] of backends) {
      const out = filled(2 * ld, Number.NaN);
      kernels.attentionMix({
        ...{ heads: 1, table: ints([0, 1, 0, 2, bias, 0, 0]), indices: ints([0, 1]), q, k, u, ld, batch: 1 },
        ...{ nodes, paddedNodes: width, scale: 2, scratch: heap.alloc(nodes * width), out, bias: 0 },
      });
      assertClose(read(out, 2 * ld), expected, 1e-5, `${name} spread attention`);
    }
  });
});

describe('gathers', () => {
  it('copies runs of strided elements to offset rows, single elements included, wasm and ts', () => {
    const rng = new Rng(3);
    const src = randomBuffer(rng, 400);
    for (const [count, outer, srcOuter, dstOuter, inner, srcInner, runs] of [
      [5, 2, 100, 30, 7, 9, 0],
      [6, 1, 0, 0, 1, 0, 0],
      [4, 3, 11, 1, 1, 0, 0],
      // Consecutive sources (4×4 transposes) between single ones, and a run tail of 1.
      [11, 3, 120, 30, 5, 12, 1],
    ]) {
      const srcOffsets = Array.from({ length: count }, (_, r) => (runs && r !== 4 ? r : rng.int(20)));
      const dstOffsets = Array.from({ length: count }, (_, r) => r * 70);
      const expected = new Float32Array(count * 70).fill(Number.NaN);
      for (let r = 0; r < count; r++) {
        for (let o = 0; o < outer; o++) {
          for (let i = 0; i < inner; i++) {
            expected[dstOffsets[r] + o * dstOuter + i] =
              heap.f32[src + srcOffsets[r] + o * srcOuter + i * srcInner];
          }
        }
      }
      for (const [name, kernels] of backends) {
        const dst = filled(count * 70, Number.NaN);
        const tables = { srcOffsets: ints(srcOffsets), dstOffsets: ints(dstOffsets) };
        kernels.gatherRows({ src, dst, ...tables, count, outer, srcOuter, dstOuter, inner, srcInner });
        assert.deepEqual(read(dst, count * 70), expected, `${name} gather ${count}×${outer}×${inner}`);
      }
    }
  });
});
