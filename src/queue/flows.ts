/**
 * A sweep's cells as BullMQ jobs and flows. A job's id is its cell's id (a hash of its arguments), so
 * adding a cell that is already queued, running or done adds nothing. A cell that others start from
 * (a dense fold, the first pruning seed of fold 1) is the child of a gate job in a BullMQ flow: the
 * gate runs once the cell is done and adds the flows of its dependants. BullMQ flows are trees (a job
 * has one parent) while a dense fold has many dependants, hence the gate rather than one tree.
 */
import type { FlowJob, JobsOptions } from 'bullmq';
import type { SweepCell } from '../report/sweep.js';
import { QUEUE_NAME } from './connection.js';
import { gateId, type SweepPlace } from './sweeps.js';

/** The data of a cell's job: the cell, and where its sweep reads and writes. */
export interface CellJobData {
  sweep: SweepPlace;
  cell: SweepCell;
}

/** The data of a gate: the cell it waits for and the flows it adds once that cell is done. */
export interface GateJobData {
  sweep: SweepPlace;
  /** The cell's id and label. */
  after: string;
  label: string;
  release: FlowJob[];
}

/** The job name of gates (cells' jobs are named by their kind). */
export const GATE = 'gate';

/** How failed jobs are retried. */
export interface RetryPolicy {
  /** Tries per job before it is marked failed (≥ 1). */
  attempts: number;
  /** Seconds before the first retry; each later one waits twice as long as the one before. */
  delay: number;
}

const jobOptions = (jobId: string, retry: RetryPolicy): JobsOptions => ({
  jobId,
  attempts: retry.attempts,
  backoff: { type: 'exponential', delay: retry.delay * 1000 },
});

/**
 * The flow that adds a cell: its job alone, or, when other cells start from it, a gate with its job as
 * the child and its dependants' flows as the gate's data.
 */
export function cellFlow(
  cell: SweepCell,
  sweep: SweepPlace,
  dependants: ReadonlyMap<string, readonly SweepCell[]>,
  retry: RetryPolicy,
): FlowJob {
  const data: CellJobData = { sweep, cell };
  const job: FlowJob = { name: cell.kind, queueName: QUEUE_NAME, data, opts: jobOptions(cell.id, retry) };
  const next = dependants.get(cell.id) ?? [];
  if (next.length === 0) return job;
  const gate: GateJobData = {
    sweep,
    after: cell.id,
    label: cell.label,
    release: next.map((c) => cellFlow(c, sweep, dependants, retry)),
  };
  return {
    name: GATE,
    queueName: QUEUE_NAME,
    data: gate,
    opts: jobOptions(gateId(cell.id), retry),
    children: [job],
  };
}

/** Each cell's dependants: the cells whose `after` it is. */
export function dependantsOf(cells: readonly SweepCell[]): Map<string, SweepCell[]> {
  const map = new Map<string, SweepCell[]>();
  for (const cell of cells) {
    if (cell.after !== null) map.set(cell.after, [...(map.get(cell.after) ?? []), cell]);
  }
  return map;
}
