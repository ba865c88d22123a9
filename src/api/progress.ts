/**
 * Progress of long work (training, pruning) as typed events, and the options every long call shares:
 * a progress callback, an AbortSignal, resuming.
 */
import type { FoldEvent } from '../train/experiment.js';
import { type JobSpec, runJobs } from '../train/jobs.js';
import type { ClassificationMetrics } from '../train/metrics.js';

/** The phase an epoch belongs to: dense training, a pruning method's pruning phase, fine-tuning. */
export type Phase = 'train' | 'prune' | 'finetune';

/** A run (one fold) begins. */
export interface FoldStartEvent {
  /** The event's kind. */
  type: 'fold-start';
  /** Position of the run in this call, and of its result in the returned `folds`. */
  run: number;
  /** The fold's name in its protocol (e.g. `subject1`, `fold 2`). */
  fold: string;
  /** Epochs of the whole run, every phase. */
  epochs: number;
  /** Epochs done before (a resumed run skips them); 0 for a fresh run. */
  resumedAt: number;
}

/** A training step (mini-batch) is done. In worker processes (`jobs > 1`) at most 5 a second arrive. */
export interface StepEvent {
  /** The event's kind. */
  type: 'step';
  /** Position of the run in this call. */
  run: number;
  /** The phase the step belongs to. */
  phase: Phase;
  /** 1-based epoch within the phase. */
  epoch: number;
  /** Epochs of the phase. */
  epochs: number;
  /** 1-based step within the epoch. */
  step: number;
  /** Steps of the epoch. */
  steps: number;
  /** The step's training loss. */
  loss: number;
}

/** An epoch is done and saved in the run's resume state. Accuracies are fractions in [0, 1]. */
export interface EpochEvent {
  /** The event's kind. */
  type: 'epoch';
  /** Position of the run in this call. */
  run: number;
  /** The phase the epoch belongs to. */
  phase: Phase;
  /** 1-based epoch within the phase. */
  epoch: number;
  /** Epochs of the phase. */
  epochs: number;
  /** Mean training loss (cross-entropy plus any pruning or distillation term). */
  loss: number;
  /** Accuracy on the training batches. */
  trainAccuracy: number;
  /** Learning rate of the epoch. */
  lr: number;
  /** On the validation part, when the run holds one out (`validationFraction > 0`). */
  validation: {
    /** Top-1 accuracy. */
    top1: number;
    /** Mean per-class accuracy. */
    meanClass: number;
    /** Mean cross-entropy. */
    loss: number;
  } | null;
  /** Wall time of the epoch. */
  seconds: number;
  /** Figures of the method, e.g. `softKept`: the share of weights CTF's soft masks keep. */
  extra: Record<string, number>;
}

/** A run is done: evaluated on its test part and saved. */
export interface FoldDoneEvent {
  /** The event's kind. */
  type: 'fold-done';
  /** Position of the run in this call. */
  run: number;
  /** The fold's name in its protocol. */
  fold: string;
  /** Top-1 test accuracy. */
  top1: number;
  /** Mean per-class test accuracy. */
  meanClass: number;
  /** The saved checkpoint. */
  checkpoint: string;
}

/** The events every run of `train` and `prune` reports, in this order: start, steps and epochs, done. */
export type FoldProgressEvent = FoldStartEvent | StepEvent | EpochEvent | FoldDoneEvent;

/** Options of every long call: progress, cancellation and resuming. */
export interface LongRunOptions<Event> {
  /** Called with every progress event, synchronously; keep it quick. */
  onProgress?: (event: Event) => void;
  /**
   * Cancels the work: in-process between two training steps, with `jobs > 1` by killing the worker
   * processes. The call then rejects with a `CancelledError`; every finished epoch is saved, so the
   * same call with `resume: true` continues exactly where it stopped.
   */
  signal?: AbortSignal;
  /**
   * Continue an interrupted run in the same output folder (which must hold the same settings) instead
   * of refusing to mix runs. Default false.
   */
  resume?: boolean;
  /** Recorded in every checkpoint's provenance (default: the name of the call). */
  command?: string;
}

/** What `train` and `prune` runs return: enough for their `fold-done` event. */
interface FoldOutcome {
  fold: string;
  metrics: ClassificationMetrics;
  checkpoint: string;
}

/**
 * Runs the fold jobs of `train` or `prune` (`runJobs`), at most `parallel` at a time, reporting each
 * job's events, and its result as `fold-done`, as public progress events of run = the job's index.
 */
export function runFoldJobs<R extends FoldOutcome>(
  specs: readonly JobSpec[],
  parallel: number,
  { signal, onProgress }: { signal?: AbortSignal; onProgress: (event: FoldProgressEvent) => void },
): Promise<R[]> {
  return runJobs<R, FoldEvent>(specs, parallel, (run, event) => onProgress(foldProgressEvent(run, event)), {
    signal,
    onResult: (run, result) => onProgress(foldDoneEvent(run, result)),
  });
}

/** A job's internal event as the public event of run `run`. */
function foldProgressEvent(run: number, event: FoldEvent): FoldProgressEvent {
  switch (event.type) {
    case 'start':
      return { type: 'fold-start', run, fold: event.fold, epochs: event.epochs, resumedAt: event.resumedAt };
    case 'step': {
      const { epoch, epochs, step, steps, loss } = event;
      return { type: 'step', run, phase: event.phase as Phase, epoch, epochs, step, steps, loss };
    }
    case 'epoch': {
      const { epoch, loss, trainAccuracy, lr, validation, seconds, extra } = event.record;
      return {
        type: 'epoch',
        run,
        phase: event.phase as Phase,
        epoch,
        epochs: event.epochs,
        loss,
        trainAccuracy,
        lr,
        validation,
        seconds,
        extra,
      };
    }
  }
}

/** The `fold-done` event of a run's result (training or pruning). */
function foldDoneEvent(run: number, result: FoldOutcome): FoldProgressEvent {
  const { top1, meanClass } = result.metrics;
  return { type: 'fold-done', run, fold: result.fold, top1, meanClass, checkpoint: result.checkpoint };
}
