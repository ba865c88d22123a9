/**
 * One fuzz case, run where the worker is: choose the kind's target file and a mutation from the case's
 * seed, apply it to a working copy of the base inputs, load the result with the toolkit's real loader
 * (the one its CLI uses), classify the outcome, and put the working copy back.
 *
 * Outcomes (docs: test/fuzz/README in the report): `error` — a SkelpruneError naming the mutated file;
 * `identical` — the same digest as the unmutated input; `valid-different` (text formats only) — another
 * valid input, every value finite and the structure (counts, shapes) the base's; `reported` (datasets
 * only) — loaded, with an issue naming the mutated file. Anything else is a failure.
 */
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { SkeletonClassifier } from '@skelprune/runtime';
import { loadModel } from '../../src/api/model.js';
import { loadDataset } from '../../src/data/load.js';
import type { Dataset, SkeletonSequence } from '../../src/data/types.js';
import { SkelpruneError } from '../../src/errors.js';
import { readConfigFile, resolveRunConfig } from '../../src/train/run-config.js';
import { predictBatch } from '../../src/train/trainer.js';
import { BASE_LAYOUT, predictionInput } from './bases.js';
import { type FileFormat, type Mutation, mutate } from './mutations.js';
import { caseSeed, FuzzRng } from './random.js';

/** The eight input kinds. */
export const KINDS = [
  'sbu',
  'fpha-skeleton',
  'fpha-split',
  'generic-skeleton',
  'generic-sequences',
  'checkpoint',
  'skp',
  'config',
] as const;
export type Kind = (typeof KINDS)[number];

/** Formats whose integrity is checked: only `error` or `identical` is allowed. */
const BINARY: ReadonlySet<Kind> = new Set(['checkpoint', 'skp']);

export const OUTCOMES = [
  'error',
  'error-other-file',
  'identical',
  'valid-different',
  'valid-different-unchecked',
  'reported',
] as const;
export const FAILURES = [
  'error-unnamed',
  'foreign-exception',
  'silently-different',
  'non-finite-accepted',
  'structure-changed',
  'invalid-accepted',
  'lossy-decoding',
  'hang',
  'memory',
  'crash',
] as const;
export type Outcome = (typeof OUTCOMES)[number] | (typeof FAILURES)[number];

export interface CaseResult {
  index: number;
  seed: number;
  kind: Kind;
  /** The mutated file, relative to the bases' folder. */
  file: string;
  mutation: string;
  detail: string;
  outcome: Outcome;
  /** The error's class and message, or what differed. */
  message: string;
  /** For a foreign exception: the first frames of the stack inside the project. */
  where?: string;
  ms: number;
  /** The loaded text contained U+FFFD (bytes that are not UTF-8 were decoded lossily). */
  lossy?: boolean;
}

export const isFailure = (outcome: Outcome) => (FAILURES as readonly string[]).includes(outcome);

/** What the kind of case `index` is: every kind in turn, so any 8 consecutive cases cover all kinds. */
export const kindOf = (index: number): Kind => KINDS[index % KINDS.length];

interface Target {
  /** Folder the loader reads (relative to the bases). */
  root: string;
  /** Files one of which a case mutates (relative to the bases). */
  files: readonly string[];
  format: (file: string) => FileFormat;
  layout?: 'sbu' | 'fpha';
  load: (root: string, file: string) => Promise<Loaded>;
}

/** What a loader produced, reduced to a digest and the checks on it. */
interface Loaded {
  digest: string;
  /** Structure only (counts, shapes): equal for a valid different input of a text format. */
  structure: string;
  /** The structure without the frame counts (for mutations that add or remove whole frames). */
  structureNoFrames?: string;
  /** Every number loaded is finite. */
  finite: boolean;
  /** Loaded text with U+FFFD. */
  lossy: boolean;
  /** Issues (datasets) as `file: message`. */
  issues: string[];
  /** A loaded dataset that breaks an invariant (ids, labels, folds): what is wrong. */
  invalid?: string;
}

const sha = (parts: (string | Uint8Array)[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 16);
};

function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

function jsonFinite(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(jsonFinite);
  if (value !== null && typeof value === 'object') return Object.values(value).every(jsonFinite);
  return true;
}

function datasetLoaded(dataset: Dataset): Loaded {
  const { sequences, protocols, issues, graph, classNames, name, title, units } = dataset;
  const meta = JSON.stringify({ name, title, units, classNames, graph, protocols });
  const parts: (string | Uint8Array)[] = [meta];
  for (const s of sequences) {
    parts.push(JSON.stringify([s.id, s.label, s.subject, s.frames, s.persons, s.joints]));
    parts.push(new Uint8Array(s.positions.buffer, s.positions.byteOffset, s.positions.byteLength));
  }
  parts.push(JSON.stringify(issues));
  const shapes = (frames: boolean) =>
    sequences
      .map((s) => `${frames ? s.frames : ''}×${s.persons}×${s.joints}`)
      .sort()
      .join(',');
  // Bones, class names and protocol folds may change in a valid input (a bone, an unused class or a
  // test id added or removed); their consistency is checked by datasetInvariants instead.
  const structureOf = (frames: boolean) =>
    JSON.stringify([sequences.length, shapes(frames), graph.jointNames.length, graph.persons]);
  return {
    digest: sha(parts),
    structure: structureOf(true),
    structureNoFrames: structureOf(false),
    finite: sequences.every((s) => allFinite(s.positions) && Number.isFinite(s.label)),
    lossy: meta.includes('\ufffd') || sequences.some((s) => `${s.id}${s.subject}`.includes('\ufffd')),
    issues: issues.map((i) => `${i.file}${i.line === undefined ? '' : `:${i.line}`}: ${i.message}`),
    invalid: datasetInvariants(dataset),
  };
}

/** What a loaded dataset must satisfy whatever its files said; the first violation, or undefined. */
function datasetInvariants(dataset: Dataset): string | undefined {
  const { sequences, classNames, graph, protocols } = dataset;
  const joints = graph.jointNames.length;
  const ids = new Set<string>();
  for (const s of sequences) {
    if (ids.has(s.id)) return `sequence id ${s.id} loaded twice`;
    ids.add(s.id);
    if (!Number.isInteger(s.label) || s.label < 0 || s.label >= classNames.length)
      return `sequence ${s.id} has label ${s.label} of ${classNames.length} classes`;
    if (!(s.frames >= 1) || s.persons !== graph.persons || s.joints !== joints)
      return `sequence ${s.id} is ${s.frames}×${s.persons}×${s.joints}, the graph ${graph.persons}×${joints}`;
    if (s.positions.length !== s.frames * s.persons * s.joints * 3)
      return `sequence ${s.id} has ${s.positions.length} coordinates for ${s.frames}×${s.persons}×${s.joints}`;
  }
  if (new Set(classNames).size !== classNames.length) return 'class names are not unique';
  for (const [a, b] of graph.bones)
    if (!(a >= 0 && a < joints && b >= 0 && b < joints)) return `bone [${a}, ${b}] of ${joints} joints`;
  if (!(graph.centerJoint >= 0 && graph.centerJoint < joints))
    return `centre joint ${graph.centerJoint} of ${joints}`;
  for (const [name, folds] of Object.entries(protocols)) {
    for (const fold of folds) {
      const train = new Set(fold.train);
      const test = new Set(fold.test);
      const where = `protocol ${name} fold ${fold.name}`;
      if (train.size !== fold.train.length || test.size !== fold.test.length)
        return `${where} lists an id twice`;
      for (const id of [...train, ...test]) if (!ids.has(id)) return `${where} names ${id}, not loaded`;
      for (const id of test) if (train.has(id)) return `${where} has ${id} in both train and test`;
    }
  }
  return undefined;
}

function predictionsLoaded(classNames: readonly string[], probabilities: Float32Array[]): Loaded {
  const parts: (string | Uint8Array)[] = [JSON.stringify(classNames)];
  for (const p of probabilities) parts.push(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return {
    digest: sha(parts),
    structure: JSON.stringify([classNames.length, probabilities.map((p) => p.length)]),
    finite: probabilities.every(allFinite),
    lossy: classNames.some((n) => n.includes('\ufffd')),
    issues: [],
  };
}

let fixedInput: SkeletonSequence[] | undefined;
const input = () => (fixedInput ??= predictionInput());

const datasetTarget = (kind: 'sbu' | 'fpha' | 'generic', files: readonly string[], format: FileFormat) => ({
  root:
    kind === 'sbu'
      ? BASE_LAYOUT.sbu.root
      : kind === 'fpha'
        ? BASE_LAYOUT.fpha.root
        : BASE_LAYOUT.generic.root,
  files,
  format: () => format,
  load: async (root: string) => datasetLoaded(await loadDataset({ kind, path: root })),
});

export const TARGETS: Record<Kind, Target> = {
  sbu: {
    ...datasetTarget(
      'sbu',
      BASE_LAYOUT.sbu.files.map((f) => `${BASE_LAYOUT.sbu.root}/${f}`),
      'frames',
    ),
    layout: 'sbu',
  },
  'fpha-skeleton': {
    ...datasetTarget(
      'fpha',
      BASE_LAYOUT.fpha.skeletons.map((f) => `${BASE_LAYOUT.fpha.root}/${f}`),
      'frames',
    ),
    layout: 'fpha',
  },
  'fpha-split': datasetTarget('fpha', [`${BASE_LAYOUT.fpha.root}/${BASE_LAYOUT.fpha.split}`], 'split'),
  'generic-skeleton': datasetTarget(
    'generic',
    [`${BASE_LAYOUT.generic.root}/${BASE_LAYOUT.generic.skeleton}`],
    'json',
  ),
  'generic-sequences': datasetTarget(
    'generic',
    [`${BASE_LAYOUT.generic.root}/${BASE_LAYOUT.generic.sequences}`],
    'jsonl',
  ),
  checkpoint: {
    root: 'model',
    files: BASE_LAYOUT.checkpoints,
    format: () => 'safetensors',
    // What `skelprune eval`/`prune`/`export` do first: loadCheckpoint + modelFromCheckpoint.
    load: async (_root, file) => {
      const { model, input: pipeline, meta } = await loadModel(file);
      const { probabilities } = predictBatch(model, pipeline.encode(input()), pipeline);
      return predictionsLoaded(meta.classNames, probabilities);
    },
  },
  skp: {
    root: 'model',
    files: BASE_LAYOUT.models,
    format: () => 'safetensors',
    // What `skelprune predict`/`bench` and the runtime's users do.
    load: async (_root, file) => {
      const classifier = await SkeletonClassifier.load(file, { threads: 1 });
      try {
        const predictions = classifier.predictBatch(input());
        return predictionsLoaded(
          classifier.classNames,
          predictions.map((p) => p.probabilities),
        );
      } finally {
        classifier.dispose();
      }
    },
  },
  config: {
    root: 'config',
    files: BASE_LAYOUT.configs,
    format: (file) => (file.endsWith('.json') ? 'json' : 'yaml'),
    // What `train`/`prune --config` do: read the file, then validate it under the flags.
    load: async (_root, file) => {
      const config = resolveRunConfig(await readConfigFile(file), {}, file);
      const text = JSON.stringify(config);
      return {
        digest: sha([text]),
        structure: '',
        finite: jsonFinite(config),
        lossy: text.includes('\ufffd'),
        issues: [],
      };
    },
  },
};

/** Where an exception came from: the first stack frames inside the project's own code. */
function projectFrames(error: Error): string | undefined {
  const frames = (error.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l) && !l.includes('/test/fuzz/') && !l.includes('node:'))
    .map((l) =>
      l
        .trim()
        .replace(/^at /, '')
        .replace(/file:\/\/\S*?\/(dist\/|packages\/)/, '$1'),
    );
  return frames.length > 0 ? frames.slice(0, 3).join(' ← ') : undefined;
}

/** A whole stack without the frames of built-ins (a stack overflow's thousands), counted instead. */
function fullStack(error: Error): string {
  const lines = (error.stack ?? '').split('\n');
  const builtIn = lines.filter((l) => l.endsWith('(<anonymous>)'));
  const kept = lines.filter((l) => !l.endsWith('(<anonymous>)')).slice(0, 40);
  return `${kept.join('\n')}${builtIn.length > 0 ? `\n    (${builtIn.length} frames of built-ins left out)` : ''}`;
}

/** The worker's copy of the bases and the base digests. */
export class CaseRunner {
  private readonly baseline = new Map<string, Loaded>();

  constructor(
    private readonly baseDir: string,
    private readonly workDir: string,
    private readonly masterSeed: number,
    /** Keep a foreign exception's whole stack in `where` (replays). */
    private readonly fullStack = false,
  ) {}

  /** Copies the bases and loads every unmutated target once (the digests to compare with). */
  async init(): Promise<void> {
    rmSync(this.workDir, { recursive: true, force: true });
    cpSync(this.baseDir, this.workDir, { recursive: true });
    for (const kind of KINDS) {
      const target = TARGETS[kind];
      for (const file of target.files) {
        const key = `${kind}:${file}`;
        this.baseline.set(key, await target.load(join(this.workDir, target.root), join(this.workDir, file)));
      }
    }
  }

  /** The other files read with a dataset file (generic: skeleton.json with sequences.jsonl, FPHA's). */
  private siblings(kind: Kind): string[] {
    const related: Partial<Record<Kind, Kind[]>> = {
      'generic-skeleton': ['generic-sequences'],
      'generic-sequences': ['generic-skeleton'],
      'fpha-split': ['fpha-skeleton'],
    };
    return (related[kind] ?? []).flatMap((k) => TARGETS[k].files.map((f) => join(this.workDir, f)));
  }

  /** The case's target file and mutation (a pure function of the seeds and the base bytes). */
  plan(index: number): { kind: Kind; seed: number; file: string; mutation: Mutation } {
    const kind = kindOf(index);
    const seed = caseSeed(this.masterSeed, index);
    const rng = new FuzzRng(seed);
    const target = TARGETS[kind];
    const file = rng.pick(target.files);
    const base = readFileSync(join(this.baseDir, file));
    const inRoot = file.slice(target.root.length + 1);
    const mutation = mutate(target.format(file), new Uint8Array(base), rng, target.layout, inRoot);
    return { kind, seed, file, mutation };
  }

  async run(index: number): Promise<CaseResult> {
    const started = performance.now();
    const { kind, seed, file, mutation } = this.plan(index);
    const target = TARGETS[kind];
    const root = join(this.workDir, target.root);
    const path = join(this.workDir, file);
    const names = this.apply(mutation, root, path);
    const result = (outcome: Outcome, message: string, extra: Partial<CaseResult> = {}): CaseResult => ({
      index,
      seed,
      kind,
      file,
      mutation: mutation.name,
      detail: mutation.detail,
      outcome,
      message: message.length > 400 ? `${message.slice(0, 400)}…` : message,
      ms: Math.round(performance.now() - started),
      ...extra,
    });
    try {
      let loaded: Loaded;
      try {
        loaded = await target.load(root, path);
      } catch (error) {
        const e = error as Error;
        const text = `${e?.name ?? typeof error}: ${e?.message ?? String(error)}`;
        if (!(error instanceof SkelpruneError))
          return result('foreign-exception', text, {
            where: this.fullStack ? fullStack(e) : projectFrames(e),
          });
        if (names.some((n) => e.message.includes(n))) return result('error', text);
        // The files of a dataset must agree: an error naming another of them is the loader's call.
        const siblings = target.files.length === 1 ? this.siblings(kind) : [];
        if (siblings.some((n) => e.message.includes(n))) return result('error-other-file', text);
        return result('error-unnamed', text);
      }
      const base = this.baseline.get(`${kind}:${file}`)!;
      // U+FFFD the mutated file itself holds (EF BF BD, valid UTF-8) is read as written, not lost.
      const lossy = loaded.lossy && !base.lossy && !holdsReplacementCharacter(mutation.bytes);
      if (loaded.digest === base.digest) return result('identical', '', { lossy });
      if (!loaded.finite) return result('non-finite-accepted', 'loaded values are not all finite', { lossy });
      if (loaded.invalid) return result('invalid-accepted', loaded.invalid, { lossy });
      if (mutation.identical)
        return result('silently-different', 'a no-op change gave another result', { lossy });
      if (BINARY.has(kind) && mutation.unchecked)
        return result(
          'valid-different-unchecked',
          'a file without a checksum, other but finite predictions',
          {
            lossy,
          },
        );
      if (BINARY.has(kind))
        return result('silently-different', 'loaded without an error, predictions or class names differ', {
          lossy,
        });
      if (lossy)
        return result('lossy-decoding', 'bytes that are not UTF-8 were read as U+FFFD without an error', {
          lossy,
        });
      const newIssues = loaded.issues.filter((i) => !base.issues.includes(i));
      if (newIssues.some((i) => names.some((n) => i.includes(n))))
        return result('reported', newIssues.join(' | '), { lossy });
      const [before, after] = mutation.framesMayChange
        ? [base.structureNoFrames, loaded.structureNoFrames]
        : [base.structure, loaded.structure];
      if (before !== after) return result('structure-changed', `structure ${before} → ${after}`, { lossy });
      return result('valid-different', '', { lossy });
    } finally {
      this.restore(mutation, root, path);
    }
  }

  /** Applies the mutation; returns the paths an error or issue may name to name the mutated file. */
  private apply(mutation: Mutation, root: string, path: string): string[] {
    if (mutation.bytes) {
      writeFileSync(path, mutation.bytes);
      return [path];
    }
    const change = mutation.fs!;
    switch (change.op) {
      case 'remove':
        rmSync(path);
        return [path];
      case 'directory':
        rmSync(path);
        mkdirSync(path);
        return [path];
      case 'symlink-copy': {
        const copy = join(this.workDir, '.outside', 'copy');
        mkdirSync(dirname(copy), { recursive: true });
        cpSync(path, copy);
        rmSync(path);
        symlinkSync(copy, path);
        return [path];
      }
      case 'dangling-symlink':
        rmSync(path);
        symlinkSync(join(this.workDir, '.outside', 'nothing-here'), path);
        return [path];
      case 'rename': {
        const to = join(root, change.to);
        renameSync(path, to);
        return [to, path];
      }
      case 'copy': {
        const to = join(root, change.to);
        mkdirSync(dirname(to), { recursive: true });
        cpSync(path, to);
        return [to, path];
      }
      case 'add-file': {
        const at = join(root, change.at);
        mkdirSync(dirname(at), { recursive: true });
        writeFileSync(at, change.content);
        return [at];
      }
      case 'rename-dir': {
        const from = join(root, change.dir);
        const to = join(root, change.to);
        renameSync(from, to);
        return [to, from];
      }
    }
  }

  /** Puts the working copy back as the base (the file, or the whole target folder after a layout change). */
  private restore(mutation: Mutation, root: string, path: string): void {
    if (mutation.bytes) {
      writeFileSync(path, readFileSync(join(this.baseDir, path.slice(this.workDir.length + 1))));
      return;
    }
    const relativeRoot = root.slice(this.workDir.length + 1);
    rmSync(root, { recursive: true, force: true });
    cpSync(join(this.baseDir, relativeRoot), root, { recursive: true });
    if (existsSync(join(this.workDir, '.outside')))
      rmSync(join(this.workDir, '.outside'), { recursive: true, force: true });
  }
}

/** Whether bytes hold U+FFFD encoded as UTF-8 (EF BF BD). */
function holdsReplacementCharacter(bytes: Uint8Array | undefined): boolean {
  if (!bytes) return false;
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) return true;
  }
  return false;
}
