/**
 * Combining reproduce runs that repeat one protocol with different seeds, each with its own dense
 * models (`skelprune combine`). Accuracies become means over the repetitions, with their spread;
 * sizes, FLOPs, speed, confusion matrices and mask pictures stay the first repetition's.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { describeSchemaError, safeParseFirst } from '../data/schema-errors.js';
import { DataFormatError, SkelpruneError } from '../errors.js';
import {
  averageOverSeeds,
  type Provenance,
  type ReproduceResults,
  type RunFigures,
  rateLabel,
} from './results.js';

/** One reproduce output folder, read. */
export interface CombineSource {
  dir: string;
  results: ReproduceResults;
}

export interface Combined {
  results: ReproduceResults;
  /** Runs (method and rate) missing from at least one source, which the combination leaves out. */
  leftOut: string[];
}

const metricsSchema = { top1: z.number(), meanClass: z.number() };

/** What combining reads of a results.json; the rest is carried over from the first source as is. */
const resultsSchema = z.looseObject({
  dataset: z.looseObject({ name: z.string(), protocol: z.string(), folds: z.number() }),
  provenance: z.looseObject({ seed: z.number() }),
  classNames: z.array(z.string()),
  runs: z
    .array(
      z.looseObject({
        method: z.string(),
        rate: z.number(),
        achievedRate: z.number(),
        folds: z.array(z.object({ fold: z.string(), ...metricsSchema })),
        ...metricsSchema,
      }),
    )
    .min(1),
});

/** Reads `<dir>/results.json`, with an error naming the file and what is wrong. */
export async function readResults(dir: string): Promise<CombineSource> {
  const file = join(dir, 'results.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new DataFormatError(
      file,
      undefined,
      'not found (expected the output folder of `skelprune reproduce`)',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DataFormatError(file, undefined, `not valid JSON (${(error as Error).message})`);
  }
  const parsed = safeParseFirst(resultsSchema, json);
  if (!parsed.success) throw new DataFormatError(file, undefined, describeSchemaError(parsed.error, json));
  return { dir, results: json as ReproduceResults };
}

const runKey = (run: RunFigures) =>
  run.method === 'dense' ? 'dense' : `${run.method} ${rateLabel(run.rate)}`;

function protocolOf({ results }: CombineSource): string {
  const { name, protocol, folds } = results.dataset;
  return `${name}, protocol ${protocol}, ${folds} fold(s), classes ${results.classNames.join('/')}`;
}

/** Refuses sources that are not repetitions of one protocol with distinct seeds. */
function checkRepetitions(sources: readonly CombineSource[]): void {
  if (sources.length < 2)
    throw new SkelpruneError(`combining needs at least two runs, found ${sources.length}`);
  const [first, ...rest] = sources;
  const seen = new Map([[first.results.provenance.seed, first.dir]]);
  for (const source of rest) {
    if (protocolOf(source) !== protocolOf(first))
      throw new SkelpruneError(
        `${source.dir} is not the same protocol as ${first.dir}: ${protocolOf(source)} vs ${protocolOf(first)}`,
      );
    const { seed } = source.results.provenance;
    const twin = seen.get(seed);
    if (twin !== undefined)
      throw new SkelpruneError(
        `${source.dir} and ${twin} both ran with seed ${seed}: repetitions must differ in their seed`,
      );
    seen.set(seed, source.dir);
  }
}

/** One method and rate over every repetition (each repetition counts as one seed). */
function combineRun(runs: readonly RunFigures[], sources: readonly CombineSource[]): RunFigures {
  const [first] = runs;
  runs.forEach((run, i) => {
    const folds = run.folds.map((f) => f.fold).join(',');
    if (folds !== first.folds.map((f) => f.fold).join(','))
      throw new SkelpruneError(
        `${sources[i].dir}: ${runKey(run)} has folds ${folds}, unlike ${sources[0].dir}`,
      );
  });
  const bySeed = runs.map((figures, i) => ({ seed: sources[i].results.provenance.seed, figures }));
  return { ...first, ...averageOverSeeds(bySeed) };
}

/**
 * Combines repetitions of one protocol. Runs are matched by method and rate; those missing from some
 * repetition are left out and named. A repetition that was itself pruned with several seeds counts
 * with its mean over them.
 */
export function combineResults(sources: readonly CombineSource[], command: string): Combined {
  checkRepetitions(sources);
  const byKey = sources.map(({ results }) => new Map(results.runs.map((r) => [runKey(r), r])));
  const keys = [...new Set(sources.flatMap(({ results }) => results.runs.map(runKey)))];
  const common = keys.filter((key) => byKey.every((runs) => runs.has(key)));
  if (!common.includes('dense')) throw new SkelpruneError('every run combined needs its dense baseline');
  const first = sources[0].results;
  const provenance: Provenance = { ...first.provenance, command, date: new Date().toISOString() };
  return {
    results: {
      ...first,
      provenance,
      repetitions: sources.map(({ dir, results }) => ({
        dir,
        seed: results.provenance.seed,
        command: results.provenance.command,
      })),
      runs: common.map((key) =>
        combineRun(
          byKey.map((runs) => runs.get(key)!),
          sources,
        ),
      ),
    },
    leftOut: keys.filter((key) => !common.includes(key)),
  };
}
