/**
 * Runs fuzz cases in worker threads: a per-case time limit (a case past it is a hang: its worker is
 * terminated and replaced), a heap limit per worker (`resourceLimits`) and a bound on the process's
 * resident memory sampled while cases run. Cases are a pure function of (master seed, index), so any
 * case replays alone: `npm run fuzz -- --seed S --case I`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildBases } from './bases.js';
import {
  type CaseResult,
  CaseRunner,
  FAILURES,
  isFailure,
  KINDS,
  type Kind,
  kindOf,
  OUTCOMES,
  type Outcome,
} from './cases.js';
import { caseSeed } from './random.js';

export interface FuzzOptions {
  /** The master seed (printed; `SKELPRUNE_FUZZ_SEED` in the suite and the long run). */
  seed: number;
  /** Cases 0 … count − 1, unless `indices` lists them. */
  count: number;
  indices?: readonly number[];
  /** Worker threads (default 2, this machine's cores). */
  workers?: number;
  /** Per-case time limit (default 10 s; the slowest valid case, a 7 MB JSON array, takes about 3 s). */
  timeoutMs?: number;
  /** Heap limit per worker and bound on the growth of the process's RSS (default 512 MB). */
  memoryMb?: number;
  /** Called with every result as it comes. */
  onResult?: (result: CaseResult) => void;
}

export interface FuzzReport {
  seed: number;
  results: CaseResult[];
  /** kind → outcome → count. */
  counts: Record<Kind, Record<Outcome, number>>;
  failures: CaseResult[];
  seconds: number;
  /** Largest RSS growth over the start seen while cases ran, MB (both workers' heaps and caches). */
  peakRssMb: number;
}

const WORKER = new URL('./worker.js', import.meta.url);
const MB = 1024 * 1024;

/** The master seed: `SKELPRUNE_FUZZ_SEED` or the given default. */
export function masterSeed(fallback: number): number {
  const env = process.env.SKELPRUNE_FUZZ_SEED;
  if (env === undefined || env === '') return fallback;
  const seed = Number(env);
  if (!Number.isSafeInteger(seed)) throw new Error(`SKELPRUNE_FUZZ_SEED must be an integer, got ${env}`);
  return seed;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  index?: number;
  timer?: NodeJS.Timeout;
  overMemory?: number;
  /** The process's RSS when the current case was sent. */
  rssAtStart?: number;
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const { seed, workers = 2, timeoutMs = 10_000, memoryMb = 512 } = options;
  const indices = options.indices ?? Array.from({ length: options.count }, (_, i) => i);
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'skelprune-fuzz-'));
  const baseDir = join(dir, 'base');
  await buildBases(baseDir);
  const planner = new CaseRunner(baseDir, join(dir, 'unused'), seed);
  const results: CaseResult[] = [];
  const startRss = process.memoryUsage.rss();
  let peakRss = startRss;
  let next = 0;
  let workerCount = 0;
  const slots: Slot[] = [];
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let pending = indices.length;

  /** A result for a case whose worker could not report one (hang, out of memory, crash). */
  const synthetic = (index: number, outcome: Outcome, message: string, ms: number): CaseResult => {
    const { kind, file, mutation } = planner.plan(index);
    return {
      index,
      seed: caseSeed(seed, index),
      kind,
      file,
      mutation: mutation.name,
      detail: mutation.detail,
      outcome,
      message,
      ms,
    };
  };

  const record = (slot: Slot, result: CaseResult) => {
    clearTimeout(slot.timer);
    slot.index = undefined;
    if (slot.overMemory !== undefined && !isFailure(result.outcome)) {
      result = {
        ...result,
        outcome: 'memory',
        message: `process RSS grew by ${slot.overMemory} MB (bound ${memoryMb} MB) during the case; it ended as ${result.outcome}`,
      };
    }
    slot.overMemory = undefined;
    results.push(result);
    options.onResult?.(result);
    if (--pending === 0) finish();
  };

  const dispatch = async (slot: Slot) => {
    try {
      await slot.ready;
    } catch (error) {
      throw new Error(`a fuzz worker failed to start: ${(error as Error).stack}`);
    }
    if (next >= indices.length) return;
    const index = indices[next++];
    slot.index = index;
    slot.timer = setTimeout(() => {
      record(slot, synthetic(index, 'hang', `no result after ${timeoutMs} ms; worker terminated`, timeoutMs));
      replace(slot);
    }, timeoutMs);
    slot.rssAtStart = process.memoryUsage.rss();
    slot.worker.postMessage({ index });
  };

  const spawn = (slot: Partial<Slot>): Slot => {
    const worker = new Worker(WORKER, {
      workerData: { baseDir, workDir: join(dir, `work-${workerCount++}`), masterSeed: seed },
      resourceLimits: { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 1 },
      stdout: true,
      stderr: true,
    });
    const s = slot as Slot;
    s.worker = worker;
    s.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: { type: string }) => {
        if (m.type === 'ready') {
          worker.off('message', onMessage);
          resolve();
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
    s.ready.catch(() => {});
    worker.on('message', (m: { type: string; result?: CaseResult; index?: number; message?: string }) => {
      if (m.type === 'result' && m.result && s.worker === worker && s.index === m.result.index) {
        record(s, m.result);
        void dispatch(s);
      } else if (
        (m.type === 'broken' || m.type === 'stray') &&
        s.worker === worker &&
        s.index !== undefined
      ) {
        const index = s.index;
        record(s, synthetic(index, 'crash', `${m.type}: ${m.message}`, 0));
        replace(s);
      }
    });
    worker.on('error', (error: Error & { code?: string }) => {
      if (s.worker !== worker || s.index === undefined) return;
      const index = s.index;
      const outcome: Outcome = error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : 'crash';
      record(s, synthetic(index, outcome, `worker died: ${error.code ?? ''} ${error.message}`, 0));
      replace(s);
    });
    worker.on('exit', (code) => {
      if (s.worker !== worker || s.index === undefined) return;
      const index = s.index;
      record(s, synthetic(index, 'crash', `worker exited with code ${code}`, 0));
      replace(s);
    });
    return s;
  };

  const replace = (slot: Slot) => {
    const old = slot.worker;
    spawn(slot);
    void old.terminate();
    void dispatch(slot);
  };

  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss();
    peakRss = Math.max(peakRss, rss);
    for (const slot of slots) {
      if (slot.index === undefined || slot.rssAtStart === undefined) continue;
      const growth = Math.round((rss - slot.rssAtStart) / MB);
      if (growth > memoryMb) slot.overMemory = Math.max(slot.overMemory ?? 0, growth);
    }
  }, 10);

  try {
    if (pending === 0) finish();
    for (let i = 0; i < Math.min(workers, indices.length); i++) slots.push(spawn({}));
    // A worker that fails to start is a bug of the harness or the bases, not a finding.
    await Promise.all(slots.map((s) => s.ready));
    for (const slot of slots) void dispatch(slot);
    await done;
  } finally {
    clearInterval(sampler);
    await Promise.all(slots.map((s) => s.worker.terminate()));
    rmSync(dir, { recursive: true, force: true });
  }

  results.sort((a, b) => a.index - b.index);
  const counts = Object.fromEntries(
    KINDS.map((k) => [k, Object.fromEntries([...OUTCOMES, ...FAILURES].map((o) => [o, 0]))]),
  ) as Record<Kind, Record<Outcome, number>>;
  for (const r of results) counts[r.kind][r.outcome]++;
  return {
    seed,
    results,
    counts,
    failures: results.filter((r) => isFailure(r.outcome)),
    seconds: (performance.now() - started) / 1000,
    peakRssMb: Math.round((peakRss - startRss) / MB),
  };
}

/** The counts by input kind × outcome as a Markdown table (outcomes that never occurred left out). */
export function countsTable(report: FuzzReport): string {
  const outcomes = [...OUTCOMES, ...FAILURES].filter((o) => KINDS.some((k) => report.counts[k][o] > 0));
  const header = ['kind', ...outcomes.map((o) => (isFailure(o) ? `FAIL ${o}` : o)), 'total'];
  const rows = KINDS.map((k) => {
    const row = outcomes.map((o) => report.counts[k][o]);
    return [k, ...row.map(String), String(row.reduce((a, b) => a + b, 0))];
  });
  const totals = outcomes.map((o) => KINDS.reduce((s, k) => s + report.counts[k][o], 0));
  rows.push(['all', ...totals.map(String), String(totals.reduce((a, b) => a + b, 0))]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A failure's class: kind, mutation, outcome and the message with numbers and paths blurred. */
export function failureClass(r: CaseResult): string {
  const message = r.message
    .replace(/\/[^\s:'",)]+/g, '<path>')
    .replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/gi, 'N')
    .slice(0, 160);
  return `${r.kind} · ${r.mutation} · ${r.outcome} · ${message}${r.where ? ` @ ${r.where.split(' ← ')[0]}` : ''}`;
}

/** One line per failure, enough to replay it. */
export function describeFailure(r: CaseResult, master: number): string {
  return `[--seed ${master} --case ${r.index}] ${r.kind} ${r.file}: ${r.mutation} [${r.detail}] → ${r.outcome}: ${r.message}${r.where ? ` @ ${r.where}` : ''}`;
}

/** Failures grouped by class, most frequent first, each with its first case. */
export function failureClasses(report: FuzzReport): { cls: string; count: number; first: CaseResult }[] {
  const groups = new Map<string, { cls: string; count: number; first: CaseResult }>();
  for (const r of report.failures) {
    const cls = failureClass(r);
    const g = groups.get(cls);
    if (g) g.count++;
    else groups.set(cls, { cls, count: 1, first: r });
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

export { kindOf };
