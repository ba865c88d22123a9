/**
 * Runtime data in the kernels' heap: an arena of allocations freed together, and the upload of a
 * stored matrix into the layout the product kernels read (kernels/types.ts HeapMatrix).
 */
import type { Heap } from '../kernels/heap.js';
import type { HeapMatrix, Ptr } from '../kernels/types.js';
import { BLOCK, type StoredMatrix } from './storage.js';

/** Allocations in one heap, typed writes included, all freed together. */
export class HeapArena {
  readonly allocations: Ptr[] = [];
  constructor(private readonly heap: Heap) {}

  zeros(floats: number): Ptr {
    const ptr = this.heap.allocZeroed(floats);
    this.allocations.push(ptr);
    return ptr;
  }

  floats(values: ArrayLike<number>, floats = values.length): Ptr {
    const ptr = this.zeros(floats);
    this.heap.f32.set(values, ptr);
    return ptr;
  }

  ints(values: ArrayLike<number>): Ptr {
    const ptr = this.zeros(values.length);
    new Int32Array(this.heap.memory.buffer).set(values, ptr);
    return ptr;
  }

  /** u16 or i32 entries, as stored. */
  indices(values: Uint16Array | Int32Array): Ptr {
    if (values instanceof Int32Array) return this.ints(values);
    const ptr = this.zeros(Math.ceil(values.length / 2));
    new Uint16Array(this.heap.memory.buffer).set(values, ptr * 2);
    return ptr;
  }

  free(): void {
    for (const ptr of this.allocations.splice(0)) this.heap.free(ptr);
  }
}

/** A product's weight and bias (zero-padded to whole blocks of 4 rows) in the heap. */
export interface HeapLayer {
  matrix: HeapMatrix;
  bias: Ptr;
}

export function uploadLayer(arena: HeapArena, m: StoredMatrix, bias: Float32Array): HeapLayer {
  const blockRows = Math.ceil(m.rows / BLOCK);
  const paddedBias = arena.floats(bias, blockRows * BLOCK);
  if (m.format === 'dense') {
    const blockCols = Math.ceil(m.cols / BLOCK);
    const padded = new Float32Array(blockRows * blockCols * BLOCK * BLOCK);
    for (let o = 0; o < m.rows; o++) {
      padded.set(m.values.subarray(o * m.cols, (o + 1) * m.cols), o * blockCols * BLOCK);
    }
    return {
      matrix: { format: 'dense', blockRows, blockCols, values: arena.floats(padded) },
      bias: paddedBias,
    };
  }
  const arrays = {
    rowPtr: arena.ints(m.rowPtr),
    index: arena.indices(m.index),
    wideIndex: m.index instanceof Int32Array,
    values: arena.floats(m.values),
  };
  const matrix: HeapMatrix =
    m.format === 'csr' ? { format: 'csr', rows: m.rows, ...arrays } : { format: 'bsr', blockRows, ...arrays };
  return { matrix, bias: paddedBias };
}
