/**
 * What the report shows of one run (the dense model, or one method at one rate) beyond its row of the
 * results table: its resolved configuration, the per-layer pruning and FLOP tables of its fold-1 model
 * (the `prune` command's tables, src/prune/report.ts), per-class accuracy from its confusion matrix,
 * and the commands that redo that one cell.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { compactionPlan } from '../model/compaction.js';
import { flopTotals, layerRows, costRows as pruneCostRows } from '../prune/report.js';
import type { PruneResult } from '../prune/run.js';
import { checkpointMasks, loadCheckpoint, modelFromCheckpoint } from '../train/checkpoint.js';
import { type ReproduceResults, type RunFigures, rateLabel, ratePercent } from './results.js';

/** A run's output folder (`<out>/dense`, `<out>/<method>/<rate>`): two levels above its fold-1 checkpoint. */
export const runFolder = (run: Pick<RunFigures, 'checkpoint'>) => dirname(dirname(run.checkpoint));

/** A run's name in headings: `dense (unpruned)` or `ctf at 90%`. */
export const runTitle = (run: Pick<RunFigures, 'method' | 'rate'>) =>
  run.method === 'dense' ? 'dense (unpruned)' : `${run.method} at ${rateLabel(run.rate)}`;

/** A run's name in file names: `dense`, `ctf-90`, `ctf@flops-95`. */
export const runFileName = (run: Pick<RunFigures, 'method' | 'rate'>) =>
  run.method === 'dense' ? 'dense' : `${run.method}-${ratePercent(run.rate)}`;

/** One class's accuracy over every fold's test part. */
export interface ClassAccuracy {
  name: string;
  /** Test sequences of the class, summed over folds. */
  sequences: number;
  correct: number;
  /** correct / sequences (NaN without sequences). */
  accuracy: number;
  /** The class most often predicted instead, with its count; null when never mistaken. */
  confusedWith: { name: string; count: number } | null;
}

/** Per-class accuracies from a confusion matrix (rows: true class, columns: predicted). */
export function classAccuracies(
  confusion: readonly (readonly number[])[],
  classNames: readonly string[],
): ClassAccuracy[] {
  return confusion.map((row, i) => {
    const sequences = row.reduce((s, v) => s + v, 0);
    let worst = -1;
    row.forEach((v, j) => {
      if (j !== i && v > 0 && (worst < 0 || v > row[worst])) worst = j;
    });
    return {
      name: classNames[i] ?? String(i),
      sequences,
      correct: row[i] ?? 0,
      accuracy: sequences === 0 ? Number.NaN : (row[i] ?? 0) / sequences,
      confusedWith: worst < 0 ? null : { name: classNames[worst] ?? String(worst), count: row[worst] },
    };
  });
}

/** The per-layer tables of a pruned run's fold-1 model, with their totals. */
export interface PruningTables {
  /** The fold the tables describe. */
  fold: string;
  /** Rows under LAYER_COLUMNS, the last one the total over every prunable weight. */
  layers: string[][];
  /** Rows under COST_COLUMNS, the last one the network's total FLOPs per sequence. */
  costs: string[][];
  /** The totals as numbers: the achieved rate and FLOPs per sequence. */
  totals: { achievedRate: number; flops: { dense: number; compacted: number; sparse: number } };
}

/** Everything a run's block shows besides its charts. */
export interface RunDetails {
  run: RunFigures;
  /** The run's output folder. */
  folder: string;
  /** The resolved configuration and the file it came from; null when none was saved. */
  config: { source: string; json: unknown } | null;
  /** Null for the dense model, or when the run's files are not there. */
  pruning: PruningTables | null;
  classes: ClassAccuracy[];
  /** Shell commands that redo this cell (the dense model first, for a pruned run). */
  commands: string[];
  /** What could not be shown, and why. */
  notes: string[];
}

const readJson = async (path: string): Promise<unknown> => JSON.parse(await readFile(path, 'utf8'));

/** The run's config.json, or the settings its fold-1 result.json records (older output folders). */
async function runConfig(folder: string, fold1: string): Promise<RunDetails['config']> {
  const file = join(folder, 'config.json');
  if (existsSync(file)) return { source: file, json: await readJson(file) };
  const result = join(fold1, 'result.json');
  if (!existsSync(result)) return null;
  const { identity } = (await readJson(result)) as { identity?: string };
  if (typeof identity !== 'string') return null;
  const parsed = JSON.parse(identity) as { config?: unknown };
  return { source: `${result} (its recorded settings)`, json: parsed.config ?? parsed };
}

/**
 * The mask tables of a pruned fold (its result.json) with the FLOP table recomputed from its
 * checkpoint, as the results table's FLOPs are (a cached result may predate a compaction change).
 */
async function pruningTables(run: RunFigures): Promise<PruningTables> {
  const result = (await readJson(join(dirname(run.checkpoint), 'result.json'))) as PruneResult;
  const checkpoint = await loadCheckpoint(run.checkpoint);
  const { model } = modelFromCheckpoint(checkpoint, run.checkpoint);
  const costs = compactionPlan(model, checkpointMasks(checkpoint)).costs;
  const total = result.layers.reduce((s, l) => s + l.structure.total, 0);
  const kept = result.layers.reduce((s, l) => s + l.structure.kept, 0);
  const flops = flopTotals({ costs });
  return {
    fold: result.fold,
    layers: layerRows(result, true),
    costs: pruneCostRows({ costs }, true),
    totals: {
      achievedRate: total === 0 ? 0 : 1 - kept / total,
      flops: { dense: flops.dense, compacted: flops.structured, sparse: flops.sparse },
    },
  };
}

/** `word` quoted for a POSIX shell when it needs to be. */
export const shellWord = (word: string) =>
  /^[A-Za-z0-9_./%@+=:,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;

const command = (words: readonly string[]) => words.map(shellWord).join(' ');

/**
 * The commands that redo one cell with `skelprune train` and `skelprune prune` from the saved
 * configurations, into `runs/cell/...` (run in the folder the reproduction ran in, whose relative
 * paths the configurations use).
 */
export function cellCommands(run: RunFigures, dense: RunFigures): string[] {
  const denseOut = 'runs/cell/dense';
  const train = command([
    'skelprune',
    'train',
    '--config',
    join(runFolder(dense), 'config.json'),
    '--out',
    denseOut,
  ]);
  if (run.method === 'dense') return [train];
  const out = `runs/cell/${runFileName(run)}`;
  const prune = (seed?: number) =>
    command([
      'skelprune',
      'prune',
      '--config',
      join(runFolder(run), 'config.json'),
      '--from',
      denseOut,
      ...(seed === undefined ? [] : ['--seed', String(seed)]),
      '--out',
      seed === undefined ? out : `${out}-seed-${seed}`,
    ]);
  // Seeds after the first were pruning runs of the same settings with only the seed changed.
  const [, ...more] = run.seeds ?? [];
  return [train, prune(), ...more.map((s) => prune(s.seed))];
}

/** The details of one run of a reproduction. */
export async function runDetails(run: RunFigures, results: ReproduceResults): Promise<RunDetails> {
  const folder = runFolder(run);
  const fold1 = dirname(run.checkpoint);
  const notes: string[] = [];
  let config: RunDetails['config'] = null;
  try {
    config = await runConfig(folder, fold1);
  } catch (error) {
    notes.push(`The configuration could not be read: ${(error as Error).message}`);
  }
  if (!config && notes.length === 0) notes.push(`No configuration was found in ${folder}.`);
  let pruning: PruningTables | null = null;
  if (run.method !== 'dense') {
    if (!existsSync(run.checkpoint) || !existsSync(join(fold1, 'result.json'))) {
      notes.push(`The per-layer tables need ${fold1}/result.json and model.ckpt, which are not there.`);
    } else {
      try {
        pruning = await pruningTables(run);
      } catch (error) {
        notes.push(`The per-layer tables could not be made: ${(error as Error).message}`);
      }
    }
  }
  const dense = results.runs.find((r) => r.method === 'dense') ?? run;
  return {
    run,
    folder,
    config,
    pruning,
    classes: classAccuracies(run.confusion, results.classNames),
    commands: cellCommands(run, dense),
    notes,
  };
}
