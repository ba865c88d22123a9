/** A plain-loop forward pass of a CompactModel, the yardstick for compaction and the fast runtime. */
import type { CompactModel, Matrix } from '../../src/runtime/compact.js';

const relu = (x: number) => Math.max(x, 0);

/** rows × M → rows × N: out = x · W + bias (optionally relu). */
function affine(
  x: Float64Array,
  rows: number,
  w: Matrix,
  bias: Float32Array,
  activate: boolean,
): Float64Array {
  const out = new Float64Array(rows * w.cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < w.cols; j++) {
      let s = bias[j];
      for (let k = 0; k < w.rows; k++) s += x[r * w.rows + k] * w.data[k * w.cols + j];
      out[r * w.cols + j] = activate ? relu(s) : s;
    }
  }
  return out;
}

/** Logits of one sample: x is [nodes, chunks · chunkWidth]. */
export function referenceForward(m: CompactModel, x: Float32Array): Float64Array {
  const { nodes, chunks, chunkWidth } = m;
  const inputs = m.encoder.inputs;
  const selected = new Float64Array(nodes * chunks * inputs.length);
  for (let v = 0; v < nodes; v++) {
    for (let c = 0; c < chunks; c++) {
      inputs.forEach((i, k) => {
        selected[(v * chunks + c) * inputs.length + k] = x[v * chunks * chunkWidth + c * chunkWidth + i];
      });
    }
  }
  const u = affine(selected, nodes * chunks, m.encoder.weight, m.encoder.bias, true); // [nodes, chunks·C']
  const q = affine(u, nodes, m.query.weight, m.query.bias, false);
  const k = affine(u, nodes, m.key.weight, m.key.bias, false);
  const width = m.query.weight.rows;
  const convIn = new Float64Array(nodes * m.conv.weight.rows);
  let row = 0;
  for (const head of m.heads) {
    const a = new Float64Array(nodes * nodes);
    for (let i = 0; i < nodes; i++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < nodes; j++) {
        let s = head.bias[i * nodes + j];
        for (const d of head.dims)
          s += q[i * m.query.weight.cols + d] * k[j * m.key.weight.cols + d] * m.scoreScale;
        a[i * nodes + j] = s;
        max = Math.max(max, s);
      }
      let total = 0;
      for (let j = 0; j < nodes; j++) total += a[i * nodes + j] = Math.exp(a[i * nodes + j] - max);
      for (let j = 0; j < nodes; j++) a[i * nodes + j] /= total;
    }
    for (const ch of head.channels) {
      for (let i = 0; i < nodes; i++) {
        let s = 0;
        for (let j = 0; j < nodes; j++) s += a[i * nodes + j] * u[j * width + ch];
        convIn[i * m.conv.weight.rows + row] = s;
      }
      row++;
    }
  }
  const z = affine(convIn, nodes, m.conv.weight, m.conv.bias, true);
  const fcIn = Float64Array.from(m.fc.inputs, (i) => z[i]);
  const h = affine(fcIn, 1, m.fc.weight, m.fc.bias, true);
  return affine(h, 1, m.classifier.weight, m.classifier.bias, false);
}
