/**
 * Training curves from the runs' `log.jsonl` files (one line per epoch, every phase): loss and
 * accuracy per epoch with every fold overlaid, and for the CTF methods the soft-mask mass against its
 * target with σ and λ. The chart specs are plain Vega-Lite over the logged records, rendered like the
 * report's other charts (charts.ts).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';

/** One logged epoch (train/trainer.ts EpochRecord, with its phase), as read back. */
export interface LogRecord {
  phase: string;
  epoch: number;
  loss: number;
  trainAccuracy: number;
  validation: { top1: number; meanClass: number; loss: number } | null;
  extra: Record<string, number>;
}

/** One fold's log. */
export interface FoldLog {
  /** `fold 1`, `fold 2`, ... (the run's `fold-<k>` folders). */
  fold: string;
  records: LogRecord[];
}

/** One point of a curve: a fold's value of one series at one epoch (counted across phases). */
export interface CurvePoint {
  fold: string;
  /** Epoch counted across the run's phases (pruning, then fine-tuning), from 1. */
  epoch: number;
  phase: string;
  series: string;
  value: number;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The records of a log.jsonl text; lines that are not epoch records are skipped. */
export function parseLog(text: string): LogRecord[] {
  const out: LogRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      continue;
    }
    const r = json as Partial<LogRecord>;
    if (typeof r !== 'object' || r === null || !isFiniteNumber(r.epoch) || !isFiniteNumber(r.loss)) continue;
    const v = r.validation;
    out.push({
      phase: typeof r.phase === 'string' ? r.phase : 'train',
      epoch: r.epoch,
      loss: r.loss,
      trainAccuracy: isFiniteNumber(r.trainAccuracy) ? r.trainAccuracy : Number.NaN,
      validation:
        v && isFiniteNumber(v.top1) && isFiniteNumber(v.loss)
          ? { top1: v.top1, meanClass: v.meanClass, loss: v.loss }
          : null,
      extra: Object.fromEntries(
        Object.entries(r.extra ?? {}).filter((e): e is [string, number] => isFiniteNumber(e[1])),
      ),
    });
  }
  return out;
}

/** The logs of a run folder's `fold-<k>` folders, in fold order; folds without a log are left out. */
export async function readRunLogs(runDir: string): Promise<FoldLog[]> {
  if (!existsSync(runDir)) return [];
  const folds = (await readdir(runDir, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && /^fold-\d+$/.test(e.name))
    .map((e) => Number(e.name.slice('fold-'.length)))
    .sort((a, b) => a - b);
  const out: FoldLog[] = [];
  for (const k of folds) {
    const path = join(runDir, `fold-${k}`, 'log.jsonl');
    if (!existsSync(path)) continue;
    const records = parseLog(await readFile(path, 'utf8'));
    if (records.length > 0) out.push({ fold: `fold ${k}`, records });
  }
  return out;
}

/** Points of the series `pick` gives for each record (undefined or non-finite values are skipped). */
function points(
  logs: readonly FoldLog[],
  pick: (r: LogRecord) => Record<string, number | undefined>,
  phase?: string,
): CurvePoint[] {
  return logs.flatMap(({ fold, records }) =>
    records.flatMap((r, i) =>
      phase !== undefined && r.phase !== phase
        ? []
        : Object.entries(pick(r))
            .filter((e): e is [string, number] => isFiniteNumber(e[1]))
            .map(([series, value]) => ({ fold, epoch: i + 1, phase: r.phase, series, value })),
    ),
  );
}

/** Training loss, and validation loss where there is a validation part. */
export const lossPoints = (logs: readonly FoldLog[]) =>
  points(logs, (r) => ({ train: r.loss, validation: r.validation?.loss }));

/** Training accuracy and validation top-1 (%), where there is a validation part. */
export const accuracyPoints = (logs: readonly FoldLog[]) =>
  points(logs, (r) => ({
    train: 100 * r.trainAccuracy,
    validation: r.validation ? 100 * r.validation.top1 : undefined,
  }));

/** Series names of the CTF mask chart. */
export const MASK_SERIES = {
  soft: 'soft-mask mass',
  target: 'target',
  rounded: 'soft mask rounded at ψ = ½',
} as const;

/**
 * The CTF pruning phase's kept share of the budget (%): the soft masks' mass (`extra.softKept`), its
 * ramped target (`extra.targetKept`) and, where logged, the soft masks rounded at ψ = ½.
 */
export const maskPoints = (logs: readonly FoldLog[]) =>
  points(
    logs,
    (r) => ({
      [MASK_SERIES.soft]: scaled(r.extra.softKept),
      [MASK_SERIES.target]: scaled(r.extra.targetKept),
      [MASK_SERIES.rounded]: scaled(r.extra.roundedKept),
    }),
    'prune',
  );

const scaled = (v: number | undefined) => (v === undefined ? undefined : 100 * v);

/** σ and λ of the CTF schedule per pruning epoch. */
export const schedulePoints = (logs: readonly FoldLog[]) =>
  points(logs, (r) => ({ 'σ (temperature)': r.extra.sigma, 'λ (budget weight)': r.extra.lambda }), 'prune');

/** Epochs (counted across phases) where a new phase starts, from the first fold's log. */
export function phaseStarts(logs: readonly FoldLog[]): { epoch: number; phase: string }[] {
  const records = logs[0]?.records ?? [];
  return records.flatMap((r, i) =>
    i > 0 && r.phase !== records[i - 1].phase ? [{ epoch: i + 0.5, phase: r.phase }] : [],
  );
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/**
 * Series against the epoch, one colour per series and one line per fold, with a dashed rule where a
 * phase starts.
 */
export function curveChart(
  data: readonly CurvePoint[],
  {
    title,
    yTitle,
    log = false,
    starts = [],
    width = 340,
    height = 200,
  }: {
    title: string;
    yTitle: string;
    log?: boolean;
    starts?: readonly { epoch: number; phase: string }[];
    width?: number;
    height?: number;
  },
): TopLevelSpec {
  const lines = {
    data: { values: data as unknown as Record<string, unknown>[] },
    mark: { type: 'line', point: data.length <= 120 ? { size: 12 } : false, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: {
        field: 'value',
        type: 'quantitative',
        title: yTitle,
        scale: log ? { type: 'log' } : { zero: false },
      },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 320 } },
      detail: { field: 'fold', type: 'nominal' },
      tooltip: [
        { field: 'fold' },
        { field: 'phase' },
        { field: 'epoch' },
        { field: 'series' },
        { field: 'value' },
      ],
    },
  };
  const rules = starts.length > 0 && {
    data: { values: starts as unknown as Record<string, unknown>[] },
    mark: { type: 'rule', strokeDash: [4, 3], color: '#888' },
    encoding: { x: { field: 'epoch', type: 'quantitative' }, tooltip: [{ field: 'phase' }] },
  };
  return {
    $schema: SCHEMA,
    title,
    width,
    height,
    layer: rules ? [lines, rules] : [lines],
  } as TopLevelSpec;
}

/** One method's points for the small multiples. */
export interface MethodPoint extends CurvePoint {
  method: string;
}

/** Small multiples: one panel per method (in the order given), the same series in each. */
export function smallMultiplesChart(
  data: readonly MethodPoint[],
  methods: readonly string[],
  { title, yTitle }: { title: string; yTitle: string },
): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title,
    data: { values: data as unknown as Record<string, unknown>[] },
    facet: { field: 'method', type: 'nominal', title: null, sort: [...methods] },
    columns: 4,
    spec: {
      width: 200,
      height: 110,
      mark: { type: 'line', strokeWidth: 1.2 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } },
        color: {
          field: 'series',
          type: 'nominal',
          title: null,
          legend: { orient: 'bottom', labelLimit: 320 },
        },
        detail: { field: 'fold', type: 'nominal' },
      },
    },
  } as TopLevelSpec;
}
