/**
 * A real exported model for the tests of the deployment path (runtime API, browsers, the examples):
 * the GCN trained briefly on the synthetic dataset with the CLI, CTF-pruned to 90% and exported to
 * `.skp`, in about 5 s. It classifies every held-out sequence correctly.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { SkeletonSequence } from '@skelprune/runtime';
import { generateSynthetic, SYNTHETIC_PROTOCOL } from '../../src/data/synthetic.js';
import { projectRoot } from '../helpers.js';

export const cli = join(projectRoot, 'bin/skelprune.js');

const SEQUENCES_PER_CLASS = 12;
const DATA = ['--dataset', 'synthetic', '--set', `synthetic.sequencesPerClass=${SEQUENCES_PER_CLASS}`];

export function skelprune(cwd: string, ...args: string[]): string {
  const run = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  assert.equal(run.status, 0, `skelprune ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

/** Trains, prunes and exports into `dir`; returns the paths of the pruned checkpoint and its `.skp`. */
export function exportSyntheticModel(dir: string): { checkpoint: string; model: string } {
  skelprune(dir, 'train', ...DATA, '--fold', '1', '--epochs', '12', '--out', 'train');
  const prune = ['--method', 'ctf', '--rate', '0.9', '--prune-epochs', '15', '--finetune-epochs', '15'];
  skelprune(dir, 'prune', ...DATA, ...prune, '--from', 'train/fold-1/model.ckpt', '--out', 'prune');
  skelprune(dir, 'export', '--model', 'prune/model.ckpt', '--out', 'model.skp');
  return { checkpoint: join(dir, 'prune/model.ckpt'), model: join(dir, 'model.skp') };
}

/** The synthetic sequences the model was tested on (fold 1's held-out subject), with the class names. */
export function heldOutSequences(): { sequences: SkeletonSequence[]; classNames: string[] } {
  const dataset = generateSynthetic({ sequencesPerClass: SEQUENCES_PER_CLASS });
  const test = new Set(dataset.protocols[SYNTHETIC_PROTOCOL][0].test);
  return {
    sequences: dataset.sequences.filter((s) => test.has(s.id)),
    classNames: [...dataset.classNames],
  };
}

/** A sequence as an app holds it: frames × joints × [x, y, z] (one person). */
export function nestedFrames(sequence: SkeletonSequence): number[][][] {
  const { frames, joints, positions } = sequence;
  return Array.from({ length: frames }, (_, f) =>
    Array.from({ length: joints }, (_, j) =>
      Array.from(positions.subarray((f * joints + j) * 3, (f * joints + j + 1) * 3)),
    ),
  );
}
