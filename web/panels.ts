/** The side panels' contents: a model's predictions, a model's card, the sequence list. */
import { formatPercent } from '../src/train/metrics.js';
import { formatBytes, formatLatency } from '../src/util/format.js';
import { topClasses, type WindowPrediction } from './classify.js';
import { el } from './dom.js';
import { type LoadedModel, modelLabel } from './models.js';
import type { SequenceEntry } from './sequences.js';

const TOP = 3;
const count = (n: number) => n.toLocaleString('en-US');

export interface ColumnContent {
  model: LoadedModel;
  /**
   * The window's prediction; why there is none (the library's message, or a model that takes no
   * hands); or how many frames are still needed.
   */
  result: WindowPrediction | { error: string } | { waiting: string };
  meanLatencyMs: number;
  measurements: number;
  trueClass: string | null;
  /** What the latency covers (e.g. `per inference`). */
  latencyNote: string;
}

/** One model's top classes with probability bars, and its mean latency. */
export function predictionColumn({
  model,
  result,
  meanLatencyMs,
  measurements,
  trueClass,
  latencyNote,
}: ColumnContent): HTMLElement {
  const column = el('div', { class: 'prediction', 'data-slot': model.slot }, el('h3', {}, modelLabel(model)));
  if ('error' in result) {
    column.append(el('p', { class: 'mismatch' }, result.error));
    return column;
  }
  if ('waiting' in result) {
    column.append(el('p', { class: 'hint waiting' }, result.waiting));
    return column;
  }
  const names = model.predictor.classNames;
  const list = el('ol', { class: 'top-classes' });
  for (const { index, p } of topClasses(result.probabilities, TOP)) {
    const isTrue = names[index] === trueClass;
    list.append(
      el(
        'li',
        isTrue ? { class: 'true-class', title: 'the true class' } : {},
        el('span', { class: 'class-name', title: names[index] }, names[index]),
        el('span', { class: 'bar' }, el('span', { style: `width: ${(p * 100).toFixed(1)}%` })),
        el('span', { class: 'probability' }, formatPercent(p)),
      ),
    );
  }
  column.append(
    list,
    el(
      'p',
      { class: 'latency' },
      el('strong', {}, formatLatency(meanLatencyMs)),
      ` ${latencyNote} (mean of ${measurements})`,
    ),
  );
  return column;
}

/** What a model file holds: size, pruning, nonzero weights and each layer's storage. */
export function modelCard(model: LoadedModel): HTMLElement {
  const { summary } = model;
  const pruning = summary.pruning
    ? `${formatPercent(summary.pruning.achievedRate)} of prunable weights (${summary.pruning.method}, target ${formatPercent(summary.pruning.rate)})`
    : 'none (dense)';
  const weights =
    summary.unprunedParameters === null
      ? `${count(summary.nonzeros)} nonzero`
      : `${count(summary.nonzeros)} nonzero (the unpruned model: ${count(summary.unprunedParameters)})`;
  const layers = el(
    'table',
    { class: 'layers' },
    el(
      'tr',
      {},
      el('th', {}, 'layer'),
      el('th', {}, 'kernel'),
      el('th', {}, 'nonzeros'),
      el('th', {}, 'in memory'),
    ),
    ...summary.layers.map((layer) =>
      el(
        'tr',
        {},
        el('td', {}, layer.name),
        el('td', {}, layer.format),
        el('td', {}, count(layer.nonzeros)),
        el('td', {}, formatBytes(layer.bytes)),
      ),
    ),
  );
  return el(
    'div',
    { class: 'model-card', 'data-slot': model.slot },
    el('h3', {}, `${model.slot}: ${model.name}`),
    el(
      'dl',
      {},
      el('dt', {}, 'file size'),
      el(
        'dd',
        { class: 'model-size' },
        `${formatBytes(summary.fileBytes)} (${count(summary.fileBytes)} bytes)`,
      ),
      el('dt', {}, 'pruned'),
      el('dd', { class: 'model-sparsity' }, pruning),
      el('dt', {}, 'weights'),
      el('dd', {}, weights),
    ),
    el('div', { class: 'table-scroll' }, layers),
  );
}

/** A button per sequence; the playing one is marked. */
export function sequenceItem(entry: SequenceEntry, playing: boolean, onSelect: () => void): HTMLElement {
  const button = el(
    'button',
    { type: 'button', class: 'sequence', 'aria-pressed': String(playing) },
    el('span', {}, entry.title),
    el(
      'small',
      {},
      // The true class where the title does not already say it.
      `${entry.sequence.frames} frames${entry.trueClass && !entry.title.includes(entry.trueClass) ? `, true class ${entry.trueClass}` : ''}`,
    ),
  );
  button.addEventListener('click', onSelect);
  return el('li', {}, button);
}
