/**
 * The figures of a reproduce run, in one JSON-serialisable shape (results.json), and the paper-style
 * markdown table made from them. Every number a report shows is computed here once.
 */
import { formatPercent } from '../train/metrics.js';
import type { CodeState, DatasetFingerprint, PhaseTime } from './provenance.js';
import { markdownTable } from './table.js';

/** Where reproduction results come from: command, seed, date, machine and skelprune version. */
export interface Provenance {
  /** The command recorded for the run (`reproduce`, `combine` or the caller's own). */
  command: string;
  /** The run's random seed. */
  seed: number;
  /** When the results were written, as an ISO 8601 date-time. */
  date: string;
  /** The machine it ran on. */
  machine: {
    /** CPU model. */
    cpu: string;
    /** Logical cores available to Node. */
    cores: number;
    /** Total memory, GiB (rounded). */
    memoryGiB: number;
    /** Operating system: type, release, architecture. */
    os: string;
    /** Node.js version. */
    node: string;
  };
  /** skelprune's version. */
  skelprune: string;
  /** The git commit of the skelprune checkout and whether it had changes (absent in older results). */
  code?: CodeState;
  /** The dataset's files, fingerprinted (absent in older results). */
  data?: DatasetFingerprint;
  /** Wall time of each phase of the reproduce invocation that wrote the results (absent in older results). */
  phases?: PhaseTime[];
}

/** Measured inference of one exported model (fold 1). */
export interface SpeedFigures {
  /** Batch-1 latency, median, milliseconds. */
  p50Ms: number;
  /** Batch-1 latency, 90th percentile, milliseconds. */
  p90Ms: number;
  /** Sequences per second at the throughput batch. */
  throughput: number;
  /** Size of the exported .skp file. */
  bytes: number;
  /** Dense p50 / this p50, both from one interleaved measurement (1 for the dense model). */
  speedup: number;
  /** The engine revision (runtime/engine.ts ENGINE_REVISION) that was timed. */
  engineRevision: number;
}

/** Test accuracies of one fold. */
export interface FoldFigures {
  /** The fold's name in its protocol. */
  fold: string;
  /** Top-1 accuracy (fraction correct). */
  top1: number;
  /** Mean per-class accuracy. */
  meanClass: number;
}

/** One row of the results table: the dense model, or one method at one rate, over every fold. */
export interface RunFigures {
  /** 'dense' for the unpruned baseline. */
  method: string;
  /** Target rate (0 for dense). */
  rate: number;
  /** Mean achieved rate over folds (fraction of prunable weights removed). */
  achievedRate: number;
  /** Accuracies of every fold (means over seeds, when there are several). */
  folds: FoldFigures[];
  /** Top-1 accuracy, the mean over folds (and over seeds, when there are several). */
  top1: number;
  /** Mean per-class accuracy, the mean over folds (and over seeds). */
  meanClass: number;
  /**
   * Each seed's fold means, when a run was pruned with several seeds (`reproduce --prune-seeds`) or
   * repeated whole with several (`combine`, see ReproduceResults.repetitions).
   */
  seeds?: {
    /** The seed. */
    seed: number;
    /** Its top-1 accuracy, mean over folds. */
    top1: number;
    /** Its mean per-class accuracy, mean over folds. */
    meanClass: number;
  }[];
  /** Parameters kept (prunable kept + non-prunable), fold 1. */
  parameters: number;
  /** FLOPs per sequence, fold 1: dense, on the compacted matrices, counting only kept weights. */
  flops: {
    /** The dense model's. */
    dense: number;
    /** On the compacted matrices (empty rows, columns and blocks removed). */
    compacted: number;
    /** Counting only kept weights. */
    sparse: number;
  };
  /** Share of the pruned weights in whole removed rows, columns or blocks, fold 1. */
  structuredShare: number;
  /** Measured inference of the exported fold-1 model; null when speed was not measured. */
  speed: SpeedFigures | null;
  /** Summed over folds. */
  confusion: number[][];
  /** The fold-1 checkpoint (masks for the pictures). */
  checkpoint: string;
  /**
   * Dense run only: the control, the dense models trained for the extra epochs the pruned models get
   * (same phases and learning rates, nothing pruned), so that pruned rows can be told from extra
   * training. Absent when no control ran.
   */
  control?: {
    /** Extra epochs trained. */
    epochs: number;
    /** Top-1 accuracy, mean over folds. */
    top1: number;
    /** Mean per-class accuracy, mean over folds. */
    meanClass: number;
    /** Accuracies of every fold. */
    folds: FoldFigures[];
  };
}

/** Every figure of a reproduction (the content of its `results.json`). */
export interface ReproduceResults {
  /** The dataset and protocol. */
  dataset: {
    /** Short name, e.g. `sbu`. */
    name: string;
    /** Human-readable title. */
    title: string;
    /** The evaluation protocol. */
    protocol: string;
    /** Folds of the protocol that were run. */
    folds: number;
  };
  /**
   * Set by `reproduce --quick`: a smoke test on tiny synthetic data whose figures mean nothing (the
   * reports say so at their top). Absent in results written before it was recorded.
   */
  quick?: boolean;
  /** Where the results come from. */
  provenance: Provenance;
  /** Class names, by label index. */
  classNames: string[];
  /** The dense baseline first, then every method × rate. */
  runs: RunFigures[];
  /**
   * Set by `skelprune combine`: the reproduce runs, each a repetition of the whole protocol with its
   * own seed and dense models, whose accuracies these runs average (the rest is the first one's).
   */
  repetitions?: {
    /** The repetition's `reproduce` output folder. */
    dir: string;
    /** Its seed. */
    seed: number;
    /** Its recorded command. */
    command: string;
  }[];
  /**
   * Set when cells of a sweep on a job queue (`reproduce --queue`) failed after their retries, or could
   * not run because a cell they start from failed: a method and rate with a failed pruning cell has no
   * row, a run whose timing failed has no speed. Absent when every cell finished.
   */
  failures?: {
    /** The cell, e.g. `ctf 90% fold 2` or `timing ctf 90%`. */
    cell: string;
    /** Why: the error of its last attempt, or the failed cell it needs. */
    error: string;
  }[];
}

const count = (n: number) => n.toLocaleString('en-US');

function megaFlops(flops: number): string {
  return `${(flops / 1e6).toFixed(2)} M`;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

/** A rate as a number of percent, as file names use it: 0.95 → '95'. */
export const ratePercent = (rate: number) => `${Math.round(rate * 1000) / 10}`;

/** A rate as the folders and tables name it: 0.95 → '95%'. */
export const rateLabel = (rate: number) => `${ratePercent(rate)}%`;

export const mean = (values: readonly number[]) => values.reduce((s, v) => s + v, 0) / values.length;

/** One seed's accuracies of a method and rate (a run's fold figures and their means). */
export type SeedFigures = Pick<RunFigures, 'achievedRate' | 'folds' | 'top1' | 'meanClass'>;

/**
 * The accuracies of one method and rate over seeds (pruning seeds, or whole repetitions): per fold
 * and overall the means over seeds, and each seed's own means when there are several.
 */
export function averageOverSeeds(
  bySeed: readonly { seed: number; figures: SeedFigures }[],
): SeedFigures & Pick<RunFigures, 'seeds'> {
  const runs = bySeed.map((s) => s.figures);
  return {
    achievedRate: mean(runs.map((r) => r.achievedRate)),
    folds: runs[0].folds.map((f, k) => ({
      fold: f.fold,
      top1: mean(runs.map((r) => r.folds[k].top1)),
      meanClass: mean(runs.map((r) => r.folds[k].meanClass)),
    })),
    top1: mean(runs.map((r) => r.top1)),
    meanClass: mean(runs.map((r) => r.meanClass)),
    ...(bySeed.length > 1
      ? {
          seeds: bySeed.map(({ seed, figures }) => ({
            seed,
            top1: figures.top1,
            meanClass: figures.meanClass,
          })),
        }
      : {}),
  };
}

/** A column of a table and what it shows, as the HTML report, results.md and the console explain it. */
export interface ColumnDefinition {
  /** The header. */
  name: string;
  /** What its cells show: one or two sentences, the only explanation of the column anywhere. */
  explanation: string;
}

/** Columns of the results table, in the markdown, the HTML report and the console alike. */
export const RESULT_COLUMN_DEFINITIONS: readonly ColumnDefinition[] = [
  {
    name: 'method',
    explanation:
      'The pruning method (docs/pruning.md); dense is the unpruned model every method starts from, and method@budget a method under a budget other than the weight count.',
  },
  {
    name: 'target rate',
    explanation: 'The fraction of the prunable weights the method was asked to remove.',
  },
  {
    name: 'achieved',
    explanation: 'The fraction of the prunable weights it removed, mean over folds.',
  },
  {
    name: 'top-1',
    explanation:
      'Test accuracy: the share of test sequences classified correctly (± the standard deviation over seeds, when there are several).',
  },
  {
    name: 'mean-class',
    explanation:
      'Test accuracy of each class, averaged over the classes, so rare classes count as much as common ones.',
  },
  {
    name: 'parameters',
    explanation: 'Parameters kept: the prunable weights left plus the parameters no method prunes.',
  },
  {
    name: 'FLOPs (compacted)',
    explanation:
      'Floating-point operations per sequence, in millions, once empty rows, columns and head blocks are removed and the smaller matrices multiplied densely: what a dense kernel pays.',
  },
  {
    name: 'FLOPs (sparse)',
    explanation:
      'Floating-point operations per sequence, in millions, counting only the kept weights: what an ideal sparse kernel would pay.',
  },
  {
    name: 'structured share',
    explanation:
      'The share of the pruned weights that lie in whole removed rows, columns or head blocks, which compaction turns into smaller matrices.',
  },
  {
    name: 'model file',
    explanation: 'Size of the exported .skp model file.',
  },
  {
    name: 'batch-1 latency',
    explanation: "Median time to classify one sequence (batch 1) in skelprune's runtime, in microseconds.",
  },
  {
    name: 'speed-up',
    explanation:
      "The unpruned model's median batch-1 latency over this model's, both from one measurement that alternates the two; so it is not always the ratio of the latencies listed, which were measured at different moments.",
  },
];

/** Headers of the results table (RESULT_COLUMN_DEFINITIONS' names). */
export const RESULT_COLUMNS: readonly string[] = RESULT_COLUMN_DEFINITIONS.map((c) => c.name);

/** The warning every report of a `quick` run carries at its top (HTML, results.md and console). */
export const QUICK_WARNING =
  'Quick run: a smoke test of the whole pipeline on tiny synthetic data (one fold, a small model, a few epochs). Its accuracies, sizes and speed-ups mean nothing; they only show that every step runs and every artifact is written. Run reproduce with --dataset for real figures.';

/** The warning every report of a sweep with failed cells carries at its top, naming them; null without. */
export function failuresWarning(results: ReproduceResults): string | null {
  const failed = results.failures ?? [];
  if (failed.length === 0) return null;
  const list = failed.map((f) => `${f.cell} (${f.error.split('\n')[0]})`).join('; ');
  return `${failed.length} cell${failed.length === 1 ? '' : 's'} of this sweep failed, so the rows that need them are missing (a failed timing only leaves its row without speed): ${list}. Run them again with skelprune queue retry, then the same reproduce command.`;
}

/** Population standard deviation over seeds of a run's mean top-1; null with one seed. */
export function seedSpread(run: RunFigures): number | null {
  if (!run.seeds || run.seeds.length < 2) return null;
  const { seeds, top1 } = run; // top1 is the seeds' mean
  return Math.sqrt(seeds.reduce((a, s) => a + (s.top1 - top1) ** 2, 0) / seeds.length);
}

/** One run's cells under RESULT_COLUMNS. */
export function resultRow(r: RunFigures): string[] {
  const spread = seedSpread(r);
  return [
    r.method,
    r.method === 'dense' ? '—' : formatPercent(r.rate, 0),
    r.method === 'dense' ? '—' : formatPercent(r.achievedRate, 2),
    spread === null ? formatPercent(r.top1) : `${formatPercent(r.top1)} ± ${(100 * spread).toFixed(2)}`,
    formatPercent(r.meanClass),
    count(r.parameters),
    megaFlops(r.flops.compacted),
    megaFlops(r.flops.sparse),
    r.method === 'dense' ? '—' : formatPercent(r.structuredShare, 0),
    r.speed ? kib(r.speed.bytes) : '—',
    r.speed ? `${(r.speed.p50Ms * 1000).toFixed(0)} µs` : '—',
    r.speed ? `${r.speed.speedup.toFixed(1)}×` : '—',
  ];
}

/** The results table: accuracy, rates, size, FLOPs and measured speed of every run. */
export function resultsTable(results: ReproduceResults): string {
  return markdownTable([RESULT_COLUMNS, ...results.runs.map(resultRow)], 'lrrrrrrrrrrr');
}

/** What the table's accuracies average over, for the notes under it. */
export function accuracyNote(results: ReproduceResults): string {
  if (results.repetitions) {
    const seeds = results.repetitions.map((r) => r.seed).join(', ');
    return `Accuracies are means over folds and over ${results.repetitions.length} repetitions of the whole protocol (seeds ${seeds}), each training its own dense models and pruning them (± the standard deviation of the repetitions' fold means); sizes, FLOPs, speed and masks are of fold 1 of the first repetition, confusion matrices of all its folds.`;
  }
  const seeds = Math.max(...results.runs.map((r) => r.seeds?.length ?? 1));
  const averaged =
    seeds > 1
      ? `Accuracies are means over folds and over ${seeds} pruning seeds from the same dense models (± the standard deviation of the seeds' fold means); sizes, FLOPs and speed are of fold 1 and the first seed.`
      : 'Accuracies are means over folds; sizes, FLOPs and speed are of fold 1.';
  return [averaged, controlNote(results)].filter(Boolean).join(' ');
}

/** What the dense models reach with the pruned models' extra epochs, when the control ran. */
function controlNote(results: ReproduceResults): string {
  const dense = results.runs.find((r) => r.method === 'dense');
  if (!dense?.control) return '';
  const { epochs, top1 } = dense.control;
  return `Control: the dense models trained ${epochs} more epochs with the pruning runs' phases and learning rates, nothing pruned, reach ${formatPercent(top1)} top-1 (dense ${formatPercent(dense.top1)}); a pruned row above the dense one but not above ${formatPercent(top1)} owes its lead to the extra training.`;
}

/** Accuracy of a run relative to the dense baseline, in percentage points. */
export function pointsBelowDense(results: ReproduceResults, run: RunFigures): number {
  const dense = results.runs.find((r) => r.method === 'dense');
  return dense ? 100 * (dense.top1 - run.top1) : Number.NaN;
}

/** Two-sided 95% quantiles of Student's t for 1–30 degrees of freedom; beyond, the normal 1.96. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** CTF against one other run at the same rate (or the dense model), fold by fold. */
export interface PairedDifference {
  rate: number;
  /** The other run's method ('dense' for the unpruned model). */
  against: string;
  /** Mean over folds of CTF's top-1 minus the other's (fractions). */
  difference: number;
  /** Half-width of the 95% interval of that mean (Student t over the folds); null with one fold. */
  halfWidth: number | null;
  /** Folds where CTF is ahead, tied and behind. */
  ahead: number;
  tied: number;
  behind: number;
}

function pairedDifference(ctf: RunFigures, other: RunFigures): PairedDifference {
  const differences = ctf.folds.map((f) => {
    const twin = other.folds.find((o) => o.fold === f.fold);
    if (!twin) throw new Error(`${other.method} has no fold ${f.fold} to pair with ${ctf.method}'s`);
    return f.top1 - twin.top1;
  });
  const n = differences.length;
  const average = mean(differences);
  const variance = n > 1 ? differences.reduce((a, d) => a + (d - average) ** 2, 0) / (n - 1) : 0;
  // Fold accuracies are ratios of small counts; differences below 1e-9 are the same count.
  const sign = (d: number) => (Math.abs(d) < 1e-9 ? 0 : Math.sign(d));
  return {
    rate: ctf.rate,
    against: other.method,
    difference: average,
    halfWidth: n > 1 ? (T_975[n - 2] ?? 1.96) * Math.sqrt(variance / n) : null,
    ahead: differences.filter((d) => sign(d) > 0).length,
    tied: differences.filter((d) => sign(d) === 0).length,
    behind: differences.filter((d) => sign(d) < 0).length,
  };
}

/**
 * CTF at every rate against the dense model and every other method at that rate, paired by fold
 * (the folds' test sets are the same, so their differences cancel what makes one fold harder).
 */
export function pairedComparisons(results: ReproduceResults): PairedDifference[] {
  const dense = results.runs.find((r) => r.method === 'dense');
  return results.runs
    .filter((r) => r.method === 'ctf')
    .flatMap((ctf) => {
      const others = results.runs.filter((r) => r.rate === ctf.rate && r.method !== 'ctf');
      return [...(dense ? [dense] : []), ...others].map((other) => pairedDifference(ctf, other));
    });
}

/** A signed difference of fractions in percentage points: 0.0028 → '+0.28'. */
const points = (fraction: number) => `${fraction >= 0 ? '+' : '−'}${Math.abs(100 * fraction).toFixed(2)}`;

/** The heading of the comparison, in the reports and on the console. */
export const COMPARISON_TITLE = 'CTF against the others, paired by fold';

/** Columns of the comparison table, in the markdown, the HTML report and the console alike. */
export const COMPARISON_COLUMN_DEFINITIONS: readonly ColumnDefinition[] = [
  { name: 'rate', explanation: 'The pruning rate of both runs.' },
  {
    name: 'CTF against',
    explanation: 'The run CTF is compared with: the unpruned model, or another method at the same rate.',
  },
  {
    name: 'CTF − other',
    explanation: "CTF's top-1 minus the other's, in percentage points, mean over the folds.",
  },
  {
    name: '95% interval',
    explanation:
      "Student's t over the folds' differences: an interval that contains 0 means these folds cannot tell the two apart (— with one fold, where a difference of a few test sequences is within noise).",
  },
  {
    name: 'folds ahead / tied / behind',
    explanation: "The folds on which CTF's top-1 is higher than, equal to and lower than the other's.",
  },
];

/** Headers of the comparison table (COMPARISON_COLUMN_DEFINITIONS' names). */
export const COMPARISON_COLUMNS: readonly string[] = COMPARISON_COLUMN_DEFINITIONS.map((c) => c.name);

/** One comparison's cells under COMPARISON_COLUMNS. */
function comparisonRow(c: PairedDifference): string[] {
  return [
    formatPercent(c.rate, 0),
    c.against,
    `${points(c.difference)} points`,
    c.halfWidth === null
      ? '—'
      : `${points(c.difference - c.halfWidth)} to ${points(c.difference + c.halfWidth)}`,
    `${c.ahead} / ${c.tied} / ${c.behind}`,
  ];
}

/** What the comparison pairs, for the note with it (its columns are explained by their definitions). */
export function comparisonNote(results: ReproduceResults): string {
  const folds = results.dataset.folds;
  const what = results.repetitions ? "each fold's mean over the repetitions" : "each fold's top-1";
  return folds > 1
    ? `CTF paired with each other run fold by fold over the ${folds} folds (${what}); the folds' test sets are the same, so pairing cancels what makes one fold harder than another.`
    : 'CTF against each other run on the single fold: there is no interval, so a difference of a few test sequences is within noise.';
}

/** The comparison's rows under COMPARISON_COLUMNS, in the markdown and the HTML report alike. */
export function comparisonRows(results: ReproduceResults): string[][] {
  return pairedComparisons(results).map(comparisonRow);
}

/** The comparison table in markdown, or '' when there is no CTF run. */
export function comparisonTable(results: ReproduceResults): string {
  const rows = comparisonRows(results);
  return rows.length === 0 ? '' : markdownTable([COMPARISON_COLUMNS, ...rows], 'rlrrr');
}
