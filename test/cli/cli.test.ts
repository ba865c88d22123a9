/**
 * The CLI never loses a user's file and answers every wrong invocation with one line: a table of
 * wrong invocations run in a scratch folder, each checked for its exit code, a single `skelprune:`
 * line on stderr naming what is wrong, and a scratch folder left exactly as it was; then the
 * regressions behind them (demo's output folder, file-system errors in the API, folder creation).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { prepareOutput } from '../../src/cli/commands/demo.js';
import { evaluate, exportModel, loadModel, SkelpruneError, train } from '../../src/index.js';
import { makeDirectory } from '../../src/util/directory.js';
import { projectRoot } from '../helpers.js';

const cli = join(projectRoot, 'bin/skelprune.js');
const linux = process.platform === 'linux';

/** A tiny synthetic run: 4 classes, so the checkpoint needs `--set synthetic.classes=4` to evaluate. */
const SYNTHETIC = ['synthetic.sequencesPerClass=4', 'synthetic.classes=4'];
const tiny = {
  dataset: 'synthetic',
  fold: 1,
  epochs: 1,
  synthetic: { sequencesPerClass: 4, classes: 4 },
  model: { heads: 2, headDim: 4, encodingChannels: 8, convChannels: 8, fcUnits: 16 },
} as const;

// Paths relative to the scratch folder the commands run in.
const CKPT = 'run/fold-1/model.ckpt';
const SKP = 'model.skp';
const FILE = 'notes.txt';
const FOLDER = 'keep';

/** Every file and folder under `dir` with its size and modification time. */
function snapshot(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    const name = `${prefix}${entry.name}`;
    if (entry.isDirectory()) return [`${name}/`, ...snapshot(path, `${name}/`)];
    const { size, mtimeMs } = statSync(path);
    return [`${name} ${size} ${mtimeMs}`];
  });
}

function skelprune(cwd: string, args: readonly string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A wrong invocation and what its one line of stderr must say. */
type Case = [args: string[], message: RegExp];

const CASES: Case[] = [
  // Missing required flags and arguments, unknown flags and commands, bad choices.
  [['train'], /^no dataset: pass --dataset/],
  [['train', '--bogus'], /^unknown option '--bogus'/],
  [['trian'], /^unknown command 'trian' \(Did you mean train\?\)/],
  [['eval', '--dataset', 'synthetic'], /required option '--model <checkpoint>' not specified/],
  [['export', '--model', CKPT], /required option '--out <file>' not specified/],
  [['predict', '--model', SKP], /required option '--input <path>' not specified/],
  [['bench'], /required option '--model <file>' not specified/],
  [['serve', '--dense', SKP], /--dense needs --model/],
  [['combine', '--out', 'c'], /missing required argument 'dirs'/],
  [['data', 'inspect'], /required option '--dataset <kind>' not specified/],
  [['reproduce'], /^--dataset is required \(or --quick\)$/],
  [['prune', '--method', 'ctf', '--rate', '0.5'], /dataset/],
  [['train', '--dataset', 'nope'], /argument 'nope' is invalid\. Allowed choices are/],
  [['prune', '--dataset', 'synthetic', '--method', 'nope', '--rate', '0.5'], /argument 'nope' is invalid/],
  // Wrong types and out-of-range numbers: the text typed is echoed.
  [['train', '--dataset', 'synthetic', '--epochs', 'abc'], /'--epochs <n>' argument 'abc'.*found 'abc'/],
  [['train', '--dataset', 'synthetic', '--lr', '1e9999'], /'--lr <n>' argument '1e9999'/],
  [['train', '--dataset', 'synthetic', '--epochs', '0'], /epochs: .*\(found 0\)/],
  [['train', '--dataset', 'synthetic', '--epochs', '2.5'], /epochs: .*\(found 2\.5\)/],
  [['train', '--dataset', 'synthetic', '--batch-size', '-3'], /batchSize: .*\(found -3\)/],
  [['train', '--dataset', 'synthetic', '--jobs', '0'], /jobs: .*\(found 0\)/],
  [['train', '--dataset', 'synthetic', '--fold', 'abc'], /'--fold <k>' argument 'abc'.*found 'abc'/],
  [['train', '--dataset', 'synthetic', '--fold', '0'], /'--fold <k>' argument '0'/],
  [['train', '--dataset', 'synthetic', '--fold', '9'], /^--fold 9: protocol 'cross-subject' has 4 fold/],
  [['train', '--dataset', 'synthetic', '--protocol', 'nope'], /no protocol 'nope'/],
  [['train', '--dataset', 'synthetic', '--set', 'novalue'], /^--set expects key=value, got 'novalue'/],
  [['train', '--dataset', 'synthetic', '--set', 'nope=1'], /Unrecognized key: "nope"/],
  [['train', '--dataset', 'synthetic', '--config', 'nope.json'], /nope\.json/],
  [['train', '--dataset', 'synthetic', '--config', FOLDER], /keep/],
  [['prune', '--dataset', 'synthetic', '--method', 'ctf', '--rate', 'abc'], /'--rate <r>' argument 'abc'/],
  [['prune', '--dataset', 'synthetic', '--method', 'ctf', '--rate', '1.5'], /rate: .*\(found 1\.5\)/],
  [['prune', '--dataset', 'synthetic', '--method', 'ctf', '--rate', '0.5', '--jobs', 'x'], /'--jobs <n>'/],
  [['eval', '--model', CKPT, '--dataset', 'synthetic', '--fold', 'abc'], /'--fold <k>' argument 'abc'/],
  [['export', '--model', CKPT, '--out', 'x.skp', '--batch', '0'], /'--batch <n>' argument '0'/],
  [['predict', '--model', SKP, '--input', FILE, '--top', '-1'], /'--top <k>' argument '-1'/],
  [['bench', '--model', SKP, '--repeats', 'many'], /'--repeats <n>' argument 'many'/],
  [['serve', '--model', SKP, '--port', '70000'], /--port expects a port number .*found '70000'/],
  [['serve', '--model', SKP, '--port', 'abc'], /--port expects a port number .*found 'abc'/],
  [['reproduce', '--dataset', 'synthetic', '--jobs', '0'], /'--jobs <n>' argument '0'/],
  [['reproduce', '--dataset', 'synthetic', '--seed', 'abc'], /'--seed <n>' argument 'abc'/],
  [['reproduce', '--dataset', 'synthetic', '--rates', '0.5,abc'], /found '0\.5,abc'/],
  [['reproduce', '--dataset', 'synthetic', '--prune-seeds', '0'], /'--prune-seeds <n>' argument '0'/],
  [['reproduce', '--dataset', 'synthetic', '--speed-repeats', 'x'], /'--speed-repeats <n>' argument 'x'/],
  [['data', 'inspect', '--dataset', 'synthetic', '--seed', 'x'], /'--seed <n>' argument 'x'/],
  [['demo', '--seed', 'abc'], /'--seed <n>' argument 'abc'/],
  [['demo', '--seed', '-1'], /'--seed <n>' argument '-1'/],
  // Empty strings are refused, never taken for the current folder.
  [['train', '--dataset', 'synthetic', '--out', ''], /^--out needs a value: found an empty string$/],
  [['export', '--model', '', '--out', 'x.skp'], /^--model needs a value/],
  [['eval', '--model', CKPT, '--dataset', 'generic', '--path', ''], /^--path needs a value/],
  [['combine', '', 'x', '--out', 'c'], /^an argument is an empty string$/],
  // Missing files, folders for files and files for folders: one line naming the path.
  [
    ['eval', '--model', 'nope.ckpt', '--dataset', 'synthetic'],
    /^--model nope\.ckpt: no such file; pass a checkpoint/,
  ],
  [
    ['eval', '--model', 'run', '--dataset', 'synthetic'],
    /^--model run is a folder; pass the checkpoint inside it, e\.g\. run\/fold-1\/model\.ckpt$/,
  ],
  [['export', '--model', 'nope.ckpt', '--out', 'x.skp'], /^--model nope\.ckpt: no such file/],
  [['export', '--model', 'run', '--out', 'x.skp'], /^--model run is a folder/],
  [['model', 'summary', '--model', 'nope.ckpt'], /^--model nope\.ckpt: no such file/],
  [['model', 'summary', '--model', 'run'], /^--model run is a folder/],
  [
    ['export', '--model', CKPT, '--out', FOLDER],
    /^--out keep is a folder; pass a file name, e\.g\. keep\/model\.skp$/,
  ],
  [['export', '--model', CKPT, '--out', 'x.skp', '--onnx', FOLDER], /^--onnx keep is a folder/],
  // The .skp is not written either when the ONNX destination fails (both or neither).
  [
    ['export', '--model', CKPT, '--out', 'x.skp', '--onnx', `${FILE}/x.onnx`],
    /x\.onnx: a part of this path is a file/,
  ],
  [
    ['export', '--model', CKPT, '--out', `${FILE}/x.skp`],
    /^notes\.txt\/x\.skp: a part of this path is a file/,
  ],
  [['train', '--dataset', 'synthetic', '--out', FILE], /^--out notes\.txt is a file, not a folder/],
  [
    ['train', '--dataset', 'synthetic', '--out', `${FILE}/run`],
    /^notes\.txt\/run: a part of this path is a file/,
  ],
  [
    ['prune', '--dataset', 'synthetic', '--method', 'ctf', '--rate', '0.5', '--out', FILE],
    /^--out notes\.txt is a file/,
  ],
  [
    ['prune', '--dataset', 'synthetic', '--method', 'ctf', '--rate', '0.5', '--from', 'nope'],
    /^--from nope: no such file/,
  ],
  [['reproduce', '--dataset', 'synthetic', '--out', FILE], /^--out notes\.txt is a file/],
  [['combine', 'nope1', 'nope2', '--out', 'c'], /nope1\/results\.json/],
  [['predict', '--model', FOLDER, '--input', FILE], /keep/],
  [['predict', '--model', SKP, '--input', 'nope'], /^nope: /],
  [['bench', '--model', 'nope.skp', '--no-onnx'], /nope\.skp/],
  [['serve', '--model', FOLDER], /^cannot read model file keep: a folder, not a file/],
  [
    ['serve', '--model', SKP, '--host', '192.0.2.1', '--port', '0'],
    /^--host 192\.0\.2\.1 is not an address of this machine/,
  ],
  // Synthetic data is generated: a --path would be silently ignored.
  [['train', '--dataset', 'synthetic', '--path', FOLDER], /^--path keep: synthetic data is generated/],
  [
    ['data', 'inspect', '--dataset', 'synthetic', '--path', FOLDER],
    /^--path keep: synthetic data is generated/,
  ],
  // eval: 1-based folds, and the settings the checkpoint was trained with.
  [
    ['eval', '--model', CKPT, '--dataset', 'synthetic', '--set', ...SYNTHETIC, '--fold', '9'],
    /^--fold 9: protocol 'cross-subject' of synthetic has 4 fold\(s\): 1 'subject1', 2 'subject2', 3 'subject3', 4 'subject4'$/,
  ],
  [
    ['eval', '--model', CKPT, '--dataset', 'synthetic', '--set', ...SYNTHETIC, '--protocol', 'x'],
    /^--protocol x: synthetic has no such protocol/,
  ],
  [
    ['eval', '--model', CKPT, '--dataset', 'synthetic'],
    /expects 20 joints and 4 classes; synthetic has 20 joints and 8 classes/,
  ],
  // demo refuses any folder it did not write, before deleting anything.
  [['demo', '--out', FOLDER], /^--out keep is not empty and holds no earlier demo/],
  [['demo', '--out', '.'], /^--out \. is not empty and holds no earlier demo/],
  [['demo', '--out', FILE], /^--out notes\.txt is a file/],
  // Locations that refuse new folders fail at once (Node's recursive mkdir spins there forever).
  ...(linux
    ? ([
        [
          ['train', '--dataset', 'synthetic', '--out', '/proc/skelprune-test/run'],
          /^\/proc\/skelprune-test: cannot create a folder here/,
        ],
        [
          [
            'prune',
            '--dataset',
            'synthetic',
            '--method',
            'ctf',
            '--rate',
            '0.5',
            '--out',
            '/proc/skelprune-test',
          ],
          /cannot create a folder here/,
        ],
        [
          ['export', '--model', CKPT, '--out', '/proc/skelprune-test/x.skp'],
          /^\/proc\/skelprune-test: cannot create a folder here/,
        ],
        [
          ['export', '--model', CKPT, '--out', '/proc/skelprune-test.skp'],
          /^\/proc\/skelprune-test\.skp: no such file or directory/,
        ],
      ] satisfies Case[])
    : []),
];

describe('skelprune CLI: wrong invocations', () => {
  let scratch: string;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'skelprune-cli-'));
    writeFileSync(join(scratch, FILE), 'a file of the user\n');
    mkdirSync(join(scratch, FOLDER));
    writeFileSync(join(scratch, FOLDER, 'important.txt'), 'keep me\n');
    await train({ ...tiny, out: join(scratch, 'run') });
    await exportModel({ model: join(scratch, CKPT), out: join(scratch, SKP) });
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it(`answers each of ${CASES.length} with one line, exit code 1, and changes no file`, () => {
    assert.ok(CASES.length >= 40);
    const failures: string[] = [];
    for (const [args, message] of CASES) {
      const before = snapshot(scratch);
      const { status, stderr } = skelprune(scratch, args);
      const lines = stderr.split('\n').filter((line) => line !== '');
      const line = lines[0] ?? '';
      const problems = [
        status === 1 ? '' : `exit code ${status}`,
        lines.length === 1 ? '' : `${lines.length} lines on stderr`,
        line.startsWith('skelprune: ') ? '' : 'no skelprune: prefix',
        /internal error|\n\s+at /.test(stderr) ? 'a stack trace' : '',
        message.test(line.slice('skelprune: '.length)) ? '' : `not ${message}`,
        JSON.stringify(snapshot(scratch)) === JSON.stringify(before) ? '' : 'files changed',
      ].filter(Boolean);
      if (problems.length > 0)
        failures.push(`skelprune ${args.join(' ')}: ${problems.join(', ')}\n  ${stderr}`);
    }
    assert.deepEqual(failures, []);
    assert.equal(readFileSync(join(scratch, FOLDER, 'important.txt'), 'utf8'), 'keep me\n');
  });

  it('evaluates a checkpoint trained with --set when given the same --set, or the run config', () => {
    const set = skelprune(scratch, [
      'eval',
      '--model',
      CKPT,
      '--dataset',
      'synthetic',
      '--set',
      ...SYNTHETIC,
    ]);
    assert.equal(set.status, 0, set.stderr);
    assert.match(set.stdout, /protocol cross-subject, fold 1 \(subject1\), test part: 4 sequences/);
    const config = skelprune(scratch, [
      'eval',
      '--model',
      CKPT,
      '--config',
      'run/config.json',
      '--fold',
      '2',
    ]);
    assert.equal(config.status, 0, config.stderr);
    assert.match(config.stdout, /fold 2 \(subject2\), test part: 4 sequences/);
  });
});

describe('demo output folder', () => {
  it('takes a new or empty folder, marks it, and on a rerun replaces only what the demo wrote', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skelprune-demo-'));
    try {
      const out = join(dir, 'demo');
      await prepareOutput(out);
      assert.deepEqual(readdirSync(out), ['.skelprune-demo']);
      mkdirSync(join(out, 'dense'));
      writeFileSync(join(out, 'dense', 'config.json'), '{}');
      writeFileSync(join(out, 'pruned.skp'), 'model');
      writeFileSync(join(out, 'mine.txt'), 'the user put this here');
      await prepareOutput(out);
      assert.deepEqual(readdirSync(out).sort(), ['.skelprune-demo', 'mine.txt']);
      const empty = join(dir, 'empty');
      mkdirSync(empty);
      await prepareOutput(empty);
      assert.ok(existsSync(join(empty, '.skelprune-demo')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a folder it did not write, deleting nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skelprune-demo-'));
    try {
      writeFileSync(join(dir, 'important.txt'), 'keep');
      mkdirSync(join(dir, 'dense'));
      await assert.rejects(prepareOutput(dir), SkelpruneError);
      assert.deepEqual(readdirSync(dir).sort(), ['dense', 'important.txt']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('file-system errors in the API', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skelprune-fs-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('are SkelpruneErrors naming the path', async () => {
    const missing = join(dir, 'missing.ckpt');
    await assert.rejects(evaluate({ model: missing, dataset: 'synthetic' }), (error: unknown) => {
      assert.ok(error instanceof SkelpruneError);
      assert.equal(error.message.split('\n').length, 1);
      assert.ok(error.message.includes(missing), error.message);
      return true;
    });
    await assert.rejects(loadModel(dir), /is a folder; pass the checkpoint inside it/);
    const file = join(dir, 'file.txt');
    writeFileSync(file, 'x');
    await assert.rejects(train({ ...tiny, out: file }), /is a file, not a folder/);
    await assert.rejects(train({ ...tiny, out: join(file, 'run') }), (error: unknown) => {
      assert.ok(error instanceof SkelpruneError);
      assert.match(error.message, /file\.txt\/run: a part of this path is a file/);
      return true;
    });
  });

  it('makeDirectory fails at once where Node’s recursive mkdir spins', {
    skip: !linux && 'needs /proc',
  }, async () => {
    await assert.rejects(makeDirectory('/proc/skelprune-test/a/b'), { code: 'ENOENT' });
    const dangling = join(dir, 'dangling');
    symlinkSync(join(dir, 'nowhere'), dangling);
    await assert.rejects(makeDirectory(join(dangling, 'out')), { code: 'ENOENT' });
    await makeDirectory(join(dir, 'a', 'b', 'c'));
    assert.ok(statSync(join(dir, 'a', 'b', 'c')).isDirectory());
    await assert.rejects(train({ ...tiny, out: '/proc/skelprune-test/run' }), /cannot create a folder here/);
  });
});
