/**
 * The timing cell of a reproduction: export a fold-1 checkpoint to `.skp` and time it at batch 1,
 * interleaved with the dense model for a pruned one. The figures are cached beside the model file
 * (`model.speed.json`) and taken again only when the inference engine changed since.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { ENGINE_REVISION, type RuntimeModel } from '@skelprune/runtime/internal';
import { noGrad } from '../engine/index.js';
import { compactModel } from '../runtime/compact.js';
import { measureSpeeds, runtimeRunner } from '../runtime/latency.js';
import { loadModelFile, saveModelFile } from '../runtime/model-io.js';
import { toRuntimeModel } from '../runtime/runtime-model.js';
import { checkpointMasks, loadCheckpoint, modelFromCheckpoint } from '../train/checkpoint.js';
import { writeJsonAtomic } from '../util/fs.js';
import type { SpeedFigures } from './results.js';

/** An exported model: the checkpoint it comes from and its `.skp` file. */
export interface ExportedRun {
  /** The fold-1 checkpoint. */
  checkpoint: string;
  /** Its `.skp` export (written when absent). */
  skp: string;
}

/** What a timing cell measures: one exported model, against the dense one unless it is the dense one. */
export interface TimingJob extends ExportedRun {
  /** The dense model, timed interleaved with this one for the speed-up; null when this is the dense one. */
  dense: ExportedRun | null;
  /** Timed batch-1 calls. */
  repeats: number;
}

/** What a timing cell reports: it starts measuring (not sent when cached), then how long it took. */
export type TimingEvent = { type: 'timing' } | { type: 'timed'; seconds: number };

const speedPath = (skpPath: string) => skpPath.replace(/\.skp$/, '.speed.json');

/** The speed measured earlier for an exported model, if both files are there and the engine is the same. */
export async function savedSpeed(job: ExportedRun): Promise<SpeedFigures | null> {
  const path = speedPath(job.skp);
  if (!existsSync(path) || !existsSync(job.skp)) return null;
  const figures = JSON.parse(await readFile(path, 'utf8')) as Partial<SpeedFigures>;
  return figures.engineRevision === ENGINE_REVISION ? (figures as SpeedFigures) : null;
}

/** The `.skp` export of a checkpoint (an existing file is loaded: every export of it is the same). */
async function exported({ checkpoint: source, skp }: ExportedRun): Promise<RuntimeModel> {
  if (existsSync(skp)) return (await loadModelFile(skp)).model;
  const checkpoint = await loadCheckpoint(source);
  const { model } = modelFromCheckpoint(checkpoint, source);
  const runtime = toRuntimeModel(noGrad(() => compactModel(model, checkpointMasks(checkpoint))));
  await saveModelFile(skp, {
    model: runtime,
    input: checkpoint.meta.input,
    classNames: checkpoint.meta.classNames,
    info: { source },
  });
  return runtime;
}

/**
 * Exports and times a model and caches the figures beside it. With the dense model given, the two are
 * timed interleaved and the speed-up is the ratio of that one measurement.
 */
export async function timeRun(
  job: TimingJob,
  emit: (event: TimingEvent) => void = () => {},
): Promise<SpeedFigures> {
  const saved = await savedSpeed(job);
  if (saved) return saved;
  emit({ type: 'timing' });
  const started = performance.now();
  const models = [job.dense && (await exported(job.dense)), await exported(job)];
  const runners = models.flatMap((m) => (m ? [runtimeRunner(m)] : []));
  try {
    const speeds = await measureSpeeds(runners, { repeats: job.repeats });
    const speed = speeds[speeds.length - 1];
    const figures: SpeedFigures = {
      p50Ms: speed.p50Ms,
      p90Ms: speed.p90Ms,
      throughput: speed.throughput,
      bytes: (await stat(job.skp)).size,
      speedup: speeds[0].p50Ms / speed.p50Ms,
      engineRevision: ENGINE_REVISION,
    };
    await writeJsonAtomic(speedPath(job.skp), figures);
    emit({ type: 'timed', seconds: (performance.now() - started) / 1000 });
    return figures;
  } finally {
    for (const runner of runners) runner.dispose();
  }
}
