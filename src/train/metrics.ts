/**
 * Classification metrics, computed in one place: top-1 accuracy, mean-class accuracy and the
 * confusion matrix (rows: true class, columns: predicted class). Accuracies are fractions in [0, 1];
 * `formatPercent` is how every report prints them.
 */

/** Accuracies (fractions in [0, 1]) and the confusion matrix of a set of predictions. */
export interface ClassificationMetrics {
  /** Correct predictions / all predictions. */
  top1: number;
  /** Mean over classes present in the labels of each class's recall. */
  meanClass: number;
  /** counts[true][predicted]. */
  confusion: number[][];
  /** Predictions counted (sequences evaluated). */
  count: number;
}

export function classificationMetrics(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): ClassificationMetrics {
  if (predicted.length !== labels.length) {
    throw new RangeError(`metrics: ${predicted.length} predictions for ${labels.length} labels`);
  }
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    confusion[labels[i]][predicted[i]]++;
    if (labels[i] === predicted[i]) correct++;
  }
  const recalls = confusion
    .map((row, c) => ({ total: row.reduce((s, v) => s + v, 0), hit: row[c] }))
    .filter((r) => r.total > 0)
    .map((r) => r.hit / r.total);
  return {
    top1: labels.length === 0 ? 0 : correct / labels.length,
    meanClass: recalls.length === 0 ? 0 : recalls.reduce((s, r) => s + r, 0) / recalls.length,
    confusion,
    count: labels.length,
  };
}

/** Mean of several runs' metrics (SBU's folds): accuracies averaged, confusion matrices summed. */
export function meanMetrics(runs: readonly ClassificationMetrics[]): ClassificationMetrics {
  if (runs.length === 0) throw new RangeError('meanMetrics: no runs');
  const classes = runs[0].confusion.length;
  return {
    top1: runs.reduce((s, r) => s + r.top1, 0) / runs.length,
    meanClass: runs.reduce((s, r) => s + r.meanClass, 0) / runs.length,
    confusion: Array.from({ length: classes }, (_, i) =>
      Array.from({ length: classes }, (_, j) => runs.reduce((s, r) => s + r.confusion[i][j], 0)),
    ),
    count: runs.reduce((s, r) => s + r.count, 0),
  };
}

export function formatPercent(fraction: number, digits = 1): string {
  return `${(100 * fraction).toFixed(digits)}%`;
}

/** The confusion matrix as an aligned text table: rows are true classes, columns predicted ones. */
export function formatConfusion(
  confusion: readonly (readonly number[])[],
  classNames: readonly string[],
): string {
  const width = Math.max(3, ...confusion.flat().map((v) => String(v).length));
  const labels = classNames.map((name, i) => `${i} ${name}`);
  const labelWidth = Math.max('true \\ predicted'.length, ...labels.map((l) => l.length));
  const head = `${'true \\ predicted'.padEnd(labelWidth)} ${classNames.map((_, j) => String(j).padStart(width)).join(' ')}`;
  const rows = confusion.map(
    (row, i) =>
      `${labels[i].padEnd(labelWidth)} ${row.map((v) => (v === 0 ? '·' : String(v)).padStart(width)).join(' ')}`,
  );
  return [head, ...rows].join('\n');
}
