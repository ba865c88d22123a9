/** `skelprune data inspect`: what a dataset holds, how its protocols split it, and what was skipped. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type DatasetInspection, inspectDataset } from '../../api/dataset.js';
import { DATASET_KINDS, type DatasetKind, loadDataset } from '../../data/load.js';
import { formatTable } from '../../report/table.js';
import { checkDatasetSource } from '../../train/experiment.js';

interface InspectOptions {
  readonly dataset: DatasetKind;
  readonly path?: string;
  readonly seed: number;
  readonly units: 'mm' | 'normalized';
}

export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('inspect skeleton datasets');
  data
    .command('inspect')
    .description('print counts per class and protocol fold, frame statistics and every file skipped or odd')
    .addOption(
      new Option('--dataset <kind>', 'dataset format (required)')
        .choices(DATASET_KINDS)
        .makeOptionMandatory(),
    )
    .option('--path <dir>', 'dataset folder; required for sbu, fpha and generic (no default)')
    .option('--seed <n>', 'synthetic only: generator seed', parseInteger, 1)
    .addOption(
      new Option('--units <units>', 'sbu only: millimetres (official denormalization) or the stored values')
        .choices(['mm', 'normalized'])
        .default('mm'),
    )
    .action(async (options: InspectOptions) => {
      checkDatasetSource(options);
      const dataset = await loadDataset(
        options.dataset === 'synthetic'
          ? { kind: 'synthetic', synthetic: { seed: options.seed } }
          : { kind: options.dataset, path: options.path ?? '', units: options.units },
      );
      process.stdout.write(inspectionReport(inspectDataset(dataset), options.path ?? `seed ${options.seed}`));
    });
}

function parseInteger(text: string): number {
  if (!/^-?\d+$/.test(text)) throw new InvalidArgumentError(`expected an integer, found '${text}'`);
  return Number(text);
}

/** The whole `inspect` report as text. */
export function inspectionReport(inspection: DatasetInspection, from: string): string {
  return [
    overview(inspection, from),
    classTable(inspection),
    protocolTable(inspection),
    subjectList(inspection),
    issueList(inspection),
  ].join('\n\n');
}

const count = (n: number) => n.toLocaleString('en-US');

function overview(dataset: DatasetInspection, from: string): string {
  const { skeleton, frames } = dataset;
  const persons = `${skeleton.persons} person${skeleton.persons === 1 ? '' : 's'}`;
  const center = `${skeleton.jointNames[skeleton.centerJoint]} (joint ${skeleton.centerJoint}), ${skeleton.centerMode}`;
  return [
    `${dataset.title} [${dataset.name}] from ${from}`,
    ...formatTable(
      [
        [
          'sequences',
          `${count(frames.sequences)} in ${dataset.classNames.length} classes, ${dataset.subjects.length} subjects`,
        ],
        [
          'skeleton',
          `${persons} × ${skeleton.jointNames.length} joints, ${skeleton.bones.length} bones; default centre ${center}`,
        ],
        ['coordinates', dataset.units],
        [
          'frames',
          `${count(frames.total)} in total; per sequence min ${count(frames.min)}, mean ${frames.mean.toFixed(1)}, median ${count(frames.median)}, max ${count(frames.max)}`,
        ],
      ],
      'll',
    ).map((line) => `  ${line}`),
  ].join('\n');
}

/** One column per fold with its test count; a single-fold protocol gets train and test columns. */
function classTable(summary: DatasetInspection): string {
  const columns = summary.protocols.flatMap(({ name, folds }) =>
    folds.length === 1
      ? [
          { header: `${name} train`, counts: folds[0].train.perClass },
          { header: `${name} test`, counts: folds[0].test.perClass },
        ]
      : folds.map((fold) => ({ header: fold.name, counts: fold.test.perClass })),
  );
  const rows = summary.classNames.map((name, label) => [
    String(label),
    name,
    count(summary.perClass[label]),
    ...columns.map((column) => count(column.counts[label])),
  ]);
  const totals = ['', 'all', count(summary.frames.sequences), ...columns.map((c) => count(sum(c.counts)))];
  const header = ['id', 'class', 'sequences', ...columns.map((column) => column.header)];
  const table = formatTable([header, ...rows, totals], `rl${'r'.repeat(header.length - 2)}`);
  const note = columns.length > 0 ? '; a fold column counts its test sequences' : '';
  return [`Classes (sequences${note})`, ...table.map((line) => `  ${line}`)].join('\n');
}

function protocolTable(summary: DatasetInspection): string {
  if (summary.protocols.length === 0) return 'Protocols: none';
  const rows = summary.protocols.flatMap(({ name, folds }) =>
    folds.map((fold) => [
      name,
      fold.name,
      count(fold.train.sequences),
      count(fold.train.frames),
      count(fold.test.sequences),
      count(fold.test.frames),
    ]),
  );
  const header = ['protocol', 'fold', 'train sequences', 'train frames', 'test sequences', 'test frames'];
  return ['Protocols', ...formatTable([header, ...rows], 'llrrrr').map((line) => `  ${line}`)].join('\n');
}

function subjectList(summary: DatasetInspection): string {
  const entries = summary.subjects.map(({ name, sequences }) => `${name} ${sequences}`);
  const lines: string[] = [];
  for (const entry of entries) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + entry.length + 2 <= 100) lines[last] += `, ${entry}`;
    else lines.push(entry);
  }
  return [`Subjects (sequences each)`, ...lines.map((line) => `  ${line}`)].join('\n');
}

function issueList(dataset: DatasetInspection): string {
  if (dataset.issues.length === 0) return 'Issues: none\n';
  const lines = dataset.issues.map(
    ({ file, line, message }) => `  ${file}${line ? `:${line}` : ''}: ${message}`,
  );
  return [`Issues (${dataset.issues.length})`, ...lines].join('\n').concat('\n');
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** Pads cells into aligned columns; `align` has one letter per column, `l` or `r`. */
