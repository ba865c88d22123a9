/**
 * The report's per-run views beyond the summary tables (training curves, each run's configuration,
 * per-layer pruning, per-class accuracy, provenance), as sections the HTML report lists in its table
 * of contents after its own.
 */
import { COST_COLUMNS, LAYER_COLUMNS } from '../prune/report.js';
import { formatPercent } from '../train/metrics.js';
import { confusionChart, renderChartSvg } from './charts.js';
import {
  accuracyPoints,
  curveChart,
  type FoldLog,
  lossPoints,
  type MethodPoint,
  maskPoints,
  phaseStarts,
  readRunLogs,
  schedulePoints,
  smallMultiplesChart,
} from './curves.js';
import { escapeHtml } from './html.js';
import { type ReproduceResults, type RunFigures, rateLabel, ratePercent } from './results.js';
import { type RunDetails, runDetails, runFileName, runFolder, runTitle } from './run-details.js';

/** One section of the HTML report: its anchor, its heading, and its body. */
export interface ReportSection {
  /** The anchor (`#id`) the table of contents links to. */
  id: string;
  title: string;
  /** Self-contained HTML (inline SVG and data URIs only). */
  html: string;
  /** Files the section's figures are also written to, relative to the output folder. */
  files?: { path: string; data: string }[];
}

/** Wide content scrolls inside its own box instead of widening the page. */
const scroll = (html: string) => `<div style="overflow-x: auto; max-width: 100%">${html}</div>`;

const note = (text: string) => `<p class="note">${escapeHtml(text)}</p>`;

function table(header: readonly string[], rows: readonly (readonly string[])[], lastIsTotal = false): string {
  const cells = (row: readonly string[], tag: string) =>
    row.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('');
  const body = rows
    .map((row, i) =>
      lastIsTotal && i === rows.length - 1
        ? `<tr style="font-weight: 600; border-top: 2px solid #ccc">${cells(row, 'td')}</tr>`
        : `<tr>${cells(row, 'td')}</tr>`,
    )
    .join('');
  return scroll(`<table><thead><tr>${cells(header, 'th')}</tr></thead><tbody>${body}</tbody></table>`);
}

const figure = (svg: string, caption: string) =>
  `<figure style="margin: 0; max-width: 100%">${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;

const charts = (figures: string[]) =>
  `<div style="display: flex; flex-wrap: wrap; gap: 1rem">${figures.join('')}</div>`;

interface RunLogs {
  run: RunFigures;
  logs: FoldLog[];
}

/** A run's curves: loss, accuracy, and for CTF runs the mask mass and the σ, λ schedule. */
async function runCurves(
  { run, logs }: RunLogs,
  files: NonNullable<ReportSection['files']>,
): Promise<string> {
  if (logs.length === 0)
    return note(`No training log (log.jsonl) was found under ${runFolder(run)}, so there are no curves.`);
  const starts = phaseStarts(logs);
  const name = runTitle(run);
  const specs: [string, string, Parameters<typeof curveChart>[0], Parameters<typeof curveChart>[1]][] = [
    [
      'loss',
      `Loss per epoch, ${name}`,
      lossPoints(logs),
      { title: `Loss, ${name}`, yTitle: 'loss (log scale)', log: true, starts },
    ],
    [
      'accuracy',
      `Accuracy per epoch, ${name}`,
      accuracyPoints(logs),
      { title: `Accuracy, ${name}`, yTitle: 'accuracy (%)', starts },
    ],
  ];
  const mask = maskPoints(logs);
  if (mask.length > 0) {
    specs.push(
      [
        'mask',
        `Kept share of the budget during the pruning phase, ${name}`,
        mask,
        { title: `Soft-mask mass and target, ${name}`, yTitle: 'kept share of the budget (%)' },
      ],
      [
        'schedule',
        `σ and λ per pruning epoch, ${name}`,
        schedulePoints(logs),
        { title: `σ and λ, ${name}`, yTitle: 'value (log scale)', log: true },
      ],
    );
  }
  const out: string[] = [];
  for (const [kind, caption, data, options] of specs) {
    if (data.length === 0) continue;
    const svg = await renderChartSvg(curveChart(data, options));
    files.push({ path: `plots/curves/${runFileName(run)}-${kind}.svg`, data: svg });
    out.push(figure(svg, caption));
  }
  const folds = logs.length > 1 ? ` Every fold's curve is drawn (${logs.length} folds).` : '';
  return `${charts(out)}${note(`Epochs count across phases; the dashed line marks where fine-tuning starts. Validation curves appear only where the run held out a validation part.${folds}`)}`;
}

async function curvesSection(
  all: readonly RunLogs[],
  files: NonNullable<ReportSection['files']>,
): Promise<string> {
  if (all.every((r) => r.logs.length === 0))
    return note('No run folder holds a training log (log.jsonl), so there are no curves to draw.');
  const parts: string[] = [];
  const dense = all.find((r) => r.run.method === 'dense');
  const rates = [...new Set(all.filter((r) => r.run.method !== 'dense').map((r) => r.run.rate))];
  for (const rate of rates) {
    const group = [
      ...(dense ? [dense] : []),
      ...all.filter((r) => r.run.method !== 'dense' && r.run.rate === rate),
    ];
    const methods = group.map((r) => r.run.method);
    const data: MethodPoint[] = group.flatMap(({ run, logs }) =>
      accuracyPoints(logs).map((p) => ({ ...p, method: run.method })),
    );
    if (data.length === 0) continue;
    const svg = await renderChartSvg(
      smallMultiplesChart(data, methods, {
        title: `Accuracy per epoch at ${rateLabel(rate)}`,
        yTitle: 'accuracy (%)',
      }),
    );
    files.push({ path: `plots/curves/methods-${ratePercent(rate)}.svg`, data: svg });
    parts.push(
      scroll(figure(svg, `Every method at ${rateLabel(rate)} (with the dense model): accuracy per epoch`)),
    );
  }
  for (const [i, r] of all.entries()) {
    parts.push(
      `<details${i === 0 ? ' open' : ''}><summary>${escapeHtml(runTitle(r.run))}</summary>${await runCurves(r, files)}</details>`,
    );
  }
  return parts.join('\n');
}

function configBlock(d: RunDetails): string {
  if (!d.config) return '';
  return `<details><summary>Configuration (${escapeHtml(d.config.source)})</summary>${scroll(
    `<pre style="font-size: .8rem">${escapeHtml(JSON.stringify(d.config.json, null, 2))}</pre>`,
  )}</details>`;
}

function pruningBlock(d: RunDetails): string {
  if (!d.pruning) return '';
  const p = d.pruning;
  return `<h4>Pruning of the fold-1 model (${escapeHtml(p.fold)})</h4>
${table(LAYER_COLUMNS, p.layers, true)}
${table(COST_COLUMNS, p.costs, true)}
${note(`Totals: ${formatPercent(p.totals.achievedRate, 2)} of the prunable weights removed; FLOPs per sequence ${p.totals.flops.dense.toLocaleString('en-US')} dense, ${p.totals.flops.compacted.toLocaleString('en-US')} compacted, ${p.totals.flops.sparse.toLocaleString('en-US')} sparse.`)}`;
}

async function classBlock(d: RunDetails, classNames: readonly string[]): Promise<string> {
  const rows = d.classes.map((c) => [
    c.name,
    String(c.sequences),
    String(c.correct),
    Number.isNaN(c.accuracy) ? '—' : formatPercent(c.accuracy),
    c.confusedWith ? `${c.confusedWith.name} (${c.confusedWith.count})` : '—',
  ]);
  const svg = await renderChartSvg(
    confusionChart(d.run.confusion, classNames, `Confusion matrix, ${runTitle(d.run)} (all folds)`),
  );
  return `<h4>Per-class accuracy (test parts of all folds)</h4>
<div style="display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start">
<div style="max-width: 100%">${table(['class', 'sequences', 'correct', 'accuracy', 'most often taken for'], rows)}</div>
${scroll(svg)}
</div>`;
}

async function runBlock(d: RunDetails, classNames: readonly string[]): Promise<string> {
  const r = d.run;
  const summary =
    r.method === 'dense'
      ? `${runTitle(r)}: top-1 ${formatPercent(r.top1)}`
      : `${runTitle(r)}: top-1 ${formatPercent(r.top1)}, ${formatPercent(r.achievedRate, 2)} pruned`;
  const commands = `<h4>Commands for this cell</h4>${scroll(
    `<pre style="font-size: .8rem">${escapeHtml(d.commands.join('\n'))}</pre>`,
  )}${note('Run in the folder the reproduction ran in (the configurations name the dataset by its path from there). The first command trains the dense model the pruning starts from.')}`;
  return `<details><summary>${escapeHtml(summary)}</summary>
${d.notes.map(note).join('')}
${configBlock(d)}
${commands}
${pruningBlock(d)}
${await classBlock(d, classNames)}
</details>`;
}

const seconds = (s: number) => (s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);

/** Provenance as rows of (what, value). */
export function provenanceRows(results: ReproduceResults): [string, string][] {
  const p = results.provenance;
  const rows: [string, string][] = [
    ['command', p.command],
    ['date', p.date],
    ['skelprune', p.skelprune],
  ];
  if (p.code === undefined)
    rows.push(['git commit', 'not recorded (results written before provenance included it)']);
  else if (p.code.commit === null) rows.push(['git commit', p.code.note]);
  else {
    rows.push(['git commit', p.code.commit]);
    rows.push([
      'working tree',
      p.code.dirty
        ? `changed (${p.code.changes.length}${p.code.changes.length === 20 ? '+' : ''} paths): ${p.code.changes.join('; ')}`
        : 'clean',
    ]);
  }
  rows.push(
    ['Node.js', p.machine.node],
    ['machine', `${p.machine.cpu}, ${p.machine.cores} cores, ${p.machine.memoryGiB} GiB, ${p.machine.os}`],
    ['seed', String(p.seed)],
  );
  if (p.data === undefined) rows.push(['dataset files', 'not recorded']);
  else if (p.data.sha256 === null) rows.push(['dataset files', `${p.data.kind}: ${p.data.note}`]);
  else {
    rows.push(
      ['dataset folder', p.data.path ?? '—'],
      [
        'dataset files',
        `${p.data.files.toLocaleString('en-US')} files, ${p.data.bytes.toLocaleString('en-US')} bytes`,
      ],
      ['dataset fingerprint', `sha256 ${p.data.sha256} (${p.data.note})`],
    );
  }
  for (const phase of p.phases ?? []) rows.push([`wall time: ${phase.phase}`, seconds(phase.seconds)]);
  if (p.phases) {
    const total = p.phases.reduce((s, x) => s + x.seconds, 0);
    rows.push(['wall time: total', `${seconds(total)} (this invocation; steps found done are not redone)`]);
  }
  if (results.repetitions)
    rows.push(['repetitions', results.repetitions.map((r) => `${r.dir} (seed ${r.seed})`).join('; ')]);
  return rows;
}

function provenanceSection(results: ReproduceResults): string {
  const rows = provenanceRows(results).map(
    ([k, v]) =>
      `<tr><th scope="row" style="text-align: left">${escapeHtml(k)}</th><td style="text-align: left; white-space: normal; word-break: break-word">${escapeHtml(v)}</td></tr>`,
  );
  return `<table>${rows.join('')}</table>${note('Also in results.json (provenance). With combined repetitions these are the first repetition’s, but the command and date of the combination.')}`;
}

/** The detail sections of a reproduce run, read from each run's own folder. */
export async function detailSections(results: ReproduceResults): Promise<ReportSection[]> {
  const logs: RunLogs[] = [];
  for (const run of results.runs) logs.push({ run, logs: await readRunLogs(runFolder(run)) });
  const files: NonNullable<ReportSection['files']> = [];
  const curves = await curvesSection(logs, files);
  const blocks: string[] = [];
  for (const run of results.runs)
    blocks.push(await runBlock(await runDetails(run, results), results.classNames));
  return [
    { id: 'training-curves', title: 'Training curves', html: curves, files },
    {
      id: 'runs',
      title: 'Runs',
      html: `${note('Each run: its configuration, the commands that redo it, the per-layer pruning of its fold-1 model and its per-class accuracy.')}${blocks.join('\n')}`,
    },
    { id: 'provenance', title: 'Provenance', html: provenanceSection(results) },
  ];
}
