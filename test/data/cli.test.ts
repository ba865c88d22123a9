import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, realDataset, scratchDir } from './helpers.js';

function skelprune(...args: string[]) {
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/skelprune.js'), ...args], {
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('skelprune data inspect', () => {
  it('prints the overview, class table, protocols and issues of the synthetic dataset', () => {
    const { status, stdout } = skelprune('data', 'inspect', '--dataset', 'synthetic', '--seed', '2');
    assert.equal(status, 0);
    assert.match(stdout, /^Synthetic motions \(seed 2\) \[synthetic\] from seed 2\n/);
    assert.match(stdout, /\n {2}sequences {4}320 in 8 classes, 4 subjects\n/);
    assert.match(stdout, /\n {2}id {2}class {13}sequences {2}subject1 {2}subject2 {2}subject3 {2}subject4\n/);
    assert.match(stdout, /\n {3}7 {2}motion4-reversed {9}40 {8}10 {8}10 {8}10 {8}10\n/);
    assert.match(stdout, /\n {2}cross-subject {2}subject1 {14}240/);
    assert.match(stdout, /\nIssues: none\n$/);
  });

  it('documents every option with its default', () => {
    const { status, stdout } = skelprune('data', 'inspect', '--help');
    assert.equal(status, 0);
    const help = stdout.replace(/\s+/g, ' ');
    assert.match(
      help,
      /--dataset <kind> dataset format \(required\) \(choices: "sbu", "fpha", "generic", "synthetic"\)/,
    );
    assert.match(help, /--path <dir> dataset folder; required for sbu, fpha and generic \(no default\)/);
    assert.match(help, /--seed <n> synthetic only: generator seed \(default: 1\)/);
    assert.match(help, /--units <units> .* \(choices: "mm", "normalized", default: "mm"\)/);
  });

  it('reports bad input as one line without a stack trace', () => {
    const missing = skelprune('data', 'inspect', '--dataset', 'fpha', '--path', '/nonexistent/FPHA');
    assert.equal(missing.status, 1);
    assert.equal(
      missing.stderr,
      'skelprune: /nonexistent/FPHA: no such directory (expected data_split_action_recognition.txt and Hand_pose_annotation_v1/)\n',
    );
    const noPath = skelprune('data', 'inspect', '--dataset', 'sbu');
    assert.equal(noPath.stderr, "skelprune: dataset 'sbu' needs a path to its folder\n");
    const dir = scratchDir('cli-generic');
    writeFileSync(
      join(dir, 'skeleton.json'),
      JSON.stringify({ name: 'x', jointNames: ['a'], bones: [], classNames: ['c'] }),
    );
    writeFileSync(join(dir, 'sequences.jsonl'), '{"id":"s","label":0,"subject":"p","frames":[[[1,2]]]}\n');
    const bad = skelprune('data', 'inspect', '--dataset', 'generic', '--path', dir);
    assert.equal(bad.status, 1);
    assert.equal(
      bad.stderr,
      `skelprune: ${join(dir, 'sequences.jsonl')}:1: frames[0][0]: expected 3 coordinates [x, y, z] (or null for a missing joint), found 2\n`,
    );
  });

  const fpha = realDataset('FPHA');
  it('lists the three skipped FPHA files, the copies, the 1:1 leak and frame counts', {
    skip: fpha.skip,
  }, () => {
    const { status, stdout } = skelprune('data', 'inspect', '--dataset', 'fpha', '--path', fpha.path);
    assert.equal(status, 0);
    assert.match(stdout, /\n {2}1:1 +1:1 +600 +52,324 +575 +53,135\n/);
    assert.match(
      stdout,
      /\nIssues \(10\)\n.*Subject_2\/close_milk\/4\/skeleton\.txt: empty file, not in the split: skipped\n/,
    );
    assert.match(stdout, /LEAK: protocol '1:1' fold '1:1' tests 3 sequence\(s\) whose identical copies/);
  });
});
