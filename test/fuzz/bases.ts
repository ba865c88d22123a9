/**
 * The fuzzer's valid base inputs, one small but complete instance of each of the eight input kinds,
 * all built from fixed seeds (no training): an SBU folder in both layouts, an FPHA folder (split file
 * and skeleton.txt files), a generic dataset (skeleton.json, sequences.jsonl), dense and pruned
 * checkpoints, `.skp` files exported from them, and run configs in JSON and YAML.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { exportModelBytes } from '../../src/api/export.js';
import { saveModel } from '../../src/api/model.js';
import { writeGenericDataset } from '../../src/data/generic.js';
import { generateSynthetic, SYNTHETIC_PROTOCOL } from '../../src/data/synthetic.js';
import type { Dataset, SkeletonSequence } from '../../src/data/types.js';
import { Rng } from '../../src/engine/index.js';
import { setHardMask } from '../../src/model/layers.js';
import { decodeModelFile, encodeModelFile } from '../../src/runtime/model-file.js';
import { foldData, freshModel } from '../../src/train/experiment.js';
import { resolveRunConfig } from '../../src/train/run-config.js';

/** The synthetic data the models are built for; also their fixed prediction input. */
export function baseSynthetic(): Dataset {
  return generateSynthetic({
    classes: 4,
    persons: 1,
    joints: 5,
    minFrames: 5,
    maxFrames: 7,
    sequencesPerClass: 2,
    subjects: 2,
    seed: 11,
  });
}

/** The sequences every loaded checkpoint and `.skp` classifies (their digest is the predictions). */
export function predictionInput(): SkeletonSequence[] {
  return baseSynthetic().sequences.slice(0, 4);
}

const MODEL_SETTINGS = {
  dataset: 'synthetic',
  seed: 5,
  validationFraction: 0,
  preprocess: { temporal: { mode: 'resample', frames: 6 } },
  model: {
    heads: 3,
    headDim: 2,
    encodingChannels: 4,
    encoderChunks: 2,
    convChannels: 5,
    fcUnits: 6,
    dropout: 0,
  },
};

/** A made-up SBU line: frame number then 90 normalized coordinates (x, y in [0, 1], z in [0.5, 3]). */
function sbuLine(frame: number, seed: number): string {
  const values = Array.from({ length: 90 }, (_, i) => {
    const v = ((seed * 7919 + frame * 131 + i * 17) % 1000) / 1000;
    return i % 3 === 2 ? (0.5 + 2.5 * v).toFixed(6) : v.toFixed(6);
  });
  return [String(frame), ...values].join(',');
}

function sbuFile(seed: number, frames: number): string {
  return `${Array.from({ length: frames }, (_, f) => sbuLine(f + 1, seed)).join('\r\n')}\r\n`;
}

/** A made-up FPHA line: zero-padded frame number then 63 coordinates in millimetres. */
function fphaLine(frame: number, seed: number): string {
  const values = Array.from({ length: 63 }, (_, i) =>
    ((((seed * 104729 + frame * 613 + i * 37) % 20000) - 10000) / 100).toFixed(4),
  );
  return [String(frame).padStart(4, '0'), ...values].join(' ');
}

function fphaFile(seed: number, frames: number): string {
  return `${Array.from({ length: frames }, (_, f) => fphaLine(f, seed)).join('\n')}\n`;
}

/** FPHA sequences of the base folder: id → label (labels follow FPHA_CLASS_NAMES). */
export const FPHA_TRAIN = ['Subject_1/open_juice_bottle/2 0', 'Subject_2/prick/1 5', 'Subject_1/prick/3 5'];
export const FPHA_TEST = ['Subject_1/open_juice_bottle/1 0', 'Subject_2/open_juice_bottle/4 0'];

function write(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/** What `buildBases` wrote, relative to its folder. */
export interface BaseLayout {
  sbu: { root: string; files: string[] };
  fpha: { root: string; skeletons: string[]; split: string };
  generic: { root: string; skeleton: string; sequences: string };
  checkpoints: string[];
  models: string[];
  configs: string[];
}

export const BASE_LAYOUT: BaseLayout = {
  sbu: {
    root: 'sbu',
    files: [
      's01s02/s01s02-1-1.txt',
      's01s02/s01s02-3-2.txt',
      's03s04/01/001/skeleton_pos.txt',
      's03s04/05/002/skeleton_pos.txt',
      's02s03/s02s03-8-1.txt',
      's02s03/02/001/skeleton_pos.txt',
    ],
  },
  fpha: {
    root: 'fpha',
    skeletons: [...FPHA_TRAIN, ...FPHA_TEST].map(
      (line) => `Hand_pose_annotation_v1/${line.split(' ')[0]}/skeleton.txt`,
    ),
    split: 'data_split_action_recognition.txt',
  },
  generic: { root: 'generic', skeleton: 'skeleton.json', sequences: 'sequences.jsonl' },
  checkpoints: ['model/dense.ckpt', 'model/pruned.ckpt'],
  models: ['model/dense.skp', 'model/pruned-csr.skp', 'model/pruned-bsr.skp'],
  configs: ['config/run.json', 'config/run.yaml'],
};

const CONFIG = {
  dataset: 'synthetic',
  epochs: 12,
  batchSize: 16,
  lr: 0.002,
  weightDecay: 0.01,
  seed: 3,
  fold: 1,
  validationFraction: 0.2,
  validationBy: 'subject',
  synthetic: { classes: 4, sequencesPerClass: 6, joints: 'hand', noise: 0.01 },
  preprocess: {
    scale: 'bone-length',
    temporal: { mode: 'resample', frames: 24 },
    augment: { rotation: 15, jitter: 0.01 },
  },
  features: { channels: ['position', 'velocity'] },
  model: { heads: 4, headDim: 4, dropout: 0.25, attentionBias: 'skeleton' },
};

const CONFIG_YAML = `# a training run on the synthetic data
dataset: synthetic
epochs: 12
batchSize: 16
lr: 0.002
weightDecay: 0.01
seed: 3
fold: 1
validationFraction: 0.2
validationBy: subject
synthetic:
  classes: 4
  sequencesPerClass: 6
  joints: hand
  noise: 0.01
preprocess:
  scale: bone-length
  temporal: { mode: resample, frames: 24 }
  augment:
    rotation: 15
    jitter: 0.01
features:
  channels: [position, velocity]
model:
  heads: 4
  headDim: 4
  dropout: 0.25
  attentionBias: skeleton
`;

/** Writes every base input under `dir` (about 0.5 s). */
export async function buildBases(dir: string): Promise<void> {
  // SBU: three sets, flat and official layouts mixed (s02s03 holds both).
  BASE_LAYOUT.sbu.files.forEach((file, i) => {
    write(join(dir, BASE_LAYOUT.sbu.root, file), sbuFile(i + 1, 3 + (i % 3)));
  });

  // FPHA: split file and one skeleton.txt per entry.
  const fpha = join(dir, BASE_LAYOUT.fpha.root);
  write(
    join(fpha, BASE_LAYOUT.fpha.split),
    `Training ${FPHA_TRAIN.length}\n${FPHA_TRAIN.join('\n')}\nTest ${FPHA_TEST.length}\n${FPHA_TEST.join('\n')}\n`,
  );
  BASE_LAYOUT.fpha.skeletons.forEach((file, i) => {
    write(join(fpha, file), fphaFile(i + 1, 3 + (i % 2)));
  });

  // Generic: a small synthetic dataset, one class name not ASCII (so Latin-1 differs from UTF-8).
  const synthetic = baseSynthetic();
  const renamed: Dataset = {
    ...synthetic,
    classNames: synthetic.classNames.map((name, i) => (i === 1 ? `${name}-réversé` : name)),
  };
  mkdirSync(join(dir, BASE_LAYOUT.generic.root), { recursive: true });
  await writeGenericDataset(renamed, join(dir, BASE_LAYOUT.generic.root));

  // Checkpoints: a dense and a randomly pruned model for the synthetic data, then their exports.
  const config = resolveRunConfig(MODEL_SETTINGS, {}, 'fuzz base');
  const data = foldData(synthetic, SYNTHETIC_PROTOCOL, 0, config);
  const dense = freshModel(synthetic, data, config);
  await saveModel(join(dir, BASE_LAYOUT.checkpoints[0]), { ...dense, masks: {} });
  const pruned = freshModel(synthetic, data, { ...config, seed: 6 });
  const rng = new Rng(7);
  const masks: Record<string, Uint8Array> = {};
  for (const w of pruned.model.prunableWeights()) {
    masks[w.name] = Uint8Array.from({ length: w.rows * w.cols }, () => (rng.uniform() < 0.4 ? 1 : 0));
    setHardMask(w.layer, masks[w.name]);
  }
  await saveModel(join(dir, BASE_LAYOUT.checkpoints[1]), {
    ...pruned,
    meta: { ...pruned.meta, pruning: { method: 'random', rate: 0.6 } },
    masks,
  });
  const exports = [
    [BASE_LAYOUT.checkpoints[0], 'dense'],
    [BASE_LAYOUT.checkpoints[1], 'csr'],
    [BASE_LAYOUT.checkpoints[1], 'bsr'],
  ] as const;
  for (const [i, [checkpoint, format]] of exports.entries()) {
    const { skp } = await exportModelBytes({ model: join(dir, checkpoint), format });
    // Fixed provenance, so the base bytes (and every case's mutation) are the same on every run.
    const file = decodeModelFile(skp, 'base');
    file.info = { ...file.info, source: checkpoint, exported: '2026-01-01T00:00:00.000Z' };
    write(join(dir, BASE_LAYOUT.models[i]), encodeModelFile(file));
  }

  // Configs.
  write(join(dir, BASE_LAYOUT.configs[0]), `${JSON.stringify(CONFIG, null, 2)}\n`);
  write(join(dir, BASE_LAYOUT.configs[1]), CONFIG_YAML);
}
