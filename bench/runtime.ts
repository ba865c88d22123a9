/**
 * Inference benchmark of the runtime engine on an FPHA-sized GCN (21 nodes, 576 input features in 4
 * chunks, 45 classes, ~2.3 M parameters): the dense model, and the model pruned to 95% with CTF-like
 * masks, compacted and run with each storage format forced and with the cost model's choice.
 *
 * `node dist/bench/runtime.js` prints the table; `--calibrate` measures the product kernels and
 * prints the cost-model constants fitted to this machine (src/runtime/cost-model.ts).
 */
import { Rng, randn } from '../src/engine/index.js';
import { createKernelsSync, type KernelBackend } from '../src/kernels/index.js';
import { SkeletonGcn } from '../src/model/gcn.js';
import { setHardMask, tiling } from '../src/model/layers.js';
import { keepTopEntries, maskStructure } from '../src/prune/masks.js';
import { formatTable } from '../src/report/table.js';
import { type CompactModel, compactModel } from '../src/runtime/compact.js';
import {
  describeStorage,
  InferenceEngine,
  LAYER_NAMES,
  type RuntimeOptions,
  toRuntimeModel,
} from '../src/runtime/engine.js';

/** Weight of the row, column and block scores against the entry's own in the CTF-like masks. */
const GROUP_WEIGHT = 3;

export interface FphaModels {
  dense: CompactModel;
  pruned: CompactModel;
  /** Fraction of prunable weights removed, and of those the share inside empty rows/columns/blocks. */
  pruningRate: number;
  structuredShare: number;
}

/**
 * The FPHA-sized GCN, dense and pruned to `rate` with masks like CTF leaves: each entry's score sums
 * random scores of its row, column and block (the structure CTF prunes first) and its own, and the
 * top entries over all prunable weights are kept, so most of the budget removes whole rows, columns
 * and blocks and the rest is unstructured sparsity inside the kept groups.
 */
export function fphaModels(rate = 0.95, seed = 0): FphaModels {
  const rng = new Rng(seed);
  const model = new SkeletonGcn(
    { nodes: 21, inputDim: 576, classes: 45, edges: [] },
    { encoderChunks: 4 },
    rng,
  );
  model.eval();
  // Non-zero biases, so constant channels fold into real values.
  for (const p of model.parameters()) if (p.shape.length === 1) p.data.set(randn(p.shape, rng, 0.1).data);
  const dense = compactModel(model, {});
  const weights = model.prunableWeights();
  const scores = weights.map((w) => {
    const t = tiling(w.blocks, w.rows, w.cols);
    const rows = Float32Array.from({ length: w.rows }, () => rng.normal());
    const cols = Float32Array.from({ length: w.cols }, () => rng.normal());
    const blocks = Float32Array.from({ length: t.blockRows * t.blockCols }, () => rng.normal());
    return Float32Array.from({ length: w.rows * w.cols }, (_, e) => {
      const i = Math.floor(e / w.cols);
      const j = e % w.cols;
      const block = Math.floor(i / t.rowsPerBlock) * t.blockCols + Math.floor(j / t.colsPerBlock);
      return GROUP_WEIGHT * Math.min(rows[i], cols[j], blocks[block]) + rng.normal();
    });
  });
  const total = scores.reduce((n, s) => n + s.length, 0);
  const masks = keepTopEntries(scores, Math.round((1 - rate) * total));
  let kept = 0;
  let structured = 0;
  weights.forEach((w, l) => {
    const structure = maskStructure(masks[l], w.rows, w.cols, tiling(w.blocks, w.rows, w.cols));
    kept += structure.kept;
    structured += structure.structuredRemoved;
    setHardMask(w.layer, masks[l]);
  });
  const pruned = compactModel(model, Object.fromEntries(weights.map((w, l) => [w.name, masks[l]])));
  return { dense, pruned, pruningRate: 1 - kept / total, structuredShare: structured / (total - kept) };
}

/** Per-call latencies in microseconds (each call timed alone), after a warm-up. */
function latencies(run: () => void, calls: number): number[] {
  for (let i = 0; i < Math.max(20, calls / 10); i++) run();
  return Array.from({ length: calls }, () => {
    const start = performance.now();
    run();
    return (performance.now() - start) * 1000;
  }).sort((a, b) => a - b);
}

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

export interface RuntimeBenchRow {
  label: string;
  /** Format per layer (encoder, projection, conv, fc, classifier). */
  formats: string;
  /** Batch 1 latency, µs. */
  p50: number;
  p90: number;
  /** Samples per second at batch 32 (median over repetitions). */
  throughput: number;
}

function benchEngine(
  label: string,
  compact: CompactModel,
  options: RuntimeOptions,
  kernels: KernelBackend,
  calls: number,
): RuntimeBenchRow {
  const runtime = toRuntimeModel(compact, options);
  const storage = describeStorage(runtime);
  const engine = new InferenceEngine(runtime, kernels);
  const rng = new Rng(1);
  const sample = compact.nodes * compact.chunks * compact.chunkWidth;
  const x1 = Float32Array.from({ length: sample }, () => rng.range(-1, 1));
  const x32 = Float32Array.from({ length: 32 * sample }, () => rng.range(-1, 1));
  const out1 = new Float32Array(compact.classes);
  const out32 = new Float32Array(32 * compact.classes);
  const single = latencies(() => engine.predict(x1, 1, out1), calls);
  const batched = latencies(() => engine.predict(x32, 32, out32), Math.max(20, calls / 20));
  engine.dispose();
  return {
    label,
    formats: LAYER_NAMES.map((name) => storage[name].format).join(' '),
    p50: quantile(single, 0.5),
    p90: quantile(single, 0.9),
    throughput: 32 / (quantile(batched, 0.5) / 1e6),
  };
}

export interface RuntimeBenchTable {
  title: string;
  columns: string[];
  rows: string[][];
  notes: string[];
}

/** The engine on the dense model and on the pruned one with each format forced and chosen. */
export function benchRuntime(calls = 2000): RuntimeBenchTable {
  const models = fphaModels();
  const kernels = createKernelsSync({ backend: 'wasm', threads: 1 });
  const cases: [string, CompactModel, RuntimeOptions][] = [
    ['dense model', models.dense, { format: 'dense' }],
    ['pruned, dense', models.pruned, { format: 'dense' }],
    ['pruned, csr', models.pruned, { format: 'csr' }],
    ['pruned, bsr', models.pruned, { format: 'bsr' }],
    ['pruned, auto (batch 1)', models.pruned, { format: 'auto' }],
    ['pruned, auto (batch 32)', models.pruned, { format: 'auto', batch: 32 }],
  ];
  const rows = cases.map(([label, compact, options]) => benchEngine(label, compact, options, kernels, calls));
  kernels.dispose();
  const dense = rows[0];
  const auto = rows[4];
  const speedup = dense.p50 / auto.p50;
  const storage = describeStorage(toRuntimeModel(models.pruned));
  return {
    title: `Inference, FPHA-sized GCN (21 nodes, 576 features, 45 classes), wasm SIMD, 1 thread`,
    columns: [
      'model, formats',
      'enc proj conv fc cls',
      'batch 1 p50',
      'p90',
      'batch 32 samples/s',
      'speed-up p50',
    ],
    rows: rows.map((row) => [
      row.label,
      row.formats,
      `${row.p50.toFixed(1)} µs`,
      `${row.p90.toFixed(1)} µs`,
      row.throughput.toFixed(0),
      `${(dense.p50 / row.p50).toFixed(1)}×`,
    ]),
    notes: [
      `pruned: ${(100 * models.pruningRate).toFixed(1)}% of prunable weights removed, ${(100 * models.structuredShare).toFixed(0)}% of them inside empty rows/columns/blocks`,
      `pruned layers (rows×cols, nonzeros, 4×4 blocks): ${LAYER_NAMES.map((name) => `${name} ${storage[name].rows}×${storage[name].cols} ${storage[name].nonzeros} ${storage[name].blocks}`).join('; ')}`,
      `target: pruned (auto) ≥ 10× faster than the dense model at batch 1 → ${speedup.toFixed(1)}× ${speedup >= 10 ? 'met' : 'NOT met'}`,
      `latency: ${calls} calls timed one by one after warm-up; throughput: median of ${Math.max(20, calls / 20)} batch-32 calls`,
    ],
  };
}

function printTable(table: RuntimeBenchTable): void {
  console.log(`${table.title}\n`);
  for (const line of formatTable([table.columns, ...table.rows], 'llrrrr', true)) console.log(line);
  for (const note of table.notes) console.log(`  ${note}`);
}

async function main(): Promise<void> {
  const os = await import('node:os');
  console.log(
    `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}\n`,
  );
  printTable(benchRuntime());
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
