/**
 * Deployment commands: `export` (a checkpoint → a compact .skp model, optionally ONNX), `predict`
 * (classify sequences with a .skp model) and `bench` (measured latency and throughput).
 */
import { stat } from 'node:fs/promises';
import { SkeletonClassifier } from '@skelprune/runtime';
import { STORAGE_FORMATS } from '@skelprune/runtime/internal';
import { type Command, Option } from 'commander';
import { type ExportFileOptions, exportModel } from '../../api/export.js';
import { readSequences } from '../../data/sequence-file.js';
import { formatTable } from '../../report/table.js';
import {
  measureSpeeds,
  onnxRunner,
  ROUNDS,
  type Runner,
  runtimeRunner,
  type Speed,
} from '../../runtime/latency.js';
import { loadModelFile } from '../../runtime/model-io.js';
import { formatPercent } from '../../train/metrics.js';
import { formatBytes, formatLatency } from '../../util/format.js';
import { parsePositiveInteger } from '../arguments.js';

const count = (n: number) => n.toLocaleString('en-US');

/** `skelprune export`: exports, then prints the storage table, heads kept, sizes and the verification. */
export async function exportCommand(options: ExportFileOptions): Promise<void> {
  const report = await exportModel(options);
  const rows = [
    ['layer', 'format', 'Wᵀ rows×cols', 'nonzeros', '4×4 blocks', 'in memory'],
    ...report.layers.map((s) => [
      s.name,
      s.format,
      `${s.rows}×${s.cols}`,
      count(s.nonzeros),
      count(s.blocks),
      formatBytes(s.bytes),
    ]),
  ];
  const { heads, skpBytes: bytes, unprunedBytes } = report;
  console.log(formatTable(rows, 'llrrrr', true).join('\n'));
  console.log(`\nheads kept: ${heads.kept} of ${heads.total} (${heads.dynamic} with dynamic attention)`);
  console.log(
    `${options.out}: ${formatBytes(bytes)}; the unpruned model's float32 weights take ${formatBytes(unprunedBytes)} (${(unprunedBytes / bytes).toFixed(1)}× larger)`,
  );
  console.log(
    `verified: the exported model reproduces the checkpoint's outputs (largest relative difference ${report.maxRelativeError.toExponential(1)})`,
  );
  if (options.onnx && report.onnxBytes !== null)
    console.log(
      `${options.onnx}: ONNX (opset 17, dense compacted weights), ${formatBytes(report.onnxBytes)}`,
    );
}

async function predictCommand(options: {
  model: string;
  input: string;
  top: number;
  json: boolean;
}): Promise<void> {
  const classifier = await SkeletonClassifier.load(options.model);
  const { info } = classifier;
  const sequences = await readSequences(options.input, {
    jointNames: info.jointNames,
    bones: info.bones,
    persons: info.persons,
    classNames: info.classNames,
  });
  const predictions = classifier.predictBatch(sequences, { topK: options.top });
  classifier.dispose();
  const names = info.classNames;
  const labelOf = (i: number) => (sequences[i].label >= 0 ? names[sequences[i].label] : null);
  if (options.json) {
    const records = predictions.map((p, i) => ({
      id: sequences[i].id,
      predicted: p.className,
      label: labelOf(i),
      probabilities: Object.fromEntries(names.map((n, c) => [n, Number(p.probabilities[c].toFixed(6))])),
    }));
    console.log(JSON.stringify(records, null, 2));
    return;
  }
  const rows = [
    ['sequence', 'predicted', 'probability', `top ${options.top}`, 'true class'],
    ...predictions.map((p, i) => [
      sequences[i].id,
      p.className,
      formatPercent(p.probability),
      p.top.map((c) => `${c.name} ${formatPercent(c.probability)}`).join(', '),
      labelOf(i) ?? '',
    ]),
  ];
  console.log(formatTable(rows, 'llrll', true).join('\n'));
  const labelled = predictions.filter((_, i) => sequences[i].label >= 0);
  if (labelled.length > 0) {
    const correct = predictions.filter((p, i) => p.classIndex === sequences[i].label).length;
    console.log(`\n${correct}/${labelled.length} correct (${formatPercent(correct / labelled.length)})`);
  }
}

interface BenchRow {
  name: string;
  bytes: number | null;
  speed: Speed;
}

export async function benchCommand(options: {
  model: string;
  dense?: string;
  repeats: number;
  batch: number;
  onnx: boolean;
}): Promise<void> {
  const models: { label: string; path: string }[] = [{ label: 'pruned', path: options.model }];
  if (options.dense) models.unshift({ label: 'dense unpruned', path: options.dense });
  const entries: { name: string; bytes: number | null; runner: Runner }[] = [];
  try {
    for (const { label, path } of models) {
      const file = await loadModelFile(path);
      entries.push({
        name: `skelprune runtime, ${label}`,
        bytes: (await stat(path)).size,
        runner: runtimeRunner(file.model),
      });
      if (options.onnx) {
        const name = `onnxruntime-node, ${label}${label === 'pruned' ? ' (compacted, dense)' : ''}`;
        entries.push({ name, bytes: null, runner: await onnxRunner(file.model) });
      }
    }
    process.stderr.write(`timing ${entries.length} runners in ${ROUNDS} interleaved rounds...\n`);
    const speeds = await measureSpeeds(
      entries.map((e) => e.runner),
      { repeats: options.repeats, batch: options.batch },
    );
    return printBench(
      entries.map((e, i) => ({ name: e.name, bytes: e.bytes, speed: speeds[i] })),
      options,
    );
  } finally {
    for (const e of entries) await e.runner.dispose();
  }
}

function printBench(rows: BenchRow[], options: { repeats: number; batch: number; onnx: boolean }): void {
  const baseline = rows[0].speed.p50Ms;
  const table = [
    ['model', 'batch-1 p50', 'batch-1 p90', `batch-${options.batch} throughput`, 'speed-up (p50)', 'file'],
    ...rows.map((r) => [
      r.name,
      formatLatency(r.speed.p50Ms),
      formatLatency(r.speed.p90Ms),
      `${count(Math.round(r.speed.throughput))} seq/s`,
      `${(baseline / r.speed.p50Ms).toFixed(1)}×`,
      r.bytes === null ? '' : formatBytes(r.bytes),
    ]),
  ];
  console.log(formatTable(table, 'lrrrrr', true).join('\n'));
  console.log(
    `\nspeed-ups relative to the first row; ${options.repeats} timed batch-1 calls per row, in ${ROUNDS} rounds interleaved with the other rows; random node features${options.onnx ? '; onnxruntime-node with default session options' : ''}`,
  );
}

export function registerDeployCommands(program: Command): void {
  program
    .command('export')
    .description(
      'compact a (pruned) checkpoint into a .skp model file for fast inference; optionally ONNX too',
    )
    .requiredOption('--model <checkpoint>', 'checkpoint written by train or prune')
    .requiredOption('--out <file>', 'the .skp model file to write')
    .option('--onnx <file>', 'also write an ONNX model (dense compacted weights)')
    .addOption(
      new Option('--format <format>', 'storage of every layer; auto picks per layer by a measured cost model')
        .choices(['auto', ...STORAGE_FORMATS])
        .default('auto'),
    )
    .option('--batch <n>', 'the batch size auto optimises for', parsePositiveInteger, 1)
    .action(exportCommand);
  program
    .command('predict')
    .description(
      'classify the sequences of a file or folder (SBU or FPHA file, generic .jsonl, or a dataset folder)',
    )
    .requiredOption('--model <file>', '.skp model file written by export')
    .requiredOption('--input <path>', 'sequences to classify')
    .option('--top <k>', 'classes listed per sequence', parsePositiveInteger, 3)
    .option('--json', 'print JSON (every class probability)', false)
    .action(predictCommand);
  program
    .command('bench')
    .description(
      'measure batch-1 latency and batched throughput of a .skp model (and of a dense one, and onnxruntime-node)',
    )
    .requiredOption('--model <file>', '.skp model file (usually the pruned one)')
    .option('--dense <file>', '.skp model file of the unpruned model, for the speed-up')
    .option('--repeats <n>', 'timed batch-1 calls per model', parsePositiveInteger, 2000)
    .option('--batch <n>', 'batch size of the throughput measurement', parsePositiveInteger, 32)
    .option('--no-onnx', 'skip onnxruntime-node')
    .action(benchCommand);
}
