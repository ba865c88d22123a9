/**
 * Progress of long work: one bar per running job on a terminal (cli-progress), one plain line per
 * update otherwise (logs and CI), throttled.
 */
import { MultiBar, type SingleBar } from 'cli-progress';

export interface ProgressFields {
  /** Short status after the bar, e.g. "epoch 12/120 · loss 0.82 · val 71.2%". */
  status: string;
}

export interface ProgressTask {
  /** Fraction done in [0, 1]. */
  update(fraction: number, fields: ProgressFields): void;
  done(status: string): void;
}

export interface Progress {
  task(label: string): ProgressTask;
  /** Prints a line above the bars. */
  log(line: string): void;
  stop(): void;
}

const SCALE = 1000;
const PLAIN_INTERVAL_MS = 10_000;

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  return stream.isTTY ? terminalProgress(stream) : plainProgress(stream);
}

function terminalProgress(stream: NodeJS.WriteStream): Progress {
  const bars = new MultiBar(
    {
      stream,
      format: '{label} |{bar}| {percentage}% · {status} · ETA {eta_formatted}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 5,
    },
    { barCompleteChar: '█', barIncompleteChar: '░', format: '' },
  );
  return {
    task(label) {
      const bar: SingleBar = bars.create(SCALE, 0, { label, status: 'starting' });
      return {
        update: (fraction, fields) => bar.update(Math.round(fraction * SCALE), { ...fields }),
        done: (status) => {
          bar.update(SCALE, { status });
          bar.stop();
        },
      };
    },
    log: (line) => bars.log(`${line}\n`),
    stop: () => bars.stop(),
  };
}

function plainProgress(stream: NodeJS.WriteStream): Progress {
  return {
    task(label) {
      let last = 0;
      // From the task's first update, not its creation: a task may wait for others (a control run
      // after its pruned run), and that wait is no measure of its own pace.
      let started: number | null = null;
      return {
        update(fraction, { status }) {
          const now = performance.now();
          started ??= now;
          if (now - last < PLAIN_INTERVAL_MS || fraction < 0.01) return;
          last = now;
          const elapsed = (now - started) / 1000;
          const eta = fraction > 0 ? formatDuration((elapsed * (1 - fraction)) / fraction) : '?';
          stream.write(`${label}: ${(100 * fraction).toFixed(0)}% · ${status} · ETA ${eta}\n`);
        },
        done: (status) => stream.write(`${label}: done · ${status}\n`),
      };
    },
    log: (line) => stream.write(`${line}\n`),
    stop: () => {},
  };
}

export function formatDuration(seconds: number): string {
  // Round once, up front: rounding the remainder alone printed 179.6 s as "2m60s".
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
