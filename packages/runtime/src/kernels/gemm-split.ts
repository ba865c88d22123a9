/**
 * How a large gemm is cut into chunks for the thread pool: over the batch when every item has its
 * own C, else over the rows or the columns of C, aligned to the register tile, so no two chunks
 * ever write one element of C.
 */
import type { GemmParams } from './types.js';

export interface ChunkPlan {
  axis: 0 | 1 | 2;
  chunks: number;
  align: number;
}

/**
 * Rows (or columns) a row (column) chunk should get: every chunk repacks the whole other operand,
 * which costs about 3 / extent of its compute time here. Smaller products still get two chunks.
 */
const MIN_CHUNK_EXTENT = 64;

/**
 * Chunks over the batch when every item has its own C and there are enough items, else over the
 * rows or columns of C (aligned to the register tile), whichever dimension is larger.
 */
export function planChunks(p: GemmParams, maxChunks: number, tileRows: number, tileCols: number): ChunkPlan {
  if (p.strideC !== 0 && p.batch >= maxChunks) return { axis: 0, chunks: maxChunks, align: 1 };
  const [axis, extent, align] = p.m >= p.n ? [1 as const, p.m, tileRows] : [2 as const, p.n, tileCols];
  const chunks =
    extent < 2 * align ? 1 : Math.max(2, Math.min(maxChunks, Math.floor(extent / MIN_CHUNK_EXTENT)));
  return { axis, chunks, align };
}

/** The part of the gemm chunk `index` of `plan` computes. */
export function gemmChunk(p: GemmParams, plan: ChunkPlan, index: number): GemmParams {
  const total = plan.axis === 0 ? p.batch : plan.axis === 1 ? p.m : p.n;
  const units = Math.ceil(total / plan.align);
  const boundary = (i: number) => Math.min(total, Math.round((units * i) / plan.chunks) * plan.align);
  const start = boundary(index);
  const count = boundary(index + 1) - start;
  if (plan.axis === 0) {
    return {
      ...p,
      batch: count,
      a: p.a + start * p.strideA,
      b: p.b + start * p.strideB,
      c: p.c + start * p.strideC,
    };
  }
  if (plan.axis === 1) {
    return { ...p, m: count, a: p.a + start * (p.transA ? 1 : p.lda), c: p.c + start * p.ldc };
  }
  return { ...p, n: count, b: p.b + start * (p.transB ? p.ldb : 1), c: p.c + start };
}
