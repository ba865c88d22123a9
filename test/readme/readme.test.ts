/**
 * Every `skelprune ...` line of the README's code blocks runs as written: each flag exists in its
 * command's `--help`, and the whole documented sequence (inspect, train, eval, prune, export, predict,
 * bench, serve, reproduce, combine) runs in order in a temporary folder, so every path one command
 * reads must be one an earlier command wrote.
 *
 * The real datasets are replaced by the synthetic one (see `substitute`):
 * - `--dataset fpha|sbu --path <dir>` → `--dataset synthetic`; FPHA's 1:1 protocol has one fold, so an
 *   FPHA command that takes `--fold` gets `--fold 1` (the synthetic data's first fold plays it); SBU's
 *   five folds are played by the synthetic data's four;
 * - `--input <file of a real dataset>` → the synthetic sequences written in the generic format;
 * - where a command's default output folder is named after the dataset (`train`, `reproduce`) and the
 *   line has no `--out`, the folder the real command would write is passed (`runs/fpha`, ...);
 * - for speed: one training epoch, tiny model and dataset, `reproduce --quick` at one rate, 20 timed
 *   calls in `bench`, and `serve` on a free port, stopped once it answered.
 * Flags the README already gives are never overridden.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeGenericDataset } from '../../src/data/generic.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { projectRoot } from '../helpers.js';

const cli = join(projectRoot, 'bin/skelprune.js');
const work = mkdtempSync(join(tmpdir(), 'skelprune-readme-'));
/** Sequences for `predict --input`, in the generic format (a model trained on synthetic data reads them). */
const sequences = join(work, 'synthetic-generic', 'sequences.jsonl');

interface Documented {
  /** The line as the README writes it (continuations joined, comment dropped). */
  text: string;
  /** Its trailing `# comment`, if any. */
  comment: string;
  /** The arguments after `skelprune`. */
  args: string[];
}

/** The `skelprune ...` lines of the README's fenced code blocks, in order. */
function documentedCommands(readme: string): Documented[] {
  const blocks = [...readme.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((m) => m[1]);
  const lines = blocks.flatMap((block) => block.replace(/\\\n\s*/g, '').split('\n'));
  return lines
    .map((line) => line.trim())
    .filter((line) => line.startsWith('skelprune '))
    .map((line) => {
      const hash = line.search(/\s#\s/);
      const text = (hash < 0 ? line : line.slice(0, hash)).trim();
      assert.doesNotMatch(text, /["'`$]/, `quotes and substitutions are not supported here: ${text}`);
      return { text, comment: hash < 0 ? '' : line.slice(hash + 3).trim(), args: text.split(/\s+/).slice(1) };
    });
}

function skelprune(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cli, ...args], { cwd: work, encoding: 'utf8' });
}

const helps = new Map<string, string>();
/** `skelprune <command> --help`, failing on a command that does not exist. */
function help(command: string[]): string {
  const key = command.join(' ');
  if (!helps.has(key)) {
    const run = skelprune([...command, '--help']);
    assert.equal(run.status, 0, `skelprune ${key} --help: ${run.stderr}`);
    helps.set(key, run.stdout);
  }
  return helps.get(key)!;
}

/** The command words of a line (`data inspect`, `train`, ...): a command with subcommands takes one more. */
function commandOf(args: readonly string[]): string[] {
  return /^Commands:/m.test(help([args[0]])) ? args.slice(0, 2) : args.slice(0, 1);
}

/** The long flags a command's help lists (its own and the global ones). */
function flagsOf(command: string[]): Set<string> {
  return new Set([...help(command).matchAll(/^ {2}(?:-\w, )?(--[a-z][\w-]*)/gm)].map((m) => m[1]));
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

/** The line's arguments with the real data replaced by synthetic data and tiny run lengths added. */
function substitute(args: readonly string[]): string[] {
  const command = commandOf(args);
  const dataset = flagValue(args, '--dataset');
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--path' && (dataset === 'fpha' || dataset === 'sbu')) i++;
    else if (args[i] === '--dataset' && (dataset === 'fpha' || dataset === 'sbu'))
      out.push(args[i++], 'synthetic');
    else if (args[i] === '--input' && args[i + 1].startsWith('/data/')) out.push(args[i++], sequences);
    else out.push(args[i]);
  }
  const unmapped = out.find((arg) => arg.startsWith('/data/'));
  assert.equal(unmapped, undefined, `no synthetic stand-in for ${unmapped} in: skelprune ${args.join(' ')}`);
  const add = (flag: string, ...values: string[]) => {
    if (!args.includes(flag)) out.push(flag, ...values);
  };
  if (dataset === 'fpha' && flagsOf(command).has('--fold')) add('--fold', '1');
  switch (command.join(' ')) {
    case 'train':
      if (dataset) add('--out', join('runs', dataset));
      add('--epochs', '1');
      add('--set', 'synthetic.sequencesPerClass=6', 'model.heads=2', 'model.fcUnits=16');
      break;
    case 'prune':
      add('--prune-epochs', '1');
      add('--finetune-epochs', '1');
      add('--set', 'synthetic.sequencesPerClass=6');
      break;
    case 'bench':
      add('--repeats', '20');
      break;
    case 'serve':
      add('--port', '0');
      break;
    case 'reproduce': {
      if (dataset) add('--out', join('runs', `reproduce-${dataset}`));
      add('--quick');
      add('--rates', '0.9');
      const sizes = ['train.synthetic.sequencesPerClass=6', 'prune.synthetic.sequencesPerClass=6'];
      add('--set', 'train.epochs=1', 'prune.pruneEpochs=1', 'prune.finetuneEpochs=1', ...sizes);
      break;
    }
  }
  return out;
}

/** Starts `skelprune serve`, checks that it serves the page and both models, then stops it. */
async function serveOnce(args: string[]): Promise<void> {
  const server = spawn(process.execPath, [cli, ...args], { cwd: work });
  let output = '';
  const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const read = (chunk: Buffer) => {
        output += chunk;
        const match = output.match(/http:\/\/\S+\//);
        if (match) resolve(match[0]);
      };
      server.stdout.on('data', read);
      server.stderr.on('data', read);
      exited.then((code) => reject(new Error(`skelprune ${args.join(' ')} exited with ${code}: ${output}`)));
    });
    assert.match(await (await fetch(url)).text(), /<title>skelprune/);
    const models = (await (await fetch(new URL('models/index.json', url))).json()) as { name: string }[];
    const files = ['--model', '--dense'].map((flag) => flagValue(args, flag)).filter(Boolean);
    assert.deepEqual(
      models.map((m) => m.name),
      files,
    );
  } finally {
    server.kill();
    await exited;
  }
}

describe('the README commands', () => {
  const documented = documentedCommands(readFileSync(join(projectRoot, 'README.md'), 'utf8'));

  before(async () => {
    await writeGenericDataset(
      generateSynthetic({ sequencesPerClass: 1, seed: 4 }),
      join(work, 'synthetic-generic'),
    );
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('document the whole pipeline', () => {
    const commands = new Set(documented.map((c) => commandOf(c.args).join(' ')));
    const pipeline = ['data inspect', 'train', 'eval', 'prune', 'export', 'predict', 'bench', 'serve'];
    for (const command of [...pipeline, 'reproduce', 'combine']) {
      assert.ok(commands.has(command), `the README documents no skelprune ${command} line`);
    }
  });

  it('use only flags their command lists in --help', () => {
    for (const { text, args } of documented) {
      const known = flagsOf(commandOf(args));
      const unknown = args.filter((arg) => arg.startsWith('--') && !known.has(arg));
      assert.deepEqual(unknown, [], `${text}: not in skelprune ${commandOf(args).join(' ')} --help`);
    }
  });

  it('run in order on synthetic data, each writing what the next reads', { timeout: 240_000 }, async () => {
    for (const { text, comment, args } of documented) {
      const actual = substitute(args);
      if (actual[0] === 'serve') {
        await serveOnce(actual);
        continue;
      }
      const run = skelprune(actual);
      assert.equal(run.status, 0, `${text}\n  ran as: skelprune ${actual.join(' ')}\n${run.stderr}`);
      // A comment's "→ path" names a file the command writes.
      for (const [, path] of comment.matchAll(/→ (runs\/\S+)/g)) {
        assert.ok(existsSync(join(work, path)), `${text}: the README says it writes ${path}, it did not`);
      }
    }
  });
});
