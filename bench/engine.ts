/**
 * `npm run bench:engine`: the engine's performance report, one table per section. A section is an
 * async function returning a table; add new ones (e.g. the training step) to SECTIONS.
 */

import { createKernelsSync } from '@skelprune/runtime/internal';
import { kernels, useKernels } from '../src/engine/index.js';
import { benchMatmul, type MatmulRow } from './matmul.js';
import { benchTrainStep } from './train-step.js';

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  /** Lines printed under the table: targets, conditions. */
  notes?: string[];
}

type Section = () => Promise<Table[]>;

/** GFLOP/s targets for the larger headline shape (256×1024 · 1024×256). */
const TARGET_GFLOPS: Record<string, number> = { 'wasm 1 thread': 25, 'wasm 2 threads': 45 };

async function matmulSection(): Promise<Table[]> {
  const rows = await benchMatmul();
  const backends = [...new Set(rows.map((row) => row.backend))];
  const table = (group: MatmulRow['group'], title: string): Table => {
    const labels = [...new Set(rows.filter((row) => row.group === group).map((row) => row.label))];
    return {
      title,
      columns: ['shape', ...backends.map((backend) => `${backend} (GFLOP/s)`)],
      rows: labels.map((label) => [
        label,
        ...backends.map((backend) => {
          const row = rows.find((r) => r.label === label && r.backend === backend)!;
          return `${row.gflops.toFixed(1)} (${formatMs(row.ms)})`;
        }),
      ]),
    };
  };
  const larger = rows.filter((row) => row.label === '256×1024 · 1024×256');
  const verdicts = Object.entries(TARGET_GFLOPS).map(([backend, target]) => {
    const measured = larger.find((row) => row.backend === backend)?.gflops ?? 0;
    return `${backend}: target ≥ ${target} GFLOP/s, measured ${measured.toFixed(1)} → ${measured >= target ? 'met' : 'NOT met'}`;
  });
  const headline = table('headline', 'Dense matmul, float32: GFLOP/s (median time per call)');
  headline.notes = ['Targets for 256×1024 · 1024×256:', ...verdicts];
  const gcn = table(
    'gcn',
    'GCN training shapes (32 graphs × 42 nodes, 64→128 channels), forward and backward',
  );
  gcn.notes = ['[..] = operand stored transposed; "A shared" = stride 0 across the batch.'];
  return [headline, gcn];
}

/** Training step target (ms) of the engine issue; tfjs-wasm ~28 ms and plain TS ~58 ms for scale. */
const TRAIN_STEP_TARGET_MS = 15;

async function trainStepSection(): Promise<Table[]> {
  const memory = kernels().heap.memory;
  const backends = [
    { label: 'ts', kernels: createKernelsSync({ backend: 'ts', memory }) },
    { label: 'wasm 1 thread', kernels: createKernelsSync({ backend: 'wasm', threads: 1, memory }) },
    { label: 'wasm 2 threads', kernels: createKernelsSync({ backend: 'wasm', threads: 2, memory }) },
  ];
  const rows: string[][] = [];
  let twoThreads = Number.POSITIVE_INFINITY;
  for (const backend of backends) {
    await backend.kernels.whenReady();
    useKernels(backend.kernels);
    const result = benchTrainStep(backend.label === 'ts' ? 10 : 40);
    if (backend.label === 'wasm 2 threads') twoThreads = result.medianMs;
    rows.push([backend.label, formatMs(result.medianMs), formatMs(result.p90Ms), String(result.parameters)]);
    backend.kernels.dispose();
  }
  return [
    {
      title:
        'Training step (forward + backward + Adam): 2-layer graph network, 32 × 42 nodes, 64→128→128, 45 classes, sigmoid mask on every weight',
      columns: ['backend', 'median', 'p90', 'parameters'],
      rows,
      notes: [
        `target ≤ ${TRAIN_STEP_TARGET_MS} ms, measured ${formatMs(twoThreads)} (wasm 2 threads) → ${twoThreads <= TRAIN_STEP_TARGET_MS ? 'met' : 'NOT met'}`,
        'for scale (stack.md): tfjs-wasm ~28 ms, plain TS ~58 ms',
      ],
    },
  ];
}

/**
 * The FPHA training step against PyTorch, through the interleaved harness of the engine-speed issue
 * (../shared/bench/vs-pytorch: an exact PyTorch mirror of the network, timed round by round with
 * skelprune's real step). PyTorch is a measuring stick only: the section explains and skips where
 * the harness, the FPHA data or Debian's python3-torch is absent.
 */
async function versusPytorchSection(): Promise<Table[]> {
  const { existsSync, mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const { join, resolve } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const harness = resolve(process.env.SKELPRUNE_VS_PYTORCH ?? '../shared/bench/vs-pytorch');
  const data = resolve(process.env.SKELPRUNE_FPHA ?? '../shared/data/FPHA');
  const python = process.env.SKELPRUNE_PYTHON ?? '/usr/bin/python3';
  const title = 'FPHA training step at batch 32 against PyTorch 2 threads (interleaved rounds, medians)';
  const skip = (why: string): Table[] => [{ title, columns: ['skipped'], rows: [[why]] }];
  if (!existsSync(join(harness, 'driver.py'))) {
    return skip(`no harness at ${harness} (set SKELPRUNE_VS_PYTORCH to its folder)`);
  }
  if (!existsSync(data)) return skip(`no FPHA data at ${data} (set SKELPRUNE_FPHA)`);
  if (spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) {
    return skip(`${python} cannot import torch (Debian: apt-get install python3-torch libopenblas0-openmp)`);
  }
  const folder = mkdtempSync(join(tmpdir(), 'skelprune-vs-pytorch-'));
  try {
    const out = join(folder, 'train.json');
    const rounds = process.env.SKELPRUNE_VS_PYTORCH_ROUNDS ?? '10';
    const run = spawnSync(
      python,
      [join(harness, 'driver.py'), 'train', '--data', data, '--rounds', rounds, '--out', out],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    if (run.status !== 0 || !existsSync(out)) return skip(`the harness failed (exit ${run.status})`);
    const result = JSON.parse(readFileSync(out, 'utf8')) as HarnessResult;
    const median = (name: string) => result.cases[name]?.median ?? Number.NaN;
    const rows = (['dense', 'ctf'] as const).map((mode) => {
      const ratio = result.ratios[`${mode} step skelprune/torch`]?.round_ratio_median ?? Number.NaN;
      return [
        mode === 'dense' ? 'dense' : 'CTF pruning phase',
        formatMs(median(`skelprune step ${mode}`)),
        formatMs(median(`torch step ${mode}`)),
        `${ratio.toFixed(2)}× (${ratio <= TRAIN_VS_PYTORCH_TARGET ? 'target met' : `target ≤ ${TRAIN_VS_PYTORCH_TARGET}×`})`,
      ];
    });
    return [
      {
        title,
        columns: ['step', 'skelprune', 'PyTorch', 'skelprune / PyTorch (median of per-round ratios)'],
        rows,
        notes: [
          `${rounds} rounds; harness: ${harness} (README there); SKELPRUNE_VS_PYTORCH_ROUNDS sets the rounds`,
        ],
      },
    ];
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** What the harness's driver.py writes (the fields read here). */
interface HarnessResult {
  cases: Record<string, { median: number }>;
  ratios: Record<string, { round_ratio_median: number }>;
}

/** Target of the engine-speed issue: a training step in at most 0.8× PyTorch's time. */
const TRAIN_VS_PYTORCH_TARGET = 0.8;

const SECTIONS: Section[] = [matmulSection, trainStepSection, versusPytorchSection];

function formatMs(ms: number): string {
  return ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(0)} µs`;
}

function formatTable(table: Table): string {
  const widths = table.columns.map((column, i) =>
    Math.max(column.length, ...table.rows.map((row) => row[i].length)),
  );
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  return [
    table.title,
    '',
    line(table.columns),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...table.rows.map(line),
    ...(table.notes ?? []).map((note) => `  ${note}`),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const os = await import('node:os');
  console.log(
    `skelprune engine benchmark — ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}\n`,
  );
  for (const section of SECTIONS) {
    for (const table of await section()) console.log(formatTable(table));
  }
}

await main();
