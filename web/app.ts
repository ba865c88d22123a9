/**
 * The demo page's controller: plays the chosen sequence in the 3D view, classifies a sliding window
 * every few frames with the pruned model (or the dense one, or both side by side), and takes dropped
 * files (models and sequences), showing the library's own message for a file it cannot use.
 */

import type { Kernels } from '@skelprune/runtime';
import type { SkeletonSequence } from '../src/data/types.js';
import { SkelpruneError } from '../src/errors.js';
import { classifyWindow, LatencyMeter, type WindowPrediction, windowOf } from './classify.js';
import { byId, el } from './dom.js';
import { type LoadedModel, loadModel, type Slot } from './models.js';
import { modelCard, predictionColumn, sequenceItem } from './panels.js';
import { Player } from './player.js';
import { bundledSequences, readDroppedSequences, type SequenceEntry } from './sequences.js';
import { SkeletonView } from './viewer.js';

/** While playing, a new prediction every this many frames (paused or seeking: every frame shown). */
const CLASSIFY_EVERY = 2;
const DEFAULT_WINDOW = 32;

export class DemoApp {
  private readonly models: Partial<Record<Slot, LoadedModel>> = {};
  private readonly latency: Record<Slot, LatencyMeter> = {
    pruned: new LatencyMeter(),
    dense: new LatencyMeter(),
  };
  private readonly sequences: SequenceEntry[] = bundledSequences();
  private current: SequenceEntry = this.sequences[0];
  private readonly view: SkeletonView | null;
  private readonly player: Player;
  private windowLength = DEFAULT_WINDOW;
  private lastClassified = -1;

  private readonly elements = {
    view: byId('view'),
    play: byId<HTMLButtonElement>('play'),
    frame: byId<HTMLInputElement>('frame'),
    frameLabel: byId('frame-label'),
    speed: byId<HTMLSelectElement>('speed'),
    window: byId<HTMLInputElement>('window'),
    title: byId('sequence-title'),
    compare: byId<HTMLInputElement>('compare'),
    columns: byId('prediction-columns'),
    speedup: byId('speedup'),
    sequenceList: byId('sequence-list'),
    dropZone: byId('drop-zone'),
    fileInput: byId<HTMLInputElement>('file-input'),
    error: byId('error'),
    models: byId('models'),
  };

  constructor(private readonly kernels: Kernels) {
    this.view = this.createView();
    this.player = new Player((frame) => this.onFrame(frame));
    this.bindControls();
    this.select(this.current);
    this.renderModels();
  }

  /** Loads the models the server offers (a failure is shown like a bad dropped file). */
  addServedModels(models: { name: string; bytes: Uint8Array }[]): void {
    for (const { name, bytes } of models) this.guard(() => this.addModel(bytes, name));
  }

  private createView(): SkeletonView | null {
    try {
      return new SkeletonView(this.elements.view);
    } catch {
      this.elements.view.append(
        el(
          'p',
          { class: 'no-webgl' },
          'This browser has no WebGL: the 3D view is off; predictions still run.',
        ),
      );
      return null;
    }
  }

  private bindControls(): void {
    const { play, frame, speed, window, compare, dropZone, fileInput } = this.elements;
    play.addEventListener('click', () => {
      this.player.toggle();
      play.textContent = this.player.playing ? 'Pause' : 'Play';
      if (!this.player.playing) this.classify(this.player.frame);
    });
    frame.addEventListener('input', () => this.player.seek(Number(frame.value)));
    speed.addEventListener('change', () => {
      this.player.speed = Number(speed.value);
    });
    window.addEventListener('change', () => {
      this.windowLength = Math.max(2, Math.round(Number(window.value)) || DEFAULT_WINDOW);
      window.value = String(this.windowLength);
      this.classify(this.player.frame);
    });
    compare.addEventListener('change', () => this.classify(this.player.frame));
    fileInput.addEventListener('change', () => {
      void this.addFiles([...(fileInput.files ?? [])]);
      fileInput.value = '';
    });
    dropZone.addEventListener('dragover', (event) => {
      event.preventDefault();
      dropZone.classList.add('dragging');
    });
    dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
    dropZone.addEventListener('drop', (event) => {
      event.preventDefault();
      dropZone.classList.remove('dragging');
      void this.addFiles([...(event.dataTransfer?.files ?? [])]);
    });
  }

  /** Models first, so that sequence files dropped with one are checked against it. */
  private async addFiles(files: File[]): Promise<void> {
    this.clearError();
    const ordered = [...files].sort((a, b) => Number(isModelFile(b)) - Number(isModelFile(a)));
    for (const file of ordered) {
      const bytes = new Uint8Array(await file.arrayBuffer());
      this.guard(() => {
        if (isModelFile(file)) this.addModel(bytes, file.name);
        else this.addSequences(readDroppedSequences(bytes, file.name, this.primary()?.predictor ?? null));
      });
    }
  }

  private addModel(bytes: Uint8Array, name: string): void {
    const model = loadModel(bytes, name, this.kernels);
    this.models[model.slot]?.predictor.dispose();
    this.models[model.slot] = model;
    this.latency[model.slot] = new LatencyMeter();
    const { temporal } = model.predictor.info;
    if (temporal.mode === 'resample') {
      this.windowLength = temporal.frames;
      this.elements.window.value = String(temporal.frames);
    }
    this.elements.compare.disabled = !(this.models.pruned && this.models.dense);
    this.renderModels();
    this.classify(this.player.frame);
  }

  private addSequences(entries: SequenceEntry[]): void {
    this.sequences.push(...entries);
    if (entries.length > 0) this.select(entries[0]);
  }

  private select(entry: SequenceEntry): void {
    this.current = entry;
    this.view?.setSequence(entry.sequence, entry.bones);
    this.elements.frame.max = String(entry.sequence.frames - 1);
    this.elements.title.textContent = `${entry.title}${entry.trueClass ? ` (true class: ${entry.trueClass})` : ''}`;
    this.renderSequenceList();
    this.lastClassified = -1;
    this.player.load(entry.sequence.frames);
  }

  private onFrame(frame: number): void {
    const { frames } = this.current.sequence;
    this.view?.showFrame(this.current.sequence, frame);
    this.elements.frame.value = String(frame);
    this.elements.frameLabel.textContent = `frame ${frame + 1} / ${frames}`;
    const due = frame - this.lastClassified >= CLASSIFY_EVERY || frame < this.lastClassified;
    if (!this.player.playing || due) this.classify(frame);
  }

  /** The model predictions are shown for: the pruned one when loaded, else the dense one. */
  private primary(): LoadedModel | undefined {
    return this.models.pruned ?? this.models.dense;
  }

  private comparing(): LoadedModel[] {
    const { pruned, dense } = this.models;
    if (this.elements.compare.checked && pruned && dense) return [dense, pruned];
    const primary = this.primary();
    return primary ? [primary] : [];
  }

  private classify(frame: number): void {
    this.lastClassified = frame;
    const models = this.comparing();
    if (models.length === 0) {
      this.showNoModel();
      return;
    }
    const window = windowOf(this.current.sequence, frame, this.windowLength);
    this.elements.columns.replaceChildren(...models.map((model) => this.predictionFor(model, window)));
    const { pruned, dense } = this.latency;
    this.elements.speedup.textContent =
      models.length === 2 && pruned.count > 0 && dense.count > 0
        ? `the pruned model runs ${(dense.meanMs / pruned.meanMs).toFixed(1)}× as fast as the dense one`
        : '';
  }

  /** One model's column; a window the model cannot take shows the library's message instead. */
  private predictionFor(model: LoadedModel, window: SkeletonSequence): HTMLElement {
    const meter = this.latency[model.slot];
    let result: WindowPrediction | { error: string };
    try {
      result = classifyWindow(model.predictor, window);
      meter.add(result.latencyMs);
    } catch (error) {
      if (!(error instanceof SkelpruneError)) throw error;
      result = { error: error.message };
    }
    return predictionColumn({
      model,
      result,
      meanLatencyMs: meter.meanMs,
      measurements: meter.count,
      trueClass: this.current.trueClass,
    });
  }

  private showNoModel(): void {
    this.elements.columns.replaceChildren(
      el(
        'p',
        { class: 'hint' },
        'No model loaded: start the page with ',
        el('code', {}, 'skelprune serve --model model.skp'),
        ', or drop a .skp model file below.',
      ),
    );
    this.elements.speedup.textContent = '';
  }

  private renderModels(): void {
    const models = [this.models.pruned, this.models.dense].filter((m) => m !== undefined);
    this.elements.models.replaceChildren(
      ...(models.length > 0 ? models.map(modelCard) : [el('p', { class: 'hint' }, 'No model yet.')]),
    );
  }

  private renderSequenceList(): void {
    this.elements.sequenceList.replaceChildren(
      ...this.sequences.map((entry) => sequenceItem(entry, entry === this.current, () => this.select(entry))),
    );
  }

  /** Runs `action`; a user error (bad file) is shown on the page, anything else is a bug and rethrown. */
  private guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      if (!(error instanceof SkelpruneError)) throw error;
      this.elements.error.textContent = error.message;
      this.elements.error.hidden = false;
    }
  }

  private clearError(): void {
    this.elements.error.hidden = true;
    this.elements.error.textContent = '';
  }
}

function isModelFile(file: File): boolean {
  return file.name.endsWith('.skp');
}
