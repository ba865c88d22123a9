/**
 * Everything a reproduce run leaves in its output folder, made from its results: results.json,
 * results.md (the paper-style table), plots (SVG and PNG), mask pictures, confusion matrices, and one
 * self-contained report.html showing all of it. Every file is written atomically.
 */
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { loadCheckpoint } from '../train/checkpoint.js';
import { writeFileAtomic } from '../util/fs.js';
import { confusionChart, type RenderedChart, rateChart, renderChart } from './charts.js';
import { renderHtmlReport } from './html.js';
import { headDiagonalPicture, type MaskPicture, maskPicture } from './mask-images.js';
import {
  accuracyNote,
  COMPARISON_COLUMN_DEFINITIONS,
  COMPARISON_TITLE,
  type ColumnDefinition,
  comparisonNote,
  comparisonTable,
  failuresWarning,
  QUICK_WARNING,
  RESULT_COLUMN_DEFINITIONS,
  type ReproduceResults,
  type RunFigures,
  rateLabel,
  resultsTable,
} from './results.js';
import { runFileName } from './run-details.js';
import { detailSections } from './sections.js';

/** Methods whose masks are drawn, as in the paper's Figure 2. */
const PICTURED = ['mp-structured', 'mp-unstructured', 'ctf'];

export interface ChartArtifact {
  name: string;
  title: string;
  chart: RenderedChart;
}

export interface MaskArtifact {
  method: string;
  rate: number;
  layer: string;
  picture: MaskPicture;
  file: string;
}

const pruned = (results: ReproduceResults) => results.runs.filter((r) => r.method !== 'dense');

async function charts(results: ReproduceResults): Promise<ChartArtifact[]> {
  const dense = results.runs.find((r) => r.method === 'dense')!;
  const point = (value: (r: RunFigures) => number) => (r: RunFigures) => ({
    method: r.method,
    rate: 100 * r.achievedRate,
    value: value(r),
  });
  const specs: [string, string, TopLevelSpec][] = [
    [
      'accuracy-vs-rate',
      'Top-1 accuracy against the pruning rate',
      rateChart(pruned(results).map(point((r) => 100 * r.top1)), {
        title: `${results.dataset.title}: top-1 accuracy vs pruning rate`,
        yTitle: 'top-1 accuracy (%)',
        reference: { value: 100 * dense.top1, label: 'unpruned' },
      }),
    ],
    [
      'speedup-vs-rate',
      'Measured batch-1 speed-up against the pruning rate',
      rateChart(
        pruned(results)
          .filter((r) => r.speed)
          .map(point((r) => r.speed!.speedup)),
        {
          title: `${results.dataset.title}: measured speed-up vs pruning rate`,
          yTitle: 'speed-up over the unpruned model (×)',
          reference: { value: 1, label: 'unpruned' },
        },
      ),
    ],
  ];
  const out: ChartArtifact[] = [];
  for (const [name, title, spec] of specs) out.push({ name, title, chart: await renderChart(spec) });
  for (const run of results.runs) {
    const title = run.method === 'dense' ? 'unpruned' : `${run.method} at ${rateLabel(run.rate)}`;
    out.push({
      name: `confusion-${runFileName(run)}`,
      title: `Confusion matrix, ${title}`,
      chart: await renderChart(
        confusionChart(run.confusion, results.classNames, `Confusion matrix, ${title} (all folds)`),
      ),
    });
  }
  return out;
}

async function maskPictures(results: ReproduceResults): Promise<MaskArtifact[]> {
  const out: MaskArtifact[] = [];
  for (const run of pruned(results).filter((r) => PICTURED.includes(r.method))) {
    const { meta, tensors } = await loadCheckpoint(run.checkpoint);
    const { heads } = meta.model;
    for (const [name, t] of Object.entries(tensors)) {
      if (!name.startsWith('mask.')) continue;
      const layer = name.slice('mask.'.length);
      const [rows, cols] = t.shape;
      const mask = Uint8Array.from(t.data);
      const picture =
        layer === 'conv'
          ? headDiagonalPicture(mask, heads, rows / heads, cols)
          : maskPicture(mask, rows, cols);
      out.push({
        method: run.method,
        rate: run.rate,
        layer,
        picture,
        file: `masks/${runFileName(run)}-${layer}.png`,
      });
    }
  }
  return out;
}

/** A markdown list explaining every column of a table, under a bold heading. */
function columnLegendMarkdown(definitions: readonly ColumnDefinition[]): string {
  return `**Columns**\n\n${definitions.map((c) => `- **${c.name}**: ${c.explanation}`).join('\n')}\n`;
}

/**
 * results.md: the quick-run warning (if any), the results table with what it averages and what every
 * column means, the paired comparison likewise, and where the figures came from.
 */
export function resultsMarkdown(results: ReproduceResults): string {
  const { dataset, provenance: p } = results;
  const comparison = comparisonTable(results);
  const failed = failuresWarning(results);
  return [
    `# ${dataset.title}: pruning results\n`,
    ...(results.quick ? [`> **${QUICK_WARNING}**\n`] : []),
    ...(failed ? [`> **${failed}**\n`] : []),
    `Protocol ${dataset.protocol} (${dataset.folds} fold${dataset.folds === 1 ? '' : 's'}). ${accuracyNote(results)}\n`,
    `${resultsTable(results)}\n`,
    columnLegendMarkdown(RESULT_COLUMN_DEFINITIONS),
    ...(comparison
      ? [
          `## ${COMPARISON_TITLE}\n`,
          `${comparisonNote(results)}\n`,
          `${comparison}\n`,
          columnLegendMarkdown(COMPARISON_COLUMN_DEFINITIONS),
        ]
      : []),
    `Produced by \`${p.command}\` on ${p.date} (${p.machine.cpu}, ${p.machine.cores} cores, Node ${p.machine.node}).\n`,
  ].join('\n');
}

/** Writes every artifact into `dir`; returns the paths written, relative to it. */
export async function writeArtifacts(results: ReproduceResults, dir: string): Promise<string[]> {
  const written: string[] = [];
  const write = async (file: string, data: string | Uint8Array) => {
    await writeFileAtomic(join(dir, file), data);
    written.push(file);
  };
  await write('results.json', `${JSON.stringify(results, null, 2)}\n`);
  await write('results.md', resultsMarkdown(results));
  const chartArtifacts = await charts(results);
  for (const { name, chart } of chartArtifacts) {
    await write(`plots/${name}.svg`, chart.svg);
    await write(`plots/${name}.png`, chart.png);
  }
  const masks = await maskPictures(results);
  for (const m of masks) await write(m.file, m.picture.png);
  const details = await detailSections(results);
  for (const file of details.flatMap((d) => d.files ?? [])) await write(file.path, file.data);
  await write('report.html', renderHtmlReport(results, chartArtifacts, masks, details));
  return written;
}
