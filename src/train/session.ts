/**
 * The on-disk life of a (possibly multi-phase) training run in one directory: after every epoch the
 * model, the trainer's state and any extra state (pruning masks, schedules) go atomically into
 * `resume.ckpt`, and `log.jsonl` is rewritten with one line per epoch so far. A run started again
 * with the same settings continues from the last completed epoch and ends exactly as if never stopped.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { NamedArray } from '../engine/index.js';
import { SkelpruneError } from '../errors.js';
import type { SkeletonGcn } from '../model/gcn.js';
import { removeStaleTemps, writeFileAtomic } from '../util/fs.js';
import { type CheckpointMeta, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { EpochRecord, StepProgress, Trainer, TrainerState } from './trainer.js';

export interface ExtraState {
  json: Record<string, unknown>;
  tensors: Record<string, Float32Array>;
}

export interface ResumePoint {
  phase: string;
  trainer: TrainerState;
  /** Optimizer buffers and best weights, for Trainer.loadState. */
  trainerTensors: Record<string, Float32Array>;
  extra: ExtraState;
}

export type SessionEvent =
  | ({ type: 'step'; phase: string } & StepProgress)
  | { type: 'epoch'; phase: string; record: EpochRecord; epochs: number };

const asNamed = (tensors: Record<string, Float32Array>, prefix: string): Record<string, NamedArray> =>
  Object.fromEntries(
    Object.entries(tensors).map(([k, data]) => [`${prefix}${k}`, { shape: [data.length], data }]),
  );

export class RunSession {
  readonly resumePath: string;
  private readonly logPath: string;
  /** Epoch records of every phase so far, as logged. */
  private log: (EpochRecord & { phase: string })[] = [];

  constructor(
    readonly dir: string,
    readonly meta: CheckpointMeta,
    readonly model: SkeletonGcn,
    /** Whether a resume file's saved settings identity is this run's; one written under others is refused. */
    readonly sameSettings: (savedIdentity: string) => boolean,
  ) {
    this.resumePath = join(dir, 'resume.ckpt');
    this.logPath = join(dir, 'log.jsonl');
  }

  /**
   * Reads the resume point (and puts its weights into the model), or null when starting fresh. First
   * removes what a killed run's interrupted writes left (`removeStaleTemps`).
   */
  async resume(): Promise<ResumePoint | null> {
    for (const path of [this.resumePath, this.logPath]) await removeStaleTemps(path);
    if (!existsSync(this.resumePath)) return null;
    const checkpoint = await loadCheckpoint(this.resumePath);
    const savedIdentity = checkpoint.meta.provenance.identity;
    if (typeof savedIdentity !== 'string' || !this.sameSettings(savedIdentity)) {
      throw new SkelpruneError(
        `${this.resumePath} was written by a run with different settings; use another --out directory or delete it to start over`,
      );
    }
    const weights: Record<string, { shape: readonly number[]; data: Float32Array }> = {};
    const trainerTensors: Record<string, Float32Array> = {};
    const extraTensors: Record<string, Float32Array> = {};
    for (const [name, t] of Object.entries(checkpoint.tensors)) {
      const data = t.data as Float32Array;
      if (name.startsWith('model.')) weights[name.slice('model.'.length)] = { shape: t.shape, data };
      else if (name.startsWith('extra.')) extraTensors[name.slice('extra.'.length)] = data;
      else trainerTensors[name] = data;
    }
    this.model.loadStateDict(weights);
    const saved = checkpoint.meta.trainer as {
      phase: string;
      state: TrainerState;
      extra: Record<string, unknown>;
      log: RunSession['log'];
    };
    this.log = saved.log;
    return {
      phase: saved.phase,
      trainer: saved.state,
      trainerTensors,
      extra: { json: saved.extra, tensors: extraTensors },
    };
  }

  /** Epochs already logged (all phases). */
  get history(): readonly (EpochRecord & { phase: string })[] {
    return this.log;
  }

  /**
   * Runs the trainer's remaining epochs, checkpointing after each. `extra` is saved alongside
   * (state a resumed run needs besides weights and optimizer). Returns the seconds spent here.
   */
  async run(
    phase: string,
    trainer: Trainer,
    extra: () => ExtraState,
    onEvent: (event: SessionEvent) => void = () => {},
  ): Promise<number> {
    let seconds = 0;
    await this.writeLog();
    while (!trainer.finished) {
      const record = trainer.runEpoch((p) => onEvent({ type: 'step', phase, ...p }));
      seconds += record.seconds;
      this.log.push({ phase, ...record });
      const { state, tensors } = trainer.saveState();
      const { json, tensors: extraTensors } = extra();
      const meta = { ...this.meta, trainer: { phase, state, extra: json, log: this.log } };
      const saved = { ...asNamed(tensors, ''), ...asNamed(extraTensors, 'extra.') };
      await saveCheckpoint(this.resumePath, meta, this.model, saved);
      await this.writeLog();
      // After the save: whoever stops the run on this event finds the epoch in the resume state.
      onEvent({ type: 'epoch', phase, record, epochs: trainer.config.epochs });
    }
    return seconds;
  }

  private async writeLog(): Promise<void> {
    await writeFileAtomic(this.logPath, this.log.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  /** Removes the resume state once the run's results are saved. */
  async finish(): Promise<void> {
    await rm(this.resumePath, { force: true });
  }
}
