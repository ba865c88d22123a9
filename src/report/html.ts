/**
 * The self-contained HTML report of a reproduce run: no external resources (charts inline as SVG,
 * pictures as data URIs), so the single file can be mailed, archived or opened offline.
 *
 * Layout: a table of contents linking every section (the detail sections included), tables that fit
 * a 1,280 px window (wrapped headers under column groups; inside a scroll container whose first
 * column stays put, should a window be narrower), every column explained once (the definitions in
 * results.ts, also used by results.md and the console), mask pictures as a gallery of thumbnails that
 * enlarge on click, and a warning at the top of a quick run's report.
 */
import { formatPercent } from '../train/metrics.js';
import type { ChartArtifact, MaskArtifact } from './artifacts.js';
import {
  accuracyNote,
  COMPARISON_COLUMN_DEFINITIONS,
  COMPARISON_TITLE,
  type ColumnDefinition,
  comparisonNote,
  comparisonRows,
  failuresWarning,
  QUICK_WARNING,
  RESULT_COLUMN_DEFINITIONS,
  type ReproduceResults,
  resultRow,
} from './results.js';
import type { ReportSection } from './sections.js';

/** `text` with the characters HTML gives meaning to escaped, for text and attribute values. */
export const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

const STYLE = `
:root { color-scheme: light; }
body { font-family: system-ui, 'DejaVu Sans', sans-serif; margin: 1.5rem auto; max-width: 1200px; padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .4rem; }
h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; padding-bottom: .3rem; scroll-margin-top: .8rem; display: flex; align-items: baseline; gap: 1rem; }
h2 .up { margin-left: auto; font-size: .75rem; font-weight: normal; color: #777; text-decoration: none; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
a { color: #1f5fa8; }
.note { color: #555; font-size: .85rem; max-width: 62rem; }
.quick-banner { background: #fff4d6; border: 2px solid #d79b00; border-radius: 6px; padding: .7rem 1rem; margin: .8rem 0; font-size: .95rem; }
.quick-banner strong { color: #8a5a00; }
nav.toc { background: #f7f7f9; border: 1px solid #e2e2e8; border-radius: 6px; padding: .5rem 1rem; margin: 1rem 0; }
nav.toc h2 { all: unset; font-weight: 600; font-size: .9rem; }
nav.toc ol { margin: .3rem 0 0; padding-left: 1.4rem; columns: 2 22rem; column-gap: 2rem; font-size: .9rem; }
nav.toc li { break-inside: avoid; }
.table-scroll { overflow-x: auto; max-width: 100%; margin: .6rem 0; }
table { border-collapse: collapse; font-size: .82rem; font-variant-numeric: tabular-nums; }
th, td { padding: .28rem .5rem; border-bottom: 1px solid #eee; text-align: right; }
td { white-space: nowrap; }
th { background: #f3f4f6; font-weight: 600; vertical-align: bottom; white-space: normal; min-width: 3.2rem; max-width: 6.5rem; line-height: 1.2; }
th[title] { cursor: help; }
th:first-child, td:first-child { text-align: left; }
.table-scroll th:first-child, .table-scroll td:first-child { position: sticky; left: 0; z-index: 1; }
.table-scroll td:first-child { background: inherit; }
thead tr.groups th { background: #e8eaee; text-align: center; font-weight: 600; font-size: .75rem; color: #444; border-bottom: 0; border-left: 2px solid #fff; max-width: none; }
tbody tr { background: #fff; } tbody tr:nth-child(even) { background: #fafafa; }
tbody tr.group-start td { border-top: 1px solid #cfcfcf; }
tbody tr.dense { background: #eef4ff; font-weight: 600; }
details.legend { font-size: .82rem; margin: .4rem 0 1rem; }
dl.columns { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .4rem 0 0; max-width: 62rem; }
dl.columns dt { font-weight: 600; } dl.columns dd { margin: 0; color: #333; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; } .charts figure { flex: 1 1 520px; margin: 0; min-width: 0; }
.charts svg, .confusions svg { max-width: 100%; height: auto; }
table.masks th { max-width: none; text-align: center; }
table.masks td { text-align: center; vertical-align: bottom; white-space: normal; }
table.masks tbody tr { background: #fff; }
table.masks th[scope=row] { text-align: left; white-space: nowrap; background: #f3f4f6; vertical-align: middle; }
th.l, td.l { text-align: left; }
.masks figure { margin: 0; display: inline-block; }
.masks button.zoom { border: 0; padding: 0; background: none; cursor: zoom-in; display: block; margin: 0 auto; }
.masks img { image-rendering: pixelated; height: 110px; width: auto; min-width: 10px; max-width: 180px; border: 1px solid #bbb; display: block; }
figcaption { font-size: .72rem; color: #555; }
dialog#zoom { max-width: 94vw; max-height: 94vh; border: 1px solid #999; border-radius: 6px; padding: .6rem; }
dialog#zoom::backdrop { background: rgba(0, 0, 0, .55); }
dialog#zoom img { width: 88vw; height: 78vh; object-fit: contain; image-rendering: pixelated; display: block; }
dialog#zoom p { margin: .4rem 0 0; font-size: .85rem; display: flex; justify-content: space-between; gap: 1rem; }
details { margin: .4rem 0; } summary { cursor: pointer; }
.confusions details { border: 1px solid #eee; border-radius: 4px; padding: .2rem .6rem; }
.detail-body { overflow-x: auto; max-width: 100%; }
`;

/** Enlarges a mask thumbnail in a dialog on click (the page reads fine without it). */
const SCRIPT = `
const zoom = document.getElementById('zoom');
for (const button of document.querySelectorAll('.masks button.zoom')) {
  button.addEventListener('click', () => {
    const small = button.querySelector('img');
    const big = document.createElement('img');
    big.src = small.src;
    big.alt = small.alt;
    const caption = document.createElement('p');
    caption.append(button.dataset.caption, Object.assign(document.createElement('button'), { textContent: 'Close' }));
    caption.lastChild.addEventListener('click', () => zoom.close());
    zoom.replaceChildren(big, caption);
    zoom.showModal();
  });
}
zoom.addEventListener('click', (event) => { if (event.target === zoom || event.target.tagName === 'IMG') zoom.close(); });
`;

/** Column groups over the results table's columns (they span RESULT_COLUMN_DEFINITIONS in order). */
const RESULT_GROUPS: readonly [title: string, span: number][] = [
  ['', 1],
  ['pruning rate', 2],
  ['test accuracy', 2],
  ['size and cost (fold 1)', 5],
  ['speed (fold 1)', 2],
];

function tableHtml(
  columns: readonly ColumnDefinition[],
  rows: readonly (readonly string[])[],
  options: {
    className?: string;
    /** 'l' or 'r' per column (default: the first left, the others right). */
    align?: string;
    groups?: readonly (readonly [string, number])[];
    rowClass?: (i: number) => string;
  } = {},
): string {
  const left = (k: number) => (options.align ? options.align[k] === 'l' : k === 0);
  const l = (k: number) => (left(k) ? ' class="l"' : '');
  const groups = options.groups
    ? `<tr class="groups">${options.groups.map(([title, span]) => `<th colspan="${span}">${escapeHtml(title)}</th>`).join('')}</tr>`
    : '';
  const header = columns
    .map((c, k) => `<th scope="col"${l(k)} title="${escapeHtml(c.explanation)}">${escapeHtml(c.name)}</th>`)
    .join('');
  const body = rows
    .map((row, i) => {
      const cls = options.rowClass?.(i) ?? '';
      return `<tr${cls ? ` class="${cls}"` : ''}>${row.map((c, k) => `<td${l(k)}>${escapeHtml(c)}</td>`).join('')}</tr>`;
    })
    .join('');
  const cls = options.className ? ` class="${options.className}"` : '';
  return `<div class="table-scroll"><table${cls}><thead>${groups}<tr>${header}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** The shared explanation of every column of a table (results.ts), as a definition list. */
function columnLegend(columns: readonly ColumnDefinition[]): string {
  return `<details class="legend" open><summary>What the columns mean</summary><dl class="columns">${columns
    .map((c) => `<dt>${escapeHtml(c.name)}</dt><dd>${escapeHtml(c.explanation)}</dd>`)
    .join('')}</dl></details>`;
}

function resultsTableHtml(results: ReproduceResults): string {
  const runs = results.runs;
  return tableHtml(RESULT_COLUMN_DEFINITIONS, runs.map(resultRow), {
    className: 'results',
    groups: RESULT_GROUPS,
    rowClass: (i) =>
      [
        runs[i].method === 'dense' ? 'dense' : '',
        i > 0 && runs[i].method !== runs[i - 1].method ? 'group-start' : '',
      ]
        .filter(Boolean)
        .join(' '),
  });
}

function foldTableHtml(results: ReproduceResults): string {
  if (results.dataset.folds < 2) return '';
  const folds = results.runs[0].folds.map((f) => f.fold);
  const columns: ColumnDefinition[] = [
    { name: 'method', explanation: RESULT_COLUMN_DEFINITIONS[0].explanation },
    { name: 'rate', explanation: RESULT_COLUMN_DEFINITIONS[1].explanation },
    ...folds.map((fold) => ({ name: fold, explanation: `Top-1 accuracy on ${fold}'s test sequences.` })),
  ];
  const rows = results.runs.map((r) => [
    r.method,
    r.method === 'dense' ? '—' : formatPercent(r.rate, 0),
    ...r.folds.map((f) => formatPercent(f.top1)),
  ]);
  return `<details><summary>Top-1 accuracy per fold</summary>${tableHtml(columns, rows)}</details>`;
}

function comparisonSection(results: ReproduceResults): string {
  const rows = comparisonRows(results);
  if (rows.length === 0) return '';
  return `<p class="note">${escapeHtml(comparisonNote(results))}</p>
${tableHtml(COMPARISON_COLUMN_DEFINITIONS, rows, { align: 'rlrrr' })}
${columnLegend(COMPARISON_COLUMN_DEFINITIONS)}`;
}

/** The mask pictures as a gallery: one row per method and rate, one column per layer. */
function maskGallery(masks: readonly MaskArtifact[]): string {
  if (masks.length === 0) return '<p class="note">No structured, unstructured or CTF runs to picture.</p>';
  const layers = [...new Set(masks.map((m) => m.layer))];
  const groups = [...new Set(masks.map((m) => `${m.method}|${m.rate}`))];
  const rows = groups.map((group) => {
    const [method, rate] = group.split('|');
    const label = `${method} at ${formatPercent(Number(rate), 0)}`;
    const cells = layers.map((layer) => {
      const m = masks.find((m) => m.method === method && String(m.rate) === rate && m.layer === layer);
      if (!m) return '<td></td>';
      const caption = `${label}, ${m.layer} (${m.picture.width}×${m.picture.height} px)`;
      return `<td><figure><button type="button" class="zoom" title="Enlarge" data-caption="${escapeHtml(caption)}"><img alt="${escapeHtml(`${m.method} ${m.layer} mask`)}" src="data:image/png;base64,${base64(m.picture.png)}"></button><figcaption>${m.picture.width}×${m.picture.height}</figcaption></figure></td>`;
    });
    return `<tr><th scope="row">${escapeHtml(label)}</th>${cells.join('')}</tr>`;
  });
  return `<div class="table-scroll"><table class="masks"><thead><tr><th></th>${layers
    .map((l) => `<th scope="col">${escapeHtml(l)}</th>`)
    .join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

/** One section of the page: its anchor, heading and body, listed in the table of contents. */
interface PageSection {
  id: string;
  title: string;
  html: string;
  /** Wrap the body so that wide content scrolls inside it rather than widening the page. */
  contained?: boolean;
}

/** Ids made unique (a detail section named like one of the report's own gets a suffix). */
function uniqueIds(sections: readonly PageSection[]): PageSection[] {
  const used = new Set<string>(['contents', 'zoom', 'quick-warning', 'failed-cells']);
  return sections.map((s) => {
    const base = s.id.replace(/[^\w-]+/g, '-') || 'section';
    let id = base;
    for (let k = 2; used.has(id); k++) id = `${base}-${k}`;
    used.add(id);
    return { ...s, id };
  });
}

export function renderHtmlReport(
  results: ReproduceResults,
  charts: readonly ChartArtifact[],
  masks: readonly MaskArtifact[],
  details: readonly ReportSection[] = [],
): string {
  const p = results.provenance;
  const curves = charts.filter((c) => !c.name.startsWith('confusion-'));
  const confusions = charts.filter((c) => c.name.startsWith('confusion-'));
  const comparison = comparisonSection(results);
  const sections = uniqueIds([
    {
      id: 'results',
      title: 'Results',
      html: `<p class="note">${escapeHtml(accuracyNote(results))}</p>
${resultsTableHtml(results)}
${columnLegend(RESULT_COLUMN_DEFINITIONS)}
${foldTableHtml(results)}`,
    },
    ...(comparison ? [{ id: 'comparison', title: COMPARISON_TITLE, html: comparison }] : []),
    {
      id: 'rate-charts',
      title: 'Accuracy and speed against the pruning rate',
      html: `<div class="charts rate-charts">${curves.map((c) => `<figure>${c.chart.svg}<figcaption>${escapeHtml(c.title)}</figcaption></figure>`).join('')}</div>`,
    },
    {
      id: 'masks',
      title: 'Masks',
      html: `<p class="note">Kept weights are dark, pruned ones white. The graph convolution is drawn with one attention head per diagonal block (grey: no weights); other layers as stored (rows: inputs, columns: outputs), averaged down where larger than the picture. Thumbnails share one height; click one to enlarge it.</p>
${maskGallery(masks)}`,
    },
    {
      id: 'confusion-matrices',
      title: 'Confusion matrices',
      html: `<div class="confusions">${confusions.map((c, i) => `<details${i === 0 ? ' open' : ''}><summary>${escapeHtml(c.title)}</summary>${c.chart.svg}</details>`).join('')}</div>`,
    },
    ...details.map((d) => ({ ...d, contained: true })),
  ]);
  const toc = `<nav class="toc" id="contents" aria-label="Contents"><h2>Contents</h2><ol>${sections
    .map((s) => `<li><a href="#${s.id}">${escapeHtml(s.title)}</a></li>`)
    .join('')}</ol></nav>`;
  const body = sections
    .map(
      (s) =>
        `<section><h2 id="${s.id}">${escapeHtml(s.title)}<a class="up" href="#contents">↑ contents</a></h2>\n${
          s.contained ? `<div class="detail-body">${s.html}</div>` : s.html
        }</section>`,
    )
    .join('\n');
  const quick = results.quick
    ? `<div class="quick-banner" id="quick-warning" role="note"><strong>⚠ ${escapeHtml(QUICK_WARNING.slice(0, QUICK_WARNING.indexOf(':') + 1))}</strong>${escapeHtml(QUICK_WARNING.slice(QUICK_WARNING.indexOf(':') + 1))}</div>`
    : '';
  const failed = failuresWarning(results);
  const failures = failed
    ? `<div class="quick-banner" id="failed-cells" role="alert"><strong>⚠</strong> ${escapeHtml(failed)}</div>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>skelprune: ${escapeHtml(results.dataset.title)}${results.quick ? ' (quick run)' : ''}</title><style>${STYLE}</style></head>
<body>
<h1>Coarse-to-fine pruning on ${escapeHtml(results.dataset.title)}</h1>
${quick}${failures}
<p class="note">Protocol ${escapeHtml(results.dataset.protocol)} (${results.dataset.folds} fold${results.dataset.folds === 1 ? '' : 's'}). Produced by <code>${escapeHtml(p.command)}</code> on ${escapeHtml(p.date)}, ${escapeHtml(p.machine.cpu)} (${p.machine.cores} cores, ${p.machine.memoryGiB} GiB), ${escapeHtml(p.machine.os)}, Node ${escapeHtml(p.machine.node)}, skelprune ${escapeHtml(p.skelprune)}, seed ${p.seed}.</p>
${toc}
${body}
<dialog id="zoom" aria-label="Enlarged mask picture"></dialog>
<script>${SCRIPT}</script>
</body></html>
`;
}
