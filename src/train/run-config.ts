/**
 * The configuration of a training run, as a config file (JSON or YAML) or as flags: the flat keys are
 * the flag names (`epochs` ↔ `--epochs`), the nested groups (`model`, `preprocess`, `features`,
 * `synthetic`) are set in the file or with `--set group.key=value`. Unknown keys and bad values fail
 * with a message naming them. Per-dataset defaults sit under the user's values.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLError } from 'yaml';
import { z } from 'zod';
import { DATASET_KINDS, type DatasetKind } from '../data/load.js';
import { preprocessConfigSchema } from '../data/preprocess.js';
import { describeSchemaError, safeParseFirst } from '../data/schema-errors.js';
import { syntheticOptionsSchema } from '../data/synthetic.js';
import { decodeText, parseJsonText } from '../data/text.js';
import { ConfigError, DataFormatError } from '../errors.js';
import { featureConfigSchema, windowCount } from '../model/features.js';
import { gcnConfigSchema } from '../model/gcn.js';
import { trainConfigSchema } from './config.js';

/** The named networks: the paper's, and the paper's with a windowed temporal front-end. */
export const MODEL_VARIANTS = ['paper', 'windowed'] as const;
/** A named network. */
export type ModelVariant = (typeof MODEL_VARIANTS)[number];

export const runConfigSchema = z.strictObject({
  /** The dataset's format: `sbu`, `fpha`, `generic` (skelprune's own format) or `synthetic`. */
  dataset: z.enum(DATASET_KINDS),
  /** Folder of the dataset (not needed for synthetic). */
  path: z.string().optional(),
  /** Evaluation protocol; the dataset's standard one by default (sbu: 5-fold, fpha: 1:1). */
  protocol: z.string().optional(),
  /** Fold index (1-based) or 'all'. Default `all`. */
  fold: z.union([z.literal('all'), z.int().positive()]).default('all'),
  /** Seed of every random choice of the run (initialisation, shuffling, dropout, augmentation). Default 0. */
  seed: z.int().nonnegative().default(0),
  /** Independent runs (folds) trained in parallel worker processes. Default 1. */
  jobs: z.int().positive().default(1),
  /** Output directory. */
  out: z.string().optional(),
  /**
   * The network: `paper`, the paper's GCN (contiguous temporal chunks); `windowed`, the same GCN
   * whose encoder reads overlapping temporal windows (a quarter of the frames, every eighth), a
   * temporal convolution per joint before the graph attention. Default `paper`.
   */
  variant: z.enum(MODEL_VARIANTS).default('paper'),
  ...trainConfigSchema.shape,
  /** Options of the synthetic generator (dataset `synthetic` only). */
  synthetic: syntheticOptionsSchema.optional(),
  /** Preprocessing of every sequence: centring, scale, temporal resampling, augmentation. */
  preprocess: preprocessConfigSchema.prefault({}),
  /** The channels of each node's signal. */
  features: featureConfigSchema.prefault({}),
  /** The GCN's architecture. */
  model: gcnConfigSchema.prefault({}),
});

/**
 * The complete settings of a training run, every default filled in (its `config.json`).
 *
 * @interface
 */
export type RunConfig = z.output<typeof runConfigSchema>;
/**
 * The settings of a training run as given: every key optional but `dataset`.
 *
 * @interface
 */
export type RunConfigInput = z.input<typeof runConfigSchema>;

type PlainObject = Record<string, unknown>;

/**
 * Defaults per dataset. SBU's and FPHA's were chosen by 5-fold cross-validation inside the training
 * part (never the test part; see the README's results); generic data's by a validation protocol on
 * NW-UCLA's training views (docs/datasets.md, "Defaults for generic data"). Every kind trains on the
 * whole training part and keeps its last epoch. The user's values override these.
 */
const AUGMENT = { rotation: 15, scaling: 0.1, temporalCrop: 0.15 };
export const DATASET_DEFAULTS: Record<DatasetKind, PlainObject> = {
  // SBU's interactions keep their label whoever acts first, so the persons' order is augmented too.
  sbu: {
    protocol: '5-fold',
    epochs: 150,
    preprocess: { augment: { ...AUGMENT, personSwap: 0.5 } },
  },
  fpha: {
    protocol: '1:1',
    epochs: 200,
    preprocess: { temporal: { mode: 'resample', frames: 64 }, augment: AUGMENT },
  },
  // Any skeleton, any viewpoint: each sequence turned to face the same way, and augmentation (a
  // wider temporal crop and a further turn about the vertical won on validation).
  generic: {
    preprocess: {
      view: 'auto',
      temporal: { mode: 'resample', frames: 64 },
      augment: { ...AUGMENT, temporalCrop: 0.3, yaw: 30 },
    },
  },
  synthetic: { epochs: 30, model: { fcUnits: 128, heads: 4 } },
};

function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge where `top` wins; arrays are replaced, not merged. */
export function mergeConfig(base: PlainObject, top: PlainObject): PlainObject {
  const out: PlainObject = { ...base };
  for (const [key, value] of Object.entries(top)) {
    if (value === undefined) continue;
    out[key] =
      isPlainObject(value) && isPlainObject(out[key]) ? mergeConfig(out[key] as PlainObject, value) : value;
  }
  return out;
}

/** Parses `group.key=value` overrides; values are read as YAML scalars (numbers, booleans, lists). */
export function parseOverrides(assignments: readonly string[]): PlainObject {
  let out: PlainObject = {};
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set expects key=value, got '${assignment}'`);
    const path = assignment.slice(0, eq).split('.');
    let value: unknown;
    try {
      value = parseYaml(assignment.slice(eq + 1));
    } catch (error) {
      throw new ConfigError(`--set ${assignment}: not readable as YAML: ${yamlFailure(error).reason}`);
    }
    for (let i = path.length - 1; i >= 0; i--) value = { [path[i]]: value };
    out = mergeConfig(out, value as PlainObject);
  }
  return out;
}

/**
 * The settings of a JSON or YAML (`.yml`, `.yaml`) config file, unvalidated. Text that does not
 * parse, however it fails (syntax, nesting too deep, YAML's alias limits), is a `DataFormatError`
 * naming the file and, where known, the line.
 */
export async function readConfigFile(path: string): Promise<PlainObject> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  const text = decodeText(bytes, path);
  let parsed: unknown;
  if (/\.ya?ml$/i.test(path)) {
    try {
      parsed = parseYaml(text);
    } catch (error) {
      const { line, reason } = yamlFailure(error);
      throw new DataFormatError(path, line, `not readable as YAML: ${reason}`);
    }
  } else {
    parsed = parseJsonText(text, path);
  }
  if (!isPlainObject(parsed))
    throw new ConfigError(`${path}: expected an object of settings at the top level`);
  return parsed;
}

/** Why YAML refused a text, on one line, and the 1-based line of the fault where YAML tells it. */
function yamlFailure(error: unknown): { line: number | undefined; reason: string } {
  if (!(error instanceof YAMLError)) {
    // Limits checked while building the value, e.g. "Excessive alias count ...".
    return { line: undefined, reason: (error as Error).message.replace(/\s+/g, ' ') };
  }
  const reason =
    error.code === 'RESOURCE_EXHAUSTION'
      ? 'nesting too deep to read'
      : error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '').replace(/\s+/g, ' ');
  return { line: error.linePos?.[0].line, reason };
}

/** Validates the merged settings (dataset defaults < file < flags) into a run config. */
export function resolveRunConfig(file: PlainObject, flags: PlainObject, source = 'config'): RunConfig {
  const merged = mergeConfig(file, flags);
  const dataset = merged.dataset;
  const withDefaults =
    typeof dataset === 'string' && dataset in DATASET_DEFAULTS
      ? mergeConfig(DATASET_DEFAULTS[dataset as DatasetKind], merged)
      : merged;
  const parsed = safeParseFirst(runConfigSchema, withDefaults);
  if (!parsed.success) throw new ConfigError(`${source}: ${describeSchemaError(parsed.error, withDefaults)}`);
  return withWindowChunks(parsed.data, source);
}

/**
 * With temporal windows, the encoder's chunks are the windows: `model.encoderChunks` becomes their
 * number (a window longer than the preprocessed sequence is an error naming both).
 */
export function withWindowChunks<C extends Pick<RunConfig, 'features' | 'preprocess' | 'model' | 'variant'>>(
  config: C,
  source: string,
): C {
  const { temporal } = config.preprocess;
  const frames = temporal.mode === 'resample' ? temporal.frames : temporal.chunks;
  const windows = config.features.windows ?? variantWindows(config.variant, frames);
  if (!windows) return config;
  const count = windowCount(windows, frames);
  if (count === 0) {
    throw new ConfigError(
      `${source}: features.windows.size ${windows.size} is longer than the ${frames} frames of preprocessing`,
    );
  }
  return {
    ...config,
    features: { ...config.features, windows },
    model: { ...config.model, encoderChunks: count },
  };
}

/** The windows a variant uses over `frames` frames: `windowed`, a quarter of them every eighth. */
function variantWindows(variant: ModelVariant, frames: number): { size: number; stride: number } | null {
  if (variant === 'paper') return null;
  return { size: Math.max(1, Math.round(frames / 4)), stride: Math.max(1, Math.round(frames / 8)) };
}
