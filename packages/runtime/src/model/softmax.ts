/** Softmax of each row of an [n, n] matrix, in float64: the adjacency of a static attention head. */
export function rowSoftmax(logits: Float32Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const row = logits.subarray(i * n, (i + 1) * n);
    const top = Math.max(...row);
    let total = 0;
    for (let j = 0; j < n; j++) total += out[i * n + j] = Math.exp(row[j] - top);
    for (let j = 0; j < n; j++) out[i * n + j] /= total;
  }
  return out;
}
