/** Neural-network ops with fused kernels: softmax, log-softmax, cross-entropy, layer norm, dropout. */
import { record } from '../autograd.js';
import type { Rng } from '../random.js';
import { formatShape, normalizeAxis, ShapeError } from '../shape.js';
import { type IntTensor, k, Tensor } from '../tensor.js';
import { add, mul } from './elementwise.js';
import { permute } from './layout.js';

/** Applies a last-axis op along any axis by moving that axis last and back. */
function alongAxis(x: Tensor, axis: number, op: string, lastAxisOp: (x: Tensor) => Tensor): Tensor {
  const ax = normalizeAxis(axis, x.rank, op);
  if (ax === x.rank - 1) return lastAxisOp(x);
  const perm = Array.from({ length: x.rank }, (_, i) => i);
  perm[ax] = x.rank - 1;
  perm[x.rank - 1] = ax;
  return permute(lastAxisOp(permute(x, perm)), perm);
}

function softmaxLast(x: Tensor, log: boolean): Tensor {
  const cols = x.shape[x.rank - 1];
  const rows = x.size / cols;
  const y = Tensor.empty(x.shape);
  k().softmax(x.ptr, y.ptr, rows, cols, log);
  return record(log ? 'logSoftmax' : 'softmax', y, [x], (g) => {
    const dx = Tensor.empty(x.shape);
    k().softmaxBackward(y.ptr, g.ptr, dx.ptr, rows, cols, log);
    return [dx];
  });
}

/** Softmax along an axis, the last by default (`torch.softmax`). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return alongAxis(x, axis, 'softmax', (t) => softmaxLast(t, false));
}

/** Log-softmax along an axis, the last by default, computed stably (`torch.log_softmax`). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return alongAxis(x, axis, 'logSoftmax', (t) => softmaxLast(t, true));
}

/** Options of `crossEntropy`. */
export interface CrossEntropyOptions {
  /** ε of label smoothing: the target is (1 − ε)·one-hot + ε/C (PyTorch's convention). */
  labelSmoothing?: number;
}

/** Mean cross-entropy of logits [N, C] against integer labels [N]. */
export function crossEntropy(logits: Tensor, labels: IntTensor, options: CrossEntropyOptions = {}): Tensor {
  const smoothing = options.labelSmoothing ?? 0;
  if (logits.rank !== 2 || labels.size !== logits.shape[0]) {
    throw new ShapeError(
      `crossEntropy: expected logits [N, C] and labels [N], got ${formatShape(logits.shape)} and ${formatShape(labels.shape)}`,
    );
  }
  if (!(smoothing >= 0 && smoothing < 1))
    throw new RangeError(`crossEntropy: labelSmoothing must be in [0, 1), got ${smoothing}`);
  const [n, classes] = logits.shape;
  labels.data.forEach((label, i) => {
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new RangeError(`crossEntropy: label ${label} at index ${i} is outside 0..${classes - 1}`);
    }
  });
  const logProbs = Tensor.empty(logits.shape);
  k().softmax(logits.ptr, logProbs.ptr, n, classes, true);
  const lp = logProbs.data;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let rowSum = 0;
    for (let c = 0; c < classes; c++) rowSum += lp[i * classes + c];
    total -= (1 - smoothing) * lp[i * classes + labels.data[i]] + (smoothing / classes) * rowSum;
  }
  const loss = Tensor.empty([]);
  loss.data[0] = total / n;
  return record('crossEntropy', loss, [logits], (g) => {
    // d loss / d logits = (softmax − target) / N
    const scale = g.item() / n;
    const dx = Tensor.empty(logits.shape);
    const d = dx.data;
    const probs = logProbs.data;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < classes; c++) {
        const target = (c === labels.data[i] ? 1 - smoothing : 0) + smoothing / classes;
        d[i * classes + c] = (Math.exp(probs[i * classes + c]) - target) * scale;
      }
    }
    return [dx];
  });
}

/** Layer normalisation over the last axis, with an optional affine weight and bias of that size. */
export function layerNorm(x: Tensor, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  const cols = x.shape[x.rank - 1];
  const rows = x.size / cols;
  const y = Tensor.empty(x.shape);
  const mean = Tensor.empty([rows]);
  const rstd = Tensor.empty([rows]);
  k().layerNorm(x.ptr, y.ptr, mean.ptr, rstd.ptr, rows, cols, eps);
  const normalized = record('layerNorm', y, [x], (g) => {
    const dx = Tensor.empty(x.shape);
    k().layerNormBackward(x.ptr, mean.ptr, rstd.ptr, g.ptr, dx.ptr, rows, cols);
    return [dx];
  });
  const scaled = weight ? mul(normalized, weight) : normalized;
  return bias ? add(scaled, bias) : scaled;
}

/**
 * Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1 − p), so
 * evaluation needs no rescaling. The identity when not training or p = 0.
 */
export function dropout(x: Tensor, p: number, rng: Rng, training = true): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const mask = Tensor.empty(x.shape);
  const m = mask.data;
  const scale = 1 / (1 - p);
  for (let i = 0; i < m.length; i++) m[i] = rng.uniform() < p ? 0 : scale;
  return mul(x, mask);
}
