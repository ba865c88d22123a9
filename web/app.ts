/**
 * The demo page's controller. Two inputs: recorded sequences, played in the 3D view and classified
 * over a window ending at the frame shown; and the camera, whose tracked hand is drawn over the video
 * and in the 3D view and classified over a sliding window of the last frames. Predictions come from
 * the pruned model (or the dense one, or both side by side), with their latencies, a strip chart of
 * the probabilities and a screen-reader announcement when the most probable class changes. Dropped
 * files (models and sequences) and recorded clips join in; a file the page cannot use shows the
 * library's own message.
 */

import {
  handJointMapping,
  type Kernels,
  MEDIAPIPE_HAND_BONES,
  type StreamingClassifier,
} from '@skelprune/runtime';
import type { SkeletonSequence } from '../src/data/types.js';
import { SkelpruneError } from '../src/errors.js';
import { formatLatency } from '../src/util/format.js';
import { StripChart } from './chart.js';
import { classifyWindow, LatencyMeter, type WindowPrediction, windowOf } from './classify.js';
import { byId, el } from './dom.js';
import { type HandFrame, LiveInput, type LiveStatus } from './live.js';
import { fetchModel, type LoadedModel, loadModel, type ServedModel, type Slot } from './models.js';
import { HandOverlay } from './overlay.js';
import { modelCard, predictionColumn, sequenceItem } from './panels.js';
import { Player } from './player.js';
import { type Clip, clipSequence, Recorder } from './recorder.js';
import { readDroppedSequences, type SequenceEntry, sampleSequences, viewPositions } from './sequences.js';
import { compareSpeed } from './speed.js';
import { layoutOf, SkeletonView } from './viewer.js';

/** While playing, a new prediction every this many frames (paused or seeking: every frame shown). */
const CLASSIFY_EVERY = 2;
/** The window of a model that does not resample to a fixed frame count. */
const FALLBACK_WINDOW = 32;
/** Live frames kept, to refill the models' windows when they change. */
const HISTORY = 512;
/** The hand in the 3D view: wrist-centred, upright, fingers up, about 25 cm across. */
const LIVE_LAYOUT = {
  persons: 1,
  joints: 21,
  bones: MEDIAPIPE_HAND_BONES,
  center: [0, 80, 0] as const,
  extent: 260,
  floor: -40,
};

type Mode = 'sequences' | 'live';

/** A model classifying the live hand: its joint order and its stream of frames. */
interface LiveModel {
  model: LoadedModel;
  /** `mapping[j]`: the MediaPipe landmark of the model's joint j; null when it takes no hand. */
  mapping: number[] | null;
  stream: StreamingClassifier | null;
  problem: string | null;
}

export class DemoApp {
  private readonly models: Partial<Record<Slot, LoadedModel>> = {};
  private readonly latency: Record<Slot, LatencyMeter> = {
    pruned: new LatencyMeter(),
    dense: new LatencyMeter(),
  };
  /** A served dense model, loaded when the user first compares. */
  private pendingDense: ServedModel | null = null;
  private sequences: SequenceEntry[] = [];
  private current: SequenceEntry | null = null;
  private display: Float32Array | null = null;
  private readonly view: SkeletonView | null;
  private readonly player: Player;
  private readonly chart: StripChart;
  private readonly overlay: HandOverlay;
  private readonly recorder: Recorder;
  /** The camera and the hand tracker (public for tests: `replay` feeds recorded tracker results). */
  readonly live: LiveInput;
  private mode: Mode = 'sequences';
  private windowLength = FALLBACK_WINDOW;
  private lastClassified = -1;
  private liveModels: LiveModel[] = [];
  private history: Float32Array[] = [];
  private tracking = new LatencyMeter(30);
  private readonly liveTimes: number[] = [];
  private announced: string | null = null;
  private candidate = { name: '', count: 0 };
  private speedRun = 0;
  private firstPrediction = false;

  private readonly elements = {
    cameraToggle: byId<HTMLButtonElement>('camera-toggle'),
    inputLabel: byId('input-label'),
    cameraMessage: byId('camera-message'),
    camera: byId('camera'),
    views: byId('views'),
    video: byId<HTMLVideoElement>('video'),
    overlay: byId<HTMLCanvasElement>('overlay'),
    countdown: byId('countdown'),
    cameraStatus: byId('camera-status'),
    view: byId('view'),
    sequenceControls: byId('sequence-controls'),
    play: byId<HTMLButtonElement>('play'),
    frame: byId<HTMLInputElement>('frame'),
    frameLabel: byId('frame-label'),
    speed: byId<HTMLSelectElement>('speed'),
    window: byId<HTMLInputElement>('window'),
    whole: byId<HTMLInputElement>('whole'),
    wholeLabel: byId('whole-label'),
    windowHeld: byId('window-held'),
    title: byId('sequence-title'),
    liveLatency: byId('live-latency'),
    compare: byId<HTMLInputElement>('compare'),
    compareLabel: byId('compare-label'),
    columns: byId('prediction-columns'),
    speedPanel: byId('speed-panel'),
    speedup: byId('speedup'),
    measure: byId<HTMLButtonElement>('measure'),
    announcer: byId('announcer'),
    samplesNote: byId('samples-note'),
    sequenceList: byId('sequence-list'),
    dropZone: byId('drop-zone'),
    fileInput: byId<HTMLInputElement>('file-input'),
    error: byId('error'),
    models: byId('models'),
  };

  constructor(private readonly kernels: Kernels) {
    this.view = this.createView();
    this.chart = new StripChart(byId<HTMLCanvasElement>('chart'), byId('chart-legend'));
    this.overlay = new HandOverlay(this.elements.overlay);
    this.player = new Player((frame) => this.onFrame(frame));
    this.live = new LiveInput(this.elements.video, {
      frame: (frame, lost, trackingMs) => this.onHand(frame, lost, trackingMs),
      status: (status) => this.onLiveStatus(status),
    });
    this.recorder = new Recorder({
      countdown: (seconds) => {
        this.elements.countdown.hidden = seconds === null;
        this.elements.countdown.textContent = seconds === null ? '' : String(seconds);
      },
      review: (clip) => this.review(clip),
    });
    this.bindControls();
    this.refreshSamples();
    this.renderModels();
  }

  /** Loads the model the server offers at once; a dense one waits until the user compares. */
  async addServedModels(served: ServedModel[]): Promise<void> {
    this.pendingDense = served.find((m) => m.role === 'dense') ?? null;
    for (const entry of served.filter((m) => m.role === 'model')) {
      const bytes = await fetchModel(entry);
      this.guard(() => this.addModel(bytes, entry.name));
    }
    this.updateCompare();
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
    const e = this.elements;
    e.cameraToggle.addEventListener('click', () => (this.live.on ? this.stopLive() : void this.startLive()));
    e.play.addEventListener('click', () => {
      this.player.toggle();
      e.play.textContent = this.player.playing ? 'Pause' : 'Play';
      if (!this.player.playing) this.classify(this.player.frame);
    });
    e.frame.addEventListener('input', () => this.player.seek(Number(e.frame.value)));
    e.speed.addEventListener('change', () => {
      this.player.speed = Number(e.speed.value);
    });
    e.window.addEventListener('change', () => {
      this.windowLength = Math.min(
        512,
        Math.max(2, Math.round(Number(e.window.value)) || this.modelWindow()),
      );
      e.window.value = String(this.windowLength);
      e.whole.checked = false;
      this.windowChanged();
    });
    e.whole.addEventListener('change', () => this.windowChanged());
    e.compare.addEventListener('change', () => void this.compareChanged());
    e.measure.addEventListener('click', () => void this.measureSpeed());
    e.fileInput.addEventListener('change', () => {
      void this.addFiles([...(e.fileInput.files ?? [])]);
      e.fileInput.value = '';
    });
    e.dropZone.addEventListener('dragover', (event) => {
      event.preventDefault();
      e.dropZone.classList.add('dragging');
    });
    e.dropZone.addEventListener('dragleave', () => e.dropZone.classList.remove('dragging'));
    e.dropZone.addEventListener('drop', (event) => {
      event.preventDefault();
      e.dropZone.classList.remove('dragging');
      void this.addFiles([...(event.dataTransfer?.files ?? [])]);
    });
  }

  // ── models ──────────────────────────────────────────────────────────────

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
    const primaryBefore = this.primary();
    this.models[model.slot]?.predictor.dispose();
    this.models[model.slot] = model;
    if (model.slot === 'dense') this.pendingDense = null;
    this.latency[model.slot] = new LatencyMeter();
    if (this.primary() !== primaryBefore) {
      this.windowLength = this.modelWindow();
      this.elements.window.value = String(this.windowLength);
      this.refreshSamples();
    }
    this.updateCompare();
    this.renderModels();
    this.chart.reset(this.primary()?.predictor.classNames ?? []);
    if (this.mode === 'live') this.rebuildLiveModels();
    else this.classify(this.player.frame);
    if (this.comparing().length === 2) void this.measureSpeed();
  }

  /**
   * The primary model's window: the median length of its training clips when its file records it,
   * else the frames it resamples every sequence to.
   */
  private modelWindow(): number {
    const info = this.primary()?.predictor.info;
    if (info?.clipFrames) return Math.max(2, info.clipFrames);
    return info?.temporal.mode === 'resample' ? info.temporal.frames : FALLBACK_WINDOW;
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

  private updateCompare(): void {
    const { compare, compareLabel } = this.elements;
    const dense = this.models.dense ?? this.pendingDense;
    compare.disabled = !(this.models.pruned && dense);
    const pending = !this.models.dense && this.pendingDense;
    compareLabel.textContent = pending
      ? `dense and pruned side by side (loads ${this.pendingDense?.name}, ${(this.pendingDense?.bytes ?? 0) / 1e6 < 0.1 ? '<0.1' : ((this.pendingDense?.bytes ?? 0) / 1e6).toFixed(1)} MB)`
      : 'dense and pruned side by side';
  }

  private async compareChanged(): Promise<void> {
    const { compare, compareLabel } = this.elements;
    if (compare.checked && !this.models.dense && this.pendingDense) {
      const pending = this.pendingDense;
      compare.disabled = true;
      compareLabel.textContent = `loading ${pending.name}…`;
      try {
        const bytes = await fetchModel(pending);
        this.guard(() => this.addModel(bytes, pending.name));
      } catch (error) {
        this.showError(error instanceof Error ? error.message : String(error));
      }
      this.updateCompare();
      return; // addModel classified and timed both
    }
    if (this.mode === 'live') this.rebuildLiveModels();
    else this.classify(this.player.frame);
    if (this.comparing().length === 2) void this.measureSpeed();
    else this.elements.speedPanel.hidden = true;
  }

  /** Times the two models as `skelprune bench` does and shows the ratio with its spread. */
  private async measureSpeed(): Promise<void> {
    const { pruned, dense } = this.models;
    const { speedPanel, speedup, measure } = this.elements;
    if (!pruned || !dense || this.comparing().length !== 2) return;
    const run = ++this.speedRun;
    speedPanel.hidden = false;
    measure.disabled = true;
    speedup.textContent = 'Timing both models (10 interleaved rounds)…';
    const result = await compareSpeed(dense.predictor, pruned.predictor);
    if (run !== this.speedRun) return;
    measure.disabled = false;
    speedup.textContent = `the pruned model runs ${result.ratio.toFixed(1)}× as fast as the dense one (${formatLatency(result.prunedMs)} against ${formatLatency(result.denseMs)} per inference; ${result.low.toFixed(1)}–${result.high.toFixed(1)}× over ${result.rounds} interleaved rounds, median of ${result.calls.toLocaleString('en-US')} inferences each)`;
    document.body.dataset.speedup = result.ratio.toFixed(2);
  }

  // ── recorded sequences ──────────────────────────────────────────────────

  /** Sample motions for the primary model's skeleton (replacing the samples made for another one). */
  private refreshSamples(): void {
    const { entries, note } = sampleSequences(this.primary()?.predictor.info ?? null);
    const currentWasSample = this.current?.sample ?? true;
    this.sequences = [...entries, ...this.sequences.filter((s) => !s.sample)];
    this.elements.samplesNote.hidden = note === null;
    this.elements.samplesNote.textContent = note ?? '';
    // Live, the camera stays on; the list waits for the user.
    if (this.mode === 'live') this.renderSequenceList();
    else if (currentWasSample || !this.current) this.select(this.sequences[0] ?? null);
    else this.renderSequenceList();
  }

  private addSequences(entries: SequenceEntry[]): void {
    this.sequences.push(...entries);
    if (entries.length > 0) this.select(entries[0]);
  }

  /** Plays a recorded clip (in MediaPipe's joint order) in the 3D view, classified like any sequence. */
  private review(clip: Clip): void {
    const names = this.primary()?.predictor.classNames ?? [];
    this.select({
      sequence: clipSequence(clip),
      title: `recorded clip ${clip.id}`,
      trueClass: names.includes(clip.label) ? clip.label : null,
      bones: MEDIAPIPE_HAND_BONES,
      axes: 'camera',
      sample: false,
      mediapipeOrder: true,
    });
  }

  private select(entry: SequenceEntry | null): void {
    if (this.mode === 'live') this.stopLive();
    this.current = entry;
    this.lastClassified = -1;
    this.chart.reset(this.primary()?.predictor.classNames ?? []);
    this.renderSequenceList();
    if (!entry) {
      this.display = null;
      this.view?.hide();
      this.elements.title.textContent = '';
      this.elements.frame.max = '0';
      this.player.load(1);
      return;
    }
    const { sequence } = entry;
    this.display = viewPositions(sequence.positions, entry.axes);
    this.view?.setLayout(layoutOf(this.display, sequence.persons, sequence.joints, entry.bones));
    this.elements.frame.max = String(sequence.frames - 1);
    this.elements.title.textContent = `${entry.title}${entry.trueClass ? ` (true class: ${entry.trueClass})` : ''}`;
    this.player.load(sequence.frames);
  }

  private onFrame(frame: number): void {
    if (this.mode !== 'sequences' || !this.current) {
      this.elements.frameLabel.textContent = '';
      if (!this.current) this.classify(0);
      return;
    }
    const { frames, persons, joints } = this.current.sequence;
    if (this.display) this.view?.show(this.display, frame * persons * joints * 3);
    this.elements.frame.value = String(frame);
    this.elements.frameLabel.textContent = `frame ${frame + 1} / ${frames}`;
    const due = frame - this.lastClassified >= CLASSIFY_EVERY || frame < this.lastClassified;
    if (!this.player.playing || due) this.classify(frame);
  }

  private windowChanged(): void {
    if (this.mode === 'live') this.rebuildLiveModels();
    else this.classify(this.player.frame);
  }

  private classify(frame: number): void {
    this.lastClassified = frame;
    const models = this.comparing();
    if (models.length === 0) {
      this.showNoModel();
      return;
    }
    if (!this.current) {
      this.elements.columns.replaceChildren(
        el('p', { class: 'hint' }, 'No sequence to classify: drop one below, or start the camera.'),
      );
      this.elements.windowHeld.textContent = '';
      return;
    }
    const whole = this.elements.whole.checked;
    const window = windowOf(
      this.current.sequence,
      frame,
      whole ? Number.POSITIVE_INFINITY : this.windowLength,
    );
    this.elements.windowHeld.textContent = whole
      ? `holds ${window.frames} frame${window.frames === 1 ? '' : 's'} (all so far; the model resamples to ${this.modelWindow()})`
      : `holds ${window.frames} of ${this.windowLength} frames`;
    const columns = models.map((model) => this.predictionFor(model, window));
    this.elements.columns.replaceChildren(...columns.map((c) => c.element));
    const primary = columns.at(-1)?.prediction;
    if (primary) this.predicted(primary.probabilities, models.at(-1) as LoadedModel);
  }

  /** One model's column; a window the model cannot take shows the library's message instead. */
  private predictionFor(
    model: LoadedModel,
    window: SkeletonSequence,
  ): { element: HTMLElement; prediction: WindowPrediction | null } {
    const meter = this.latency[model.slot];
    let result: WindowPrediction | { error: string };
    try {
      result = classifyWindow(model.predictor, this.inModelOrder(window, model));
      meter.add(result.latencyMs);
    } catch (error) {
      if (!(error instanceof SkelpruneError)) throw error;
      result = { error: error.message };
    }
    const element = predictionColumn({
      model,
      result,
      meanLatencyMs: meter.meanMs,
      measurements: meter.count,
      trueClass: this.current?.trueClass ?? null,
      latencyNote: 'per inference',
    });
    return { element, prediction: 'error' in result ? null : result };
  }

  /** A clip in MediaPipe's joint order, reordered for a hand model in another order (FPHA's). */
  private inModelOrder(window: SkeletonSequence, model: LoadedModel): SkeletonSequence {
    if (!this.current?.mediapipeOrder) return window;
    const mapping = handJointMapping(model.predictor.info.jointNames);
    return mapping ? { ...window, positions: reorder(window.positions, mapping) } : window;
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
    this.elements.speedPanel.hidden = true;
    this.elements.windowHeld.textContent = '';
  }

  /** After every shown prediction of the primary model: the chart, the announcement, the timing mark. */
  private predicted(probabilities: Float32Array, model: LoadedModel): void {
    this.chart.push(probabilities);
    let top = 0;
    for (let c = 1; c < probabilities.length; c++) if (probabilities[c] > probabilities[top]) top = c;
    this.announce(model.predictor.classNames[top]);
    if (!this.firstPrediction) {
      this.firstPrediction = true;
      // Milliseconds since navigation started (the time origin of performance.now()).
      document.body.dataset.firstPredictionMs = performance.now().toFixed(0);
    }
  }

  /** Announces the most probable class when it changes (and holds for two predictions), not every frame. */
  private announce(name: string): void {
    if (name === this.announced) {
      this.candidate = { name: '', count: 0 };
      return;
    }
    this.candidate =
      this.candidate.name === name ? { name, count: this.candidate.count + 1 } : { name, count: 1 };
    if (this.candidate.count < 2) return;
    this.announced = name;
    this.elements.announcer.textContent = `Prediction: ${name}`;
  }

  // ── live ────────────────────────────────────────────────────────────────

  private async startLive(): Promise<void> {
    const e = this.elements;
    this.mode = 'live';
    this.player.playing = false;
    e.play.textContent = 'Play';
    e.cameraMessage.hidden = true;
    e.camera.hidden = false;
    e.views.classList.add('live');
    e.sequenceControls.hidden = true;
    e.wholeLabel.hidden = true;
    e.cameraToggle.textContent = 'Stop camera';
    e.cameraToggle.setAttribute('aria-pressed', 'true');
    e.inputLabel.textContent = 'Live: your hand';
    e.title.textContent = '';
    e.liveLatency.hidden = false;
    e.liveLatency.textContent = '';
    document.body.dataset.camera = 'starting';
    delete document.body.dataset.cameraError;
    this.tracking = new LatencyMeter(30);
    this.liveTimes.length = 0;
    this.resetLatencies(); // per frame from here on, preprocessing included
    this.current = null;
    this.renderSequenceList();
    this.view?.setLayout(LIVE_LAYOUT);
    this.chart.reset(this.primary()?.predictor.classNames ?? []);
    this.rebuildLiveModels();
    await this.live.start();
  }

  private stopLive(): void {
    const e = this.elements;
    if (this.live.on) this.live.stop();
    this.mode = 'sequences';
    e.camera.hidden = true;
    e.views.classList.remove('live');
    e.sequenceControls.hidden = false;
    e.wholeLabel.hidden = false;
    e.cameraToggle.textContent = 'Start camera';
    e.cameraToggle.setAttribute('aria-pressed', 'false');
    e.inputLabel.textContent = 'Playing recorded sequences';
    e.liveLatency.hidden = true;
    this.overlay.draw(null);
    this.recorder.setCamera(false);
    this.history = [];
    this.resetLatencies();
    if (document.body.dataset.camera !== 'error') document.body.dataset.camera = 'off';
    if (!this.current) this.select(this.sequences[0] ?? null);
  }

  private onLiveStatus(status: LiveStatus): void {
    const e = this.elements;
    if (status.kind === 'starting') {
      e.cameraStatus.textContent = status.text;
    } else if (status.kind === 'running') {
      document.body.dataset.camera = 'on';
      e.cameraStatus.textContent = 'Looking for a hand…';
      this.recorder.setCamera(true);
    } else if (status.kind === 'error') {
      document.body.dataset.camera = 'error';
      document.body.dataset.cameraError = status.reason;
      this.stopLive();
      e.cameraMessage.textContent = status.text;
      e.cameraMessage.hidden = false;
    }
  }

  /** The models' streams over the live hand: each gets the frames in its own joint order. */
  private rebuildLiveModels(): void {
    this.liveModels = this.comparing().map((model) => {
      const { info } = model.predictor;
      const mapping = info.persons === 1 ? handJointMapping(info.jointNames) : null;
      if (!mapping) {
        return {
          model,
          mapping,
          stream: null,
          problem: `This model takes ${info.persons} person(s) × ${info.joints} joints, not a hand: the camera needs a hand model (21 joints in MediaPipe's or FPHA's order), e.g. one trained on clips recorded here.`,
        };
      }
      const stream = model.predictor.stream({
        window: this.windowLength,
        minFrames: Math.max(2, Math.ceil(this.windowLength / 2)),
      });
      for (const frame of this.history.slice(-this.windowLength)) stream.push(reorder(frame, mapping));
      return { model, mapping, stream, problem: null };
    });
    if (this.liveModels.length === 0) this.showNoModel();
    else this.renderLive(null);
  }

  private onHand(frame: HandFrame | null, lost: boolean, trackingMs: number | null): void {
    this.recorder.onFrame(frame?.positions ?? null);
    const e = this.elements;
    if (trackingMs !== null) {
      this.tracking.add(trackingMs);
      this.liveTimes.push(performance.now());
      while (this.liveTimes.length > 30) this.liveTimes.shift();
    }
    if (!frame) {
      this.renderLiveLatency();
      this.overlay.draw(null);
      this.view?.hide();
      if (lost || this.history.length === 0) {
        e.cameraStatus.textContent =
          'No hand in view: hold one hand up to the camera, 30–80 cm away, fingers visible.';
        if (this.history.length > 0) {
          this.history = [];
          for (const live of this.liveModels) live.stream?.reset();
        }
        this.renderLive(null);
      }
      return;
    }
    e.cameraStatus.textContent = frame.hand ? `${frame.hand} hand` : '';
    const { videoWidth, videoHeight } = e.video;
    if (videoWidth > 0) this.overlay.fit(videoWidth, videoHeight);
    this.overlay.draw(frame.image);
    this.view?.show(liveView(frame.positions));
    this.history.push(frame.positions);
    if (this.history.length > HISTORY) this.history.shift();
    for (const live of this.liveModels)
      if (live.mapping) live.stream?.push(reorder(frame.positions, live.mapping));
    this.renderLive(frame);
  }

  /** Each live model's prediction over its window (timed: preprocessing and inference). */
  private renderLive(frame: HandFrame | null): void {
    const e = this.elements;
    const predictions: (Float32Array | null)[] = [];
    const columns = this.liveModels.map(({ model, stream, problem }) => {
      const meter = this.latency[model.slot];
      let result: WindowPrediction | { error: string } | { waiting: string };
      if (problem || !stream) result = { error: problem ?? '' };
      else if (!frame && stream.frames === 0) result = { waiting: 'Waiting for a hand…' };
      else if (!stream.ready) {
        result = { waiting: `Collecting frames: ${stream.frames} of the ${stream.minFrames} needed.` };
      } else {
        const start = performance.now();
        const prediction = stream.predict();
        const latencyMs = performance.now() - start;
        if (!prediction) result = { waiting: 'Collecting frames…' };
        else {
          if (frame) meter.add(latencyMs);
          result = { probabilities: prediction.probabilities, latencyMs };
        }
      }
      predictions.push('probabilities' in result ? result.probabilities : null);
      return predictionColumn({
        model,
        result,
        meanLatencyMs: meter.meanMs,
        measurements: meter.count,
        trueClass: null,
        latencyNote: 'per frame (preprocessing and inference)',
      });
    });
    e.columns.replaceChildren(...columns);
    const held =
      this.liveModels.find((l) => l.stream)?.stream?.frames ??
      Math.min(this.history.length, this.windowLength);
    e.windowHeld.textContent = `holds ${held} of ${this.windowLength} frames`;
    const last = predictions.at(-1);
    const primary = this.liveModels.at(-1)?.model;
    if (frame && last && primary) this.predicted(last, primary);
    this.renderLiveLatency();
  }

  private resetLatencies(): void {
    this.latency.pruned = new LatencyMeter();
    this.latency.dense = new LatencyMeter();
  }

  /** The live figures the page shows, as numbers (for `npm run bench:demo` and the tests). */
  liveStats(): {
    trackingMs: number | null;
    modelMs: Partial<Record<Slot, number>>;
    framesPerSecond: number | null;
  } {
    const modelMs: Partial<Record<Slot, number>> = {};
    for (const { model, stream } of this.liveModels) {
      if (stream && this.latency[model.slot].count > 0) modelMs[model.slot] = this.latency[model.slot].meanMs;
    }
    const times = this.liveTimes;
    return {
      trackingMs: this.tracking.count > 0 ? this.tracking.meanMs : null,
      modelMs,
      framesPerSecond:
        times.length > 2 ? ((times.length - 1) * 1000) / ((times.at(-1) ?? 0) - times[0]) : null,
    };
  }

  private renderLiveLatency(): void {
    const parts: string[] = [];
    if (this.tracking.count > 0) parts.push(`hand tracking ${formatLatency(this.tracking.meanMs)} per frame`);
    for (const { model, stream } of this.liveModels) {
      const meter = this.latency[model.slot];
      if (stream && meter.count > 0)
        parts.push(`${model.slot} model ${formatLatency(meter.meanMs)} per frame`);
    }
    const times = this.liveTimes;
    if (times.length > 2) {
      const fps = ((times.length - 1) * 1000) / ((times.at(-1) ?? 0) - times[0]);
      parts.push(`${fps.toFixed(fps < 10 ? 1 : 0)} frames per second tracked`);
    }
    this.elements.liveLatency.textContent = parts.join(' · ');
  }

  // ── panels ──────────────────────────────────────────────────────────────

  private renderModels(): void {
    const models = [this.models.pruned, this.models.dense].filter((m) => m !== undefined);
    const pending = this.pendingDense && !this.models.dense ? this.pendingDense : null;
    this.elements.models.replaceChildren(
      ...models.map(modelCard),
      ...(pending
        ? [
            el(
              'p',
              { class: 'hint' },
              `dense: ${pending.name} (${(pending.bytes / 1e6).toFixed(2)} MB) loads when you turn on the side-by-side comparison.`,
            ),
          ]
        : []),
      ...(models.length === 0 && !pending ? [el('p', { class: 'hint' }, 'No model yet.')] : []),
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
      this.showError(error.message);
    }
  }

  private showError(message: string): void {
    this.elements.error.textContent = message;
    this.elements.error.hidden = false;
  }

  private clearError(): void {
    this.elements.error.hidden = true;
    this.elements.error.textContent = '';
  }
}

function isModelFile(file: File): boolean {
  return file.name.endsWith('.skp');
}

/** Frames in MediaPipe's joint order, in a model's order: joint j takes landmark mapping[j]. */
function reorder(positions: Float32Array, mapping: readonly number[]): Float32Array {
  const joints = mapping.length;
  const out = new Float32Array(positions.length);
  for (let base = 0; base < positions.length; base += joints * 3) {
    for (let j = 0; j < joints; j++)
      out.set(positions.subarray(base + mapping[j] * 3, base + mapping[j] * 3 + 3), base + j * 3);
  }
  return out;
}

/** The live hand as the 3D view draws it: wrist at the origin, upright, mirrored like the video. */
function liveView(positions: Float32Array): Float32Array {
  const out = new Float32Array(positions.length);
  for (let k = 0; k < positions.length; k += 3) {
    out[k] = -(positions[k] - positions[0]);
    out[k + 1] = -(positions[k + 1] - positions[1]);
    out[k + 2] = -(positions[k + 2] - positions[2]);
  }
  return out;
}
