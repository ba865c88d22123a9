/**
 * The self-contained HTML report of a reproduce run: no external resources (charts inline as SVG,
 * pictures as data URIs), so the single file can be mailed, archived or opened offline.
 */
import { formatPercent } from '../train/metrics.js';
import type { ChartArtifact, MaskArtifact } from './artifacts.js';
import {
  accuracyNote,
  COMPARISON_COLUMNS,
  COMPARISON_TITLE,
  comparisonNote,
  comparisonRows,
  RESULT_COLUMNS,
  type ReproduceResults,
  resultRow,
} from './results.js';

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

const STYLE = `
body { font-family: system-ui, 'DejaVu Sans', sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #1a1a1a; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; padding-bottom: .3rem; }
table { border-collapse: collapse; font-size: .85rem; } th, td { padding: .3rem .6rem; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; } th { background: #f5f5f5; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; } .charts svg { max-width: 100%; height: auto; }
.masks { display: grid; gap: .8rem; align-items: start; }
.masks figure { margin: 0; } .masks img { image-rendering: pixelated; width: 100%; border: 1px solid #ccc; }
figcaption { font-size: .75rem; color: #555; } .note { color: #555; font-size: .85rem; }
details { margin: .5rem 0; } summary { cursor: pointer; }
`;

function tableHtml(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = (row: readonly string[], tag: string) =>
    row.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('');
  return `<table><thead><tr>${cells(header, 'th')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${cells(row, 'td')}</tr>`)
    .join('')}</tbody></table>`;
}

function comparisonSection(results: ReproduceResults): string {
  const rows = comparisonRows(results);
  if (rows.length === 0) return '';
  return `<h2>${COMPARISON_TITLE}</h2>
${tableHtml(COMPARISON_COLUMNS, rows)}
<p class="note">${escapeHtml(comparisonNote(results))}</p>`;
}

function foldTableHtml(results: ReproduceResults): string {
  if (results.dataset.folds < 2) return '';
  const folds = results.runs[0].folds.map((f) => f.fold);
  return `<details><summary>Top-1 accuracy per fold</summary><table><thead><tr><th>method</th><th>rate</th>${folds
    .map((f) => `<th>${escapeHtml(f)}</th>`)
    .join('')}</tr></thead><tbody>${results.runs
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.method)}</td><td>${r.method === 'dense' ? '—' : formatPercent(r.rate, 0)}</td>${r.folds
          .map((f) => `<td>${formatPercent(f.top1)}</td>`)
          .join('')}</tr>`,
    )
    .join('')}</tbody></table></details>`;
}

function maskSection(masks: readonly MaskArtifact[]): string {
  if (masks.length === 0) return '<p class="note">No structured, unstructured or CTF runs to picture.</p>';
  const layers = [...new Set(masks.map((m) => m.layer))];
  const groups = [...new Set(masks.map((m) => `${m.method}|${m.rate}`))];
  return groups
    .map((group) => {
      const [method, rate] = group.split('|');
      const figures = layers
        .map((layer) =>
          masks.find((m) => m.method === method && String(m.rate) === rate && m.layer === layer),
        )
        .filter((m): m is MaskArtifact => m !== undefined)
        .map(
          (m) =>
            `<figure><img alt="${escapeHtml(`${m.method} ${m.layer} mask`)}" src="data:image/png;base64,${base64(m.picture.png)}"><figcaption>${escapeHtml(m.layer)} (${m.picture.width}×${m.picture.height} px)</figcaption></figure>`,
        );
      return `<h3>${escapeHtml(method)} at ${formatPercent(Number(rate), 0)}</h3><div class="masks" style="grid-template-columns: repeat(${figures.length}, 1fr)">${figures.join('')}</div>`;
    })
    .join('');
}

export function renderHtmlReport(
  results: ReproduceResults,
  charts: readonly ChartArtifact[],
  masks: readonly MaskArtifact[],
): string {
  const p = results.provenance;
  const curves = charts.filter((c) => !c.name.startsWith('confusion-'));
  const confusions = charts.filter((c) => c.name.startsWith('confusion-'));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>skelprune: ${escapeHtml(results.dataset.title)}</title><style>${STYLE}</style></head>
<body>
<h1>Coarse-to-fine pruning on ${escapeHtml(results.dataset.title)}</h1>
<p class="note">Protocol ${escapeHtml(results.dataset.protocol)} (${results.dataset.folds} fold${results.dataset.folds === 1 ? '' : 's'}). Produced by <code>${escapeHtml(p.command)}</code> on ${escapeHtml(p.date)}, ${escapeHtml(p.machine.cpu)} (${p.machine.cores} cores, ${p.machine.memoryGiB} GiB), ${escapeHtml(p.machine.os)}, Node ${escapeHtml(p.machine.node)}, skelprune ${escapeHtml(p.skelprune)}, seed ${p.seed}.</p>
<h2>Results</h2>
${tableHtml(RESULT_COLUMNS, results.runs.map(resultRow))}
<p class="note">${escapeHtml(accuracyNote(results))} FLOPs are per sequence (compacted: dense products on the physically smaller matrices; sparse: kept weights only); latencies are skelprune's runtime at batch 1; speed-ups are relative to the unpruned model's latency.</p>
${foldTableHtml(results)}
${comparisonSection(results)}
<h2>Accuracy and speed against the pruning rate</h2>
<div class="charts">${curves.map((c) => `<figure>${c.chart.svg}<figcaption>${escapeHtml(c.title)}</figcaption></figure>`).join('')}</div>
<h2>Masks</h2>
<p class="note">Kept weights are dark, pruned ones white. The graph convolution is drawn with one attention head per diagonal block (grey: no weights); other layers as stored (rows: inputs, columns: outputs), averaged down where larger than the picture.</p>
${maskSection(masks)}
<h2>Confusion matrices</h2>
${confusions.map((c, i) => `<details${i === 0 ? ' open' : ''}><summary>${escapeHtml(c.title)}</summary>${c.chart.svg}</details>`).join('')}
</body></html>
`;
}
