/**
 * Matrix products: 2-D, batched ([..., M, K] · [..., K, N]), a shared left operand times a batch
 * (A[V, V] · X[B, V, F], the graph convolution's adjacency product) and a batch times a shared right
 * operand (X[B, V, F] · W[F, G], computed as one [B·V, F] · [F, G] product). Gradients use the
 * kernels' transposed forms, so no transpose is ever materialised.
 */
import { record } from '../autograd.js';
import { formatShape, ShapeError, sizeOf } from '../shape.js';
import { k, Tensor } from '../tensor.js';

/** One (possibly batched) product as the kernels see it. A stride of 0 shares an operand. */
interface Product {
  batch: number;
  m: number;
  k: number;
  n: number;
  strideA: number;
  strideB: number;
  outShape: number[];
}

function plan(a: Tensor, b: Tensor): Product {
  const fail = (why: string) =>
    new ShapeError(
      `matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} are incompatible (${why})`,
    );
  if (a.rank < 2 || b.rank < 2) throw fail('both operands need at least 2 dimensions');
  const [m, ka] = a.shape.slice(-2);
  const [kb, n] = b.shape.slice(-2);
  if (ka !== kb) throw fail(`inner dimensions ${ka} ≠ ${kb}`);
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  if (batchB.length === 0) {
    // A batch times a shared right operand is one tall product.
    const rows = sizeOf(batchA) * m;
    return { batch: 1, m: rows, k: ka, n, strideA: 0, strideB: 0, outShape: [...batchA, m, n] };
  }
  if (batchA.length === 0) {
    return { batch: sizeOf(batchB), m, k: ka, n, strideA: 0, strideB: ka * n, outShape: [...batchB, m, n] };
  }
  if (batchA.length !== batchB.length || batchA.some((d, i) => d !== batchB[i])) {
    throw fail('batch dimensions differ');
  }
  return {
    batch: sizeOf(batchA),
    m,
    k: ka,
    n,
    strideA: m * ka,
    strideB: ka * n,
    outShape: [...batchA, m, n],
  };
}

/**
 * C[i] = op(A[i]) · op(B[i]) over a batch; `strideC = 0` sums every item into one C (zeroed first).
 * Leading dimensions follow from the stored (untransposed) shapes.
 */
function gemm(
  a: Tensor,
  transA: boolean,
  strideA: number,
  b: Tensor,
  transB: boolean,
  strideB: number,
  c: Tensor,
  strideC: number,
  dims: { batch: number; m: number; n: number; k: number },
): void {
  const accumulate = strideC === 0 && dims.batch > 1;
  if (accumulate) c.data.fill(0);
  k().gemm({
    transA,
    transB,
    m: dims.m,
    n: dims.n,
    k: dims.k,
    alpha: 1,
    a: a.ptr,
    lda: transA ? dims.m : dims.k,
    strideA,
    b: b.ptr,
    ldb: transB ? dims.k : dims.n,
    strideB,
    beta: accumulate ? 1 : 0,
    c: c.ptr,
    ldc: dims.n,
    strideC,
    batch: dims.batch,
  });
}

/**
 * Matrix product of [..., M, K] and [..., K, N] (`torch.matmul` without vector operands): both 2-D,
 * equal batch axes, or one side 2-D and shared by every item of the other's batch.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const p = plan(a, b);
  const { batch, m, n } = p;
  const c = Tensor.empty(p.outShape);
  gemm(a, false, p.strideA, b, false, p.strideB, c, m * n, p);
  return record('matmul', c, [a, b], (g) => {
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (a.requiresGrad) {
      // dA = g · Bᵀ
      da = Tensor.empty(a.shape);
      gemm(g, false, m * n, b, true, p.strideB, da, p.strideA, { batch, m, n: p.k, k: n });
    }
    if (b.requiresGrad) {
      // dB = Aᵀ · g
      db = Tensor.empty(b.shape);
      gemm(a, true, p.strideA, g, false, m * n, db, p.strideB, { batch, m: p.k, n, k: m });
    }
    return [da, db];
  });
}
