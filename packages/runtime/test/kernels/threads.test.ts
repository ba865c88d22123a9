// Every kernel the pool splits (element-wise, layout, row-wise, optimizer, products, attention,
// gathers) must give the single-threaded result bit for bit: chunks only divide independent outputs.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Kernels, Ptr } from '../../src/kernels/types.js';
import type { WasmKernels } from '../../src/kernels/wasm.js';
import { filled, heap, Rng, randomBuffer, read, threaded, wasm } from './helpers.js';

after(() => threaded.dispose());

const rng = new Rng(21);

function ints(values: readonly number[]): Ptr {
  const ptr = heap.allocZeroed(Math.max(1, values.length));
  new Int32Array(heap.memory.buffer).set(values, ptr);
  return ptr;
}

/**
 * Runs `call` on the single-threaded and the threaded backend, each writing a fresh NaN-filled
 * output of n floats, and asserts the outputs are identical and that the worker took a share (it
 * joins once it gets a core, so the threaded call is repeated until it does, up to 5 s).
 */
function sameOnThreads(label: string, n: number, call: (kernels: Kernels, out: Ptr) => void): void {
  const expectedOut = filled(n, Number.NaN);
  call(wasm, expectedOut);
  const expected = read(expectedOut, n);
  const pool = threaded as WasmKernels;
  const before = pool.workerChunks;
  const deadline = Date.now() + 5000;
  let got: Float32Array;
  do {
    const out = filled(n, Number.NaN);
    call(threaded, out);
    got = read(out, n);
    heap.free(out);
  } while (pool.workerChunks === before && Date.now() < deadline);
  assert.ok(pool.workerChunks > before, `${label}: the worker never took a chunk`);
  assert.deepEqual(got, expected, label);
  heap.free(expectedOut);
}

describe('kernels split across threads', () => {
  const n = 1_000_003;
  const x = randomBuffer(rng, n);
  const g = randomBuffer(rng, n);

  /**
   * A gather of `count` rows from random places in x, each two runs of `inner` floats `srcOuter`
   * apart, packed one after another into the destination.
   */
  function rowGather(count: number, inner: number, srcOuter: number) {
    const srcOffsets = ints(Array.from({ length: count }, () => rng.int(n - 2 * srcOuter)));
    const dstOffsets = ints(Array.from({ length: count }, (_, r) => r * 2 * inner));
    return (k: Kernels, dst: Ptr) =>
      k.gatherRows({
        src: x,
        srcOffsets,
        dst,
        dstOffsets,
        count,
        outer: 2,
        srcOuter,
        dstOuter: inner,
        inner,
        srcInner: 1,
      });
  }

  it('element-wise ops over a million elements (odd length)', () => {
    sameOnThreads('tanh', n, (k, y) => k.unary('tanh', x, y, n));
    sameOnThreads('affine', n, (k, y) => k.affine(x, y, n, 1.5, -0.25));
    sameOnThreads('relu backward', n, (k, dx) => k.activationBackward('relu', x, g, dx, n));
    sameOnThreads('select', n, (k, y) => k.select(x, g, x, y, n));
  });

  it('broadcast binary ops and permutations along their outer axis', () => {
    const rows = 600;
    const cols = 1001;
    const row = randomBuffer(rng, cols);
    sameOnThreads('add with a broadcast row', rows * cols, (k, y) =>
      k.binary('add', x, [cols, 1], row, [0, 1], y, [rows, cols]),
    );
    sameOnThreads('permute [40, 130, 97] → [2, 0, 1]', 40 * 130 * 97, (k, y) =>
      k.permute(x, y, [40, 130, 97], [2, 0, 1]),
    );
  });

  it('reductions, softmax and its backward by rows', () => {
    sameOnThreads('sum over the middle axis', 700 * 9, (k, y) => k.reduce('sum', x, y, 700, 150, 9));
    sameOnThreads('log-softmax', 5000 * 100, (k, y) => k.softmax(x, y, 5000, 100, true));
    sameOnThreads('softmax backward', 5000 * 100, (k, dx) => k.softmaxBackward(x, g, dx, 5000, 100, false));
  });

  it('AdamW and SGD steps (parameters and both moments)', () => {
    const params = {
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.01,
      decoupled: true,
      step: 3,
    };
    const count = 400_000;
    // The second moment starts non-negative, as it always is.
    const positive = randomBuffer(rng, count, 0, 1);
    sameOnThreads('adamw', 3 * count, (k, out) => {
      heap.f32.copyWithin(out, x, x + 2 * count);
      heap.f32.copyWithin(out + 2 * count, positive, positive + count);
      k.adam(out, g, out + count, out + 2 * count, count, params);
    });
    const sgd = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 1e-4, nesterov: true, firstStep: false };
    sameOnThreads('sgd', 2 * count, (k, out) => {
      heap.f32.copyWithin(out, x, x + 2 * count);
      k.sgd(out, g, out + count, count, sgd);
    });
  });

  it('row gathers', () => {
    const count = 3000;
    sameOnThreads('gatherRows', count * 130, rowGather(count, 65, 200));
  });

  it('dense, CSR and block-sparse products, one column and many', () => {
    const rows = 1024;
    const cols = 1024;
    const bias = randomBuffer(rng, rows);
    const dense = { format: 'dense' as const, blockRows: rows / 4, blockCols: cols / 4, values: x };
    // CSR: every row keeps a random 40% of its columns; BSR: a random half of the 4×4 blocks.
    const csrRowPtr = [0];
    const csrIndex: number[] = [];
    for (let o = 0; o < rows; o++) {
      for (let i = 0; i < cols; i++) if (rng.uniform() < 0.4) csrIndex.push(i);
      csrRowPtr.push(csrIndex.length);
    }
    const csr = {
      format: 'csr' as const,
      rows,
      rowPtr: ints(csrRowPtr),
      index: ints(csrIndex),
      wideIndex: true,
      values: g,
    };
    const bsrRowPtr = [0];
    const bsrIndex: number[] = [];
    for (let r = 0; r < rows / 4; r++) {
      for (let c = 0; c < cols / 4; c++) if (rng.uniform() < 0.5) bsrIndex.push(c);
      bsrRowPtr.push(bsrIndex.length);
    }
    const bsr = {
      format: 'bsr' as const,
      blockRows: rows / 4,
      rowPtr: ints(bsrRowPtr),
      index: ints(bsrIndex),
      wideIndex: true,
      values: g,
    };
    for (const columns of [1, 24]) {
      const ld = columns === 1 ? 1 : 24;
      const input = randomBuffer(rng, cols * ld);
      for (const matrix of [dense, csr, bsr]) {
        sameOnThreads(`${matrix.format} × ${columns} columns`, rows * ld, (k, y) =>
          k.product(matrix, input, ld, columns, bias, true, y),
        );
      }
    }
  });

  it('attention over heads, batch 32', () => {
    const nodes = 21;
    const width = 24;
    const batch = 32;
    const ld = batch * width;
    const heads = 16;
    const dims = 8;
    const channelsPerHead = 64;
    const q = randomBuffer(rng, heads * dims * ld);
    const keys = randomBuffer(rng, heads * dims * ld);
    const u = randomBuffer(rng, channelsPerHead * ld);
    const bias = randomBuffer(rng, nodes * width, 0, 0.3);
    const table: number[] = [];
    const indices: number[] = [];
    for (let h = 0; h < heads; h++) {
      // Every other head static (its given matrix), the rest dynamic over their own dims.
      table.push(
        h * dims,
        h % 2 === 0 ? dims : 0,
        indices.length,
        channelsPerHead,
        bias,
        h * channelsPerHead,
        0,
      );
      for (let c = 0; c < channelsPerHead; c++) indices.push((c * 7 + h) % channelsPerHead);
    }
    const scratch = heap.alloc(nodes * width);
    sameOnThreads('attentionMix', heads * channelsPerHead * ld, (k, out) =>
      k.attentionMix({
        ...{ heads, table: ints(table), indices: ints(indices), q, k: keys, u, ld, batch },
        ...{ nodes, paddedNodes: width, scale: 0.35, scratch, out, bias: 0 },
      }),
    );
  });

  it('survives calls of changing chunk counts back to back (no lost or stale chunk)', () => {
    // Alternating sizes change the chunk count from call to call, which once let a worker claim a
    // chunk of the next call with the last call's claim word and hang the pool.
    const sizes = [300_000, 60_000, 1_000_000, 40_000];
    for (let round = 0; round < 400; round++) {
      const size = sizes[round % sizes.length];
      threaded.affine(x, g, size, 2, 1);
    }
    const expected = filled(sizes[2], 0);
    wasm.affine(x, expected, sizes[2], 2, 1);
    assert.deepEqual(read(g, sizes[2]), read(expected, sizes[2]));
  });

  it('hands each chunk its own arguments when calls of different arity alternate', () => {
    // Every thread reuses one argument list for its chunks: a longer call's arguments must not
    // leak into a shorter one's, nor a chunk's into the next chunk's.
    const count = 2000;
    const gather = rowGather(count, 32, 100);
    const size = 600_000;
    const gathered = filled(count * 64, Number.NaN);
    const scaled = filled(size, Number.NaN);
    gather(wasm, gathered);
    wasm.affine(x, scaled, size, 3, -1);
    const expected = [read(gathered, count * 64), read(scaled, size)];
    for (let round = 0; round < 50; round++) {
      gather(threaded, gathered);
      threaded.affine(x, scaled, size, 3, -1);
    }
    assert.deepEqual([read(gathered, count * 64), read(scaled, size)], expected);
    heap.free(gathered);
    heap.free(scaled);
  });
});
