/**
 * Inference benchmark of the runtime engine on an FPHA-sized GCN (21 nodes, 576 input features in 4
 * chunks, 45 classes, ~2.3 M parameters): the dense model, and the model pruned to 95% with CTF-like
 * masks, compacted and run with each storage format forced and with the cost model's choice.
 *
 * `node dist/bench/runtime.js` prints the table; `--calibrate` measures the product kernels and
 * prints the cost-model constants fitted to this machine (src/runtime/cost-model.ts); `--validate`
 * compares the model's predictions with measurements on the pruned FPHA layers.
 */

import {
  type COSTS,
  type CostRegime,
  costRegime,
  createKernelsSync,
  describeStorage,
  estimateNanos,
  type FormatCost,
  HeapArena,
  InferenceEngine,
  type KernelBackend,
  LAYER_NAMES,
  type MatrixShape,
  matrixShape,
  STORAGE_FORMATS,
  type StorageFormat,
  storeMatrix,
  uploadLayer,
  workUnits,
} from '@skelprune/runtime/internal';
import { Rng, randn } from '../src/engine/index.js';
import { SkeletonGcn } from '../src/model/gcn.js';
import { setHardMask, tiling } from '../src/model/layers.js';
import { keepTopEntries, maskStructure } from '../src/prune/masks.js';
import { formatTable } from '../src/report/table.js';
import { type CompactModel, compactModel, type Matrix } from '../src/runtime/compact.js';
import { type RuntimeOptions, toRuntimeModel } from '../src/runtime/runtime-model.js';

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

/** Microseconds of each call, timed one by one. */
function timeCalls(run: () => void, calls: number): number[] {
  return Array.from({ length: calls }, () => {
    const start = performance.now();
    run();
    return (performance.now() - start) * 1000;
  });
}

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);

export interface RuntimeBenchRow {
  label: string;
  /** Format per layer (encoder, projection, conv, fc, classifier). */
  formats: string;
  /** Batch 1 latency, µs. */
  p50: number;
  p90: number;
  /** Samples per second at batch 32, from the median batch-32 call. */
  throughput: number;
}

/** An engine under test with its inputs and the latencies gathered so far. */
interface BenchCase {
  label: string;
  formats: string;
  run1: () => void;
  run32: () => void;
  single: number[];
  batched: number[];
  dispose: () => void;
}

function benchCase(
  label: string,
  compact: CompactModel,
  options: RuntimeOptions,
  kernels: KernelBackend,
): BenchCase {
  const runtime = toRuntimeModel(compact, options);
  const storage = describeStorage(runtime);
  const engine = new InferenceEngine(runtime, kernels);
  const rng = new Rng(1);
  const sample = compact.nodes * compact.chunks * compact.chunkWidth;
  const x1 = Float32Array.from({ length: sample }, () => rng.range(-1, 1));
  const x32 = Float32Array.from({ length: 32 * sample }, () => rng.range(-1, 1));
  const out1 = new Float32Array(compact.classes);
  const out32 = new Float32Array(32 * compact.classes);
  return {
    label,
    formats: LAYER_NAMES.map((name) => storage[name].format).join(' '),
    run1: () => engine.predict(x1, 1, out1),
    run32: () => engine.predict(x32, 32, out32),
    single: [],
    batched: [],
    dispose: () => engine.dispose(),
  };
}

export interface RuntimeBenchTable {
  title: string;
  columns: string[];
  rows: string[][];
  notes: string[];
}

/**
 * The engine on the dense model and on the pruned one with each format forced and chosen. The cases
 * take turns in `rounds` rounds (each: `calls` batch-1 calls and calls/20 batch-32 calls per case),
 * so load from other jobs on the machine falls on all of them alike.
 */
export function benchRuntime(rounds = 10, calls = 300): RuntimeBenchTable {
  const models = fphaModels();
  const kernels = createKernelsSync({ backend: 'wasm', threads: 1 });
  const cases = (
    [
      ['dense model', models.dense, { format: 'dense' }],
      ['pruned, dense', models.pruned, { format: 'dense' }],
      ['pruned, csr', models.pruned, { format: 'csr' }],
      ['pruned, bsr', models.pruned, { format: 'bsr' }],
      ['pruned, auto (batch 1)', models.pruned, { format: 'auto' }],
      ['pruned, auto (batch 32)', models.pruned, { format: 'auto', batch: 32 }],
    ] as const
  ).map(([label, compact, options]) => benchCase(label, compact, options, kernels));
  const batchedCalls = Math.max(5, calls / 20);
  for (const c of cases) {
    timeCalls(c.run1, calls);
    timeCalls(c.run32, batchedCalls);
  }
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      c.single.push(...timeCalls(c.run1, calls));
      c.batched.push(...timeCalls(c.run32, batchedCalls));
    }
  }
  for (const c of cases) c.dispose();
  kernels.dispose();
  const rows: RuntimeBenchRow[] = cases.map((c) => {
    const single = sorted(c.single);
    return {
      label: c.label,
      formats: c.formats,
      p50: quantile(single, 0.5),
      p90: quantile(single, 0.9),
      throughput: 32 / (quantile(sorted(c.batched), 0.5) / 1e6),
    };
  });
  const dense = rows[0];
  const speedup = dense.p50 / rows[4].p50;
  const storage = describeStorage(toRuntimeModel(models.pruned));
  const layers = LAYER_NAMES.map((name) => {
    const { rows: r, cols, nonzeros, blocks } = storage[name];
    return `${name} ${r}×${cols} ${nonzeros} ${blocks}`;
  });
  return {
    title: 'Inference, FPHA-sized GCN (21 nodes, 576 features, 45 classes), wasm SIMD, 1 thread',
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
      `pruned Wᵀ (rows×cols, nonzeros, 4×4 blocks): ${layers.join('; ')}`,
      `target: pruned (auto) ≥ 10× faster than the dense model at batch 1 → ${speedup.toFixed(1)}× ${speedup >= 10 ? 'met' : 'NOT met'}`,
      `latency: ${rounds * calls} batch-1 calls per case, each timed alone, cases interleaved in ${rounds} rounds after warm-up; throughput: median of ${rounds * batchedCalls} batch-32 calls`,
    ],
  };
}

/** One timed product for the cost-model fit. */
interface ProductTiming {
  format: StorageFormat;
  regime: CostRegime;
  shape: MatrixShape;
  columns: number;
  nanos: number;
}

const CALIBRATION_SIZES: [number, number][] = [
  [24, 64],
  [96, 512],
  [512, 1408],
];
const CALIBRATION_DENSITIES = [0.02, 0.05, 0.1, 0.2, 0.4, 1];
/** Batch 1 runs 24 node columns (21 nodes padded) and 1 FC column; batch 32 runs 768 and 32. */
const CALIBRATION_COLUMNS = [1, 4, 8, 24, 32, 96, 768];

/**
 * A layer weight W [in = cols, out = rows] at `density`: uniform, or in 4×4 blocks of Wᵀ kept at
 * twice the density and half full (the shape block-structured pruning leaves).
 */
function randomWeight(rows: number, cols: number, density: number, blocky: boolean, rng: Rng): Matrix {
  const blockKept = new Map<number, boolean>();
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < cols; i++) {
    for (let o = 0; o < rows; o++) {
      const block = Math.floor(o / 4) * cols + Math.floor(i / 4);
      if (blocky && !blockKept.has(block)) blockKept.set(block, rng.uniform() < Math.min(1, 2 * density));
      const kept = blocky
        ? blockKept.get(block)! && rng.uniform() < Math.min(1, density / Math.min(1, 2 * density))
        : rng.uniform() < density;
      if (kept) data[i * rows + o] = rng.range(-1, 1);
    }
  }
  return { rows: cols, cols: rows, data };
}

/** 25th-percentile nanoseconds per call over repetitions of ~2 ms, after a warm-up. */
function nanosPerCall(run: () => void): number {
  const start = performance.now();
  let calls = 0;
  while (performance.now() - start < 10) {
    run();
    calls++;
  }
  const perRepetition = Math.max(1, Math.ceil(calls / 5));
  const samples = Array.from({ length: 9 }, () => {
    const t = performance.now();
    for (let i = 0; i < perRepetition; i++) run();
    return ((performance.now() - t) * 1e6) / perRepetition;
  }).sort((a, b) => a - b);
  return quantile(samples, 0.25);
}

function timeProducts(kernels: KernelBackend): ProductTiming[] {
  const rng = new Rng(11);
  const heap = kernels.heap;
  const timings: ProductTiming[] = [];
  for (const [rows, cols] of CALIBRATION_SIZES) {
    for (const density of CALIBRATION_DENSITIES) {
      for (const blocky of density < 1 ? [false, true] : [false]) {
        const w = randomWeight(rows, cols, density, blocky, rng);
        const shape = matrixShape(w);
        for (const format of STORAGE_FORMATS) {
          const arena = new HeapArena(heap);
          const layer = uploadLayer(arena, storeMatrix(w, format), new Float32Array(rows));
          for (const columns of CALIBRATION_COLUMNS) {
            const ld = columns === 1 ? 1 : Math.ceil(columns / 4) * 4;
            const x = arena.floats(Float32Array.from({ length: (cols + 4) * ld }, () => rng.range(-1, 1)));
            const y = arena.zeros((rows + 4) * ld);
            const nanos = nanosPerCall(() =>
              kernels.product(layer.matrix, x, ld, columns, layer.bias, true, y),
            );
            timings.push({ format, regime: costRegime(format, shape, columns), shape, columns, nanos });
          }
          arena.free();
        }
      }
    }
  }
  return timings;
}

/** Features of a timing in COSTS order (call, row, entry, vector). */
function features(t: ProductTiming): number[] {
  const units = workUnits(t.format, t.shape, t.columns);
  return [1, units.row, units.entry, units.vector];
}

/**
 * Non-negative least squares of relative error: weighted normal equations, dropping the most
 * negative coefficient until none is left (a handful of features, so this active-set loop is exact
 * enough). Features that never vary (vector = entry for one column) are left out from the start.
 */
function fitCosts(timings: readonly ProductTiming[], usable: boolean[]): number[] {
  const active = [...usable];
  for (;;) {
    const index = active.flatMap((on, k) => (on ? [k] : []));
    const n = index.length;
    const normal = Array.from({ length: n }, () => new Float64Array(n + 1));
    for (const t of timings) {
      const phi = features(t);
      const weight = 1 / (t.nanos * t.nanos);
      for (let a = 0; a < n; a++) {
        for (let b = 0; b < n; b++) normal[a][b] += weight * phi[index[a]] * phi[index[b]];
        normal[a][n] += weight * phi[index[a]] * t.nanos;
      }
    }
    const solution = solve(normal);
    const coefficients = [0, 0, 0, 0];
    index.forEach((k, a) => {
      coefficients[k] = solution[a];
    });
    const worst = index.reduce((w, k) => (coefficients[k] < coefficients[w] ? k : w), index[0]);
    if (coefficients[worst] >= 0) return coefficients;
    active[worst] = false;
  }
}

/** Gaussian elimination with partial pivoting on an augmented n × (n + 1) system. */
function solve(m: Float64Array[]): number[] {
  const n = m.length;
  for (let col = 0; col < n; col++) {
    const pivot = m
      .slice(col)
      .reduce((best, row, r) => (Math.abs(row[col]) > Math.abs(m[best][col]) ? r + col : best), col);
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = col + 1; r < n; r++) {
      const factor = m[r][col] / m[col][col];
      for (let c = col; c <= n; c++) m[r][c] -= factor * m[col][c];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let sum = m[r][n];
    for (let c = r + 1; c < n; c++) sum -= m[r][c] * x[c];
    x[r] = sum / m[r][r];
  }
  return x;
}

export interface Calibration {
  costs: typeof COSTS;
  /** Median and worst relative error of the fit per regime and format. */
  errors: { regime: CostRegime; format: StorageFormat; cases: number; median: number; worst: number }[];
}

/** Times the product kernels on this machine and fits the cost model's constants. */
export function calibrateCostModel(): Calibration {
  const kernels = createKernelsSync({ backend: 'wasm', threads: 1 });
  const timings = timeProducts(kernels);
  kernels.dispose();
  const costs: Calibration['costs'] = { vector: {}, columns: {}, gemm: {} };
  const errors: Calibration['errors'] = [];
  for (const regime of ['vector', 'columns', 'gemm'] as const) {
    for (const format of STORAGE_FORMATS) {
      const cases = timings.filter((t) => t.regime === regime && t.format === format);
      if (cases.length === 0) continue;
      const [call, row, entry, vector] = fitCosts(cases, [true, true, true, regime !== 'vector']);
      const cost: FormatCost = { call, row, entry, vector };
      costs[regime][format] = cost;
      const relative = cases
        .map((t) => {
          const units = workUnits(t.format, t.shape, t.columns);
          const predicted =
            cost.call + cost.row * units.row + cost.entry * units.entry + cost.vector * units.vector;
          return Math.abs(predicted - t.nanos) / t.nanos;
        })
        .sort((a, b) => a - b);
      errors.push({
        regime,
        format,
        cases: cases.length,
        median: quantile(relative, 0.5),
        worst: relative[relative.length - 1],
      });
    }
  }
  return { costs, errors };
}

/** Predicted and measured time of each pruned FPHA layer in each format, at batch 1 and 32. */
export function validateCostModel(): RuntimeBenchTable {
  const { pruned } = fphaModels();
  const kernels = createKernelsSync({ backend: 'wasm', threads: 1 });
  const runtime = toRuntimeModel(pruned, { format: 'dense' });
  const rows: string[][] = [];
  for (const batch of [1, 32]) {
    for (const name of LAYER_NAMES) {
      const dense = runtime.layers[name];
      const w: Matrix = { rows: dense.weight.cols, cols: dense.weight.rows, data: transposed(dense.weight) };
      const shape = matrixShape(w);
      const columns = name === 'fc' || name === 'classifier' ? batch : batch * 24;
      const ld = columns === 1 ? 1 : Math.ceil(columns / 4) * 4;
      const measured = STORAGE_FORMATS.map((format) => {
        const arena = new HeapArena(kernels.heap);
        const layer = uploadLayer(arena, storeMatrix(w, format), dense.bias);
        const x = arena.floats(new Float32Array((shape.cols + 4) * ld).fill(0.5));
        const y = arena.zeros((shape.rows + 4) * ld);
        const nanos = nanosPerCall(() => kernels.product(layer.matrix, x, ld, columns, layer.bias, true, y));
        arena.free();
        return nanos;
      });
      const predicted = STORAGE_FORMATS.map((format) => estimateNanos(format, shape, columns));
      const best = (values: number[]) => STORAGE_FORMATS[values.indexOf(Math.min(...values))];
      rows.push([
        `${name}, batch ${batch}`,
        `${shape.rows}×${shape.cols}, ${shape.nonzeros} nz, ${shape.blocks} blocks`,
        ...STORAGE_FORMATS.map(
          (_, f) => `${(predicted[f] / 1000).toFixed(1)} / ${(measured[f] / 1000).toFixed(1)}`,
        ),
        `${best(predicted)} / ${best(measured)}`,
      ]);
    }
  }
  kernels.dispose();
  return {
    title: 'Cost model on the pruned FPHA layers: predicted / measured µs per product',
    columns: ['layer', 'Wᵀ', ...STORAGE_FORMATS, 'fastest (predicted / measured)'],
    rows,
    notes: ['node-level layers run 24 columns per sample, FC-level layers one'],
  };
}

function transposed(
  m: { rows: number; cols: number; format: string } & { values?: Float32Array },
): Float32Array {
  const values = m.values!;
  const out = new Float32Array(values.length);
  for (let o = 0; o < m.rows; o++)
    for (let i = 0; i < m.cols; i++) out[i * m.rows + o] = values[o * m.cols + i];
  return out;
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
  if (process.argv.includes('--calibrate')) {
    const { costs, errors } = calibrateCostModel();
    const rounded = (_: string, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(3)) : v);
    console.log(`COSTS = ${JSON.stringify(costs, rounded, 2)}\n`);
    const percent = (v: number) => `${(100 * v).toFixed(0)}%`;
    const lines = errors.map((e) => [
      e.regime,
      e.format,
      String(e.cases),
      percent(e.median),
      percent(e.worst),
    ]);
    const header = ['regime', 'format', 'cases', 'median error', 'worst'];
    for (const line of formatTable([header, ...lines], 'llrrr', true)) console.log(line);
  } else if (process.argv.includes('--validate')) {
    printTable(validateCostModel());
  } else {
    printTable(benchRuntime());
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
