/**
 * Deployment commands: `export` (a checkpoint → a compact .skp model, optionally ONNX), `predict`
 * (classify sequences with a .skp model) and `bench` (measured latency and throughput).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { STORAGE_FORMATS } from '@skelprune/runtime/internal';
import { type Command, Option } from 'commander';
import { type BenchmarkOptions, benchmark, classifySequences } from '../../api/deploy.js';
import { type ExportFileOptions, exportModel } from '../../api/export.js';
import { checkCheckpointPath } from '../../api/model.js';
import { SkelpruneError, withUserErrors } from '../../errors.js';
import { formatTable } from '../../report/table.js';
import { ROUNDS } from '../../runtime/latency.js';
import { formatPercent } from '../../train/metrics.js';
import { formatBytes, formatLatency } from '../../util/format.js';
import { parsePositiveInteger } from '../arguments.js';

const count = (n: number) => n.toLocaleString('en-US');

/** `skelprune export`: exports, then prints the storage table, heads kept, sizes and the verification. */
export async function exportCommand(options: ExportFileOptions): Promise<void> {
  checkCheckpointPath(options.model);
  for (const [flag, path, example] of [
    ['--out', options.out, 'model.skp'],
    ['--onnx', options.onnx, 'model.onnx'],
  ] as const) {
    if (path !== undefined && statSync(path, { throwIfNoEntry: false })?.isDirectory())
      throw new SkelpruneError(`${flag} ${path} is a folder; pass a file name, e.g. ${join(path, example)}`);
  }
  const report = await withUserErrors(exportModel(options));
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
  protocol?: string;
  fold?: string;
}): Promise<void> {
  const result = await classifySequences({
    model: options.model,
    input: options.input,
    topK: options.top,
    protocol: options.protocol,
    fold: options.fold,
  });
  if (options.json) {
    const records = result.predictions.map(({ id, predicted, label, part, probabilities }) => ({
      id,
      predicted,
      label,
      part,
      probabilities: Object.fromEntries(
        Object.entries(probabilities).map(([name, p]) => [name, Number(p.toFixed(6))]),
      ),
    }));
    console.log(JSON.stringify(records, null, 2));
    return;
  }
  const rows = [
    ['sequence', 'predicted', 'probability', `top ${options.top}`, 'true class', 'part'],
    ...result.predictions.map((p) => [
      p.id,
      p.predicted,
      formatPercent(p.probability),
      p.top.map((c) => `${c.name} ${formatPercent(c.probability)}`).join(', '),
      p.label ?? '',
      p.part ?? '',
    ]),
  ];
  console.log(formatTable(rows, 'llrlll', true).join('\n'));
  if (result.scores.length > 0) console.log('');
  for (const { description, labelled, correct } of result.scores) {
    console.log(`${description}: ${correct}/${labelled} correct (${formatPercent(correct / labelled)})`);
  }
}

/** `skelprune bench`: times the models, then prints the table. */
export async function benchCommand(options: BenchmarkOptions & { onnx: boolean }): Promise<void> {
  const result = await benchmark({
    ...options,
    onStart: (runners) =>
      process.stderr.write(`timing ${runners} runners in ${ROUNDS} interleaved rounds...\n`),
  });
  const table = [
    ['model', 'batch-1 p50', 'batch-1 p90', `batch-${result.batch} throughput`, 'speed-up (p50)', 'file'],
    ...result.rows.map((r) => [
      r.name,
      formatLatency(r.p50Ms),
      formatLatency(r.p90Ms),
      `${count(Math.round(r.throughput))} seq/s`,
      `${r.speedup.toFixed(1)}×`,
      r.bytes === null ? '' : formatBytes(r.bytes),
    ]),
  ];
  console.log(formatTable(table, 'lrrrrr', true).join('\n'));
  console.log(
    `\nspeed-ups relative to the first row; ${result.repeats} timed batch-1 calls per row, in ${result.rounds} rounds interleaved with the other rows; random node features${options.onnx ? '; onnxruntime-node with default session options (a thread per core) and with one thread' : ''}`,
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
    .option(
      '--batch <n>',
      'the batch size auto stores formats for (the engine converts for other sizes on first use)',
      parsePositiveInteger,
      1,
    )
    .action(exportCommand);
  program
    .command('predict')
    .description(
      'classify the sequences of a file or folder (SBU or FPHA file, generic .jsonl or one sequence .json, or a dataset folder); labels are optional',
    )
    .requiredOption('--model <file>', '.skp model file written by export')
    .requiredOption('--input <path>', 'sequences to classify')
    .option(
      '--protocol <name>',
      "dataset folder: score the test and training parts of this protocol's fold separately (default: the model's own)",
    )
    .option(
      '--fold <name-or-k>',
      "dataset folder: the fold, by name or 1-based number (default: the model's own, else 1)",
    )
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
