/**
 * Class probabilities over time, as a small strip chart: the last few seconds of predictions of the
 * model the page shows first, one line for each of the classes that were most probable in that span,
 * with a legend in text (names and the latest probabilities) beside it.
 */
import { el } from './dom.js';

const SPAN_MS = 10_000;
const LINES = 4;
const COLOURS = ['#ff7a45', '#1677ff', '#2f9e66', '#b37feb'];

interface Point {
  time: number;
  probabilities: Float32Array;
}

export class StripChart {
  private readonly points: Point[] = [];
  private names: readonly string[] = [];
  private drawQueued = false;
  private readonly context: CanvasRenderingContext2D | null;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly legend: HTMLElement,
  ) {
    this.context = canvas.getContext('2d');
    new ResizeObserver(() => this.queueDraw()).observe(canvas);
  }

  /** Forgets the history (a new sequence, a new model, the camera turned on or off). */
  reset(names: readonly string[]): void {
    this.names = names;
    this.points.length = 0;
    this.queueDraw();
  }

  push(probabilities: Float32Array, time = performance.now()): void {
    this.points.push({ time, probabilities });
    while (this.points.length > 0 && this.points[0].time < time - SPAN_MS) this.points.shift();
    this.queueDraw();
  }

  private queueDraw(): void {
    if (this.drawQueued) return;
    this.drawQueued = true;
    requestAnimationFrame(() => {
      this.drawQueued = false;
      this.draw();
    });
  }

  /** The classes with the highest probability anywhere in the span, most probable first. */
  private shownClasses(): number[] {
    const best = new Float32Array(this.names.length);
    for (const { probabilities } of this.points) {
      for (let c = 0; c < best.length; c++) best[c] = Math.max(best[c], probabilities[c] ?? 0);
    }
    return [...best.keys()].sort((a, b) => best[b] - best[a]).slice(0, Math.min(LINES, best.length));
  }

  private draw(): void {
    const { canvas, context } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(canvas.clientWidth * ratio);
    const height = Math.round(canvas.clientHeight * ratio);
    if (!context || width === 0 || height === 0) return;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    context.clearRect(0, 0, width, height);
    context.strokeStyle = '#e3e6ec';
    context.lineWidth = ratio;
    for (const level of [0, 0.5, 1]) {
      const y = (1 - level) * (height - 2 * ratio) + ratio;
      context.beginPath();
      context.moveTo(0, y);
      context.lineTo(width, y);
      context.stroke();
    }
    const shown = this.points.length > 0 ? this.shownClasses() : [];
    const last = this.points.at(-1);
    const end = last?.time ?? 0;
    const x = (time: number) => width - ((end - time) / SPAN_MS) * width;
    const y = (p: number) => (1 - p) * (height - 2 * ratio) + ratio;
    shown.forEach((c, k) => {
      context.strokeStyle = COLOURS[k];
      context.lineWidth = 2 * ratio;
      context.beginPath();
      this.points.forEach(({ time, probabilities }, i) => {
        if (i === 0) context.moveTo(x(time), y(probabilities[c]));
        else context.lineTo(x(time), y(probabilities[c]));
      });
      context.stroke();
    });
    this.legend.replaceChildren(
      ...shown.map((c, k) =>
        el(
          'li',
          {},
          el('span', { class: 'swatch', style: `background: ${COLOURS[k]}` }),
          `${this.names[c]} ${last ? `${Math.round(last.probabilities[c] * 100)}%` : ''}`,
        ),
      ),
    );
  }
}
