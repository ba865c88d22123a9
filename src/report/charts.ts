/**
 * Charts of the report as Vega-Lite specifications, rendered headless to SVG by Vega and to PNG by
 * resvg. No hand-drawn chart code: each chart is a declarative spec over plain records.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import * as vegaLite from 'vega-lite';

export interface RenderedChart {
  svg: string;
  png: Uint8Array;
}

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

const CONFIG = {
  font: FONT,
  view: { stroke: 'transparent' },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14 },
} as const;

/** A chart as SVG only (for inline use, where no PNG is written). */
export async function renderChartSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = vegaLite.compile({ ...spec, config: { ...CONFIG, ...spec.config } } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export async function renderChart(spec: TopLevelSpec): Promise<RenderedChart> {
  const svg = await renderChartSvg(spec);
  const png = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
    .render()
    .asPng();
  return { svg, png };
}

/** One point of a method's curve. */
export interface RatePoint {
  method: string;
  /** Achieved pruning rate in %. */
  rate: number;
  value: number;
}

/** A metric against the pruning rate, one line per method, with an optional dense reference line. */
export function rateChart(
  points: readonly RatePoint[],
  {
    title,
    yTitle,
    reference,
  }: { title: string; yTitle: string; reference?: { value: number; label: string } },
): TopLevelSpec {
  const lines = {
    data: { values: points as unknown as Record<string, unknown>[] },
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x: { field: 'rate', type: 'quantitative', title: 'pruning rate (%)', scale: { zero: false } },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { field: 'method', type: 'nominal', title: 'method' },
      tooltip: [{ field: 'method' }, { field: 'rate' }, { field: 'value' }],
    },
  };
  const rule = reference && {
    data: { values: [reference] },
    mark: { type: 'rule', strokeDash: [6, 4], color: '#555' },
    encoding: { y: { field: 'value', type: 'quantitative' } },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: 280,
    layer: rule ? [lines, rule] : [lines],
  } as TopLevelSpec;
}

/** A confusion matrix as a heat map (rows: true class, columns: predicted class). */
export function confusionChart(
  confusion: readonly (readonly number[])[],
  classNames: readonly string[],
  title: string,
): TopLevelSpec {
  const values = confusion.flatMap((row, i) =>
    row.map((count, j) => ({ truth: `${i} ${classNames[i]}`, predicted: `${j}`, count, i, j })),
  );
  const side = Math.min(720, Math.max(200, 16 * classNames.length));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: side,
    height: side,
    data: { values },
    encoding: {
      x: { field: 'predicted', type: 'ordinal', sort: { field: 'j' }, title: 'predicted class' },
      y: { field: 'truth', type: 'ordinal', sort: { field: 'i' }, title: 'true class' },
    },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: {
            field: 'count',
            type: 'quantitative',
            scale: { range: ['#ffffff', '#08306b'] },
            legend: null,
          },
        },
      },
      {
        mark: { type: 'text', fontSize: classNames.length > 20 ? 7 : 11 },
        transform: [
          { filter: 'datum.count > 0' },
          { joinaggregate: [{ op: 'max', field: 'count', as: 'max' }] },
        ],
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.count > datum.max / 2', value: 'white' }, value: 'black' },
        },
      },
    ],
  } as TopLevelSpec;
}
