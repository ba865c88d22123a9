import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatDuration } from '../../src/cli/progress.js';
import { loadSafetensors } from '../../src/engine/index.js';
import { loadCheckpoint, modelFromCheckpoint } from '../../src/train/checkpoint.js';
import { loadRunDataset, trainFold } from '../../src/train/experiment.js';
import { classificationMetrics } from '../../src/train/metrics.js';
import { resolveRunConfig } from '../../src/train/run-config.js';
import { predictBatch } from '../../src/train/trainer.js';
import { projectRoot } from '../helpers.js';

const cli = join(projectRoot, 'bin/skelprune.js');
/** A small, fast configuration on the synthetic data. */
const small = {
  dataset: 'synthetic',
  epochs: 12,
  fold: 1,
  synthetic: { sequencesPerClass: 24 },
  model: { heads: 4, headDim: 4, encodingChannels: 16, convChannels: 32, fcUnits: 64 },
};

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'skelprune-train-'));
}

describe('training', () => {
  it('learns the synthetic data to > 95% test accuracy in seconds', async () => {
    const config = resolveRunConfig({}, small);
    const started = performance.now();
    const result = await trainFold({ config, foldIndex: 0, dir: tempDir(), command: 'test' });
    assert.ok(result.metrics.top1 > 0.95, `test accuracy ${result.metrics.top1}`);
    assert.ok(performance.now() - started < 60_000);
    assert.ok(result.trainThroughput > 0 && result.inferenceThroughput > 0);
  });

  it('saves a checkpoint that reloads to identical predictions', async () => {
    const config = resolveRunConfig({}, { ...small, epochs: 3 });
    const dir = tempDir();
    const result = await trainFold({ config, foldIndex: 0, dir, command: 'test' });
    const { model, input } = modelFromCheckpoint(await loadCheckpoint(result.checkpoint));
    const dataset = await loadRunDataset(config);
    const batch = input.encode(
      dataset.sequences.filter((s) => dataset.protocols['cross-subject'][0].test.includes(s.id)),
    );
    const first = predictBatch(model, batch, input);
    const metrics = classificationMetrics(first.predicted, batch.labels, dataset.classNames.length);
    assert.equal(metrics.top1, result.metrics.top1, 'the reloaded model scores what training reported');
    const again = predictBatch(
      modelFromCheckpoint(await loadCheckpoint(result.checkpoint)).model,
      batch,
      input,
    );
    assert.deepEqual(again.probabilities, first.probabilities);
  });

  it('resumes a killed run to exactly the weights of an uninterrupted one', async () => {
    const args = (out: string) => [
      cli,
      'train',
      '--dataset',
      'synthetic',
      '--fold',
      '1',
      '--epochs',
      '8',
      '--out',
      out,
      '--set',
      'synthetic.sequencesPerClass=24',
      'model.heads=4',
      'model.fcUnits=64',
    ];
    const whole = tempDir();
    const full = spawnSync(process.execPath, args(whole), { encoding: 'utf8' });
    assert.equal(full.status, 0, full.stderr);

    const interrupted = tempDir();
    const child = spawn(process.execPath, args(interrupted), { stdio: 'ignore' });
    const log = join(interrupted, 'fold-1', 'log.jsonl');
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const epochs = existsSync(log)
          ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).length
          : 0;
        if (epochs >= 3) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error('the run finished before it could be killed'));
      });
    });
    await new Promise((resolve) => child.on('exit', resolve));
    assert.ok(existsSync(join(interrupted, 'fold-1', 'resume.ckpt')), 'the killed run left its resume state');
    // What a kill in the middle of an atomic write leaves: temporaries named after the dead writer.
    for (const target of ['resume.ckpt', 'log.jsonl'])
      writeFileSync(join(interrupted, 'fold-1', `${target}.${child.pid}.0123abcd.tmp`), 'partial');
    assert.ok(!existsSync(join(interrupted, 'fold-1', 'model.ckpt')), 'the killed run did not finish');

    const refused = spawnSync(process.execPath, args(interrupted), { encoding: 'utf8' });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /already holds a run; pass --resume/);

    const resumed = spawnSync(process.execPath, [...args(interrupted), '--resume'], { encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.deepEqual(
      readdirSync(join(interrupted, 'fold-1')).filter((name) => name.endsWith('.tmp')),
      [],
      'the resumed run removed the temporaries of the killed one',
    );
    const a = await loadSafetensors(join(whole, 'fold-1', 'model.ckpt'));
    const b = await loadSafetensors(join(interrupted, 'fold-1', 'model.ckpt'));
    for (const name of Object.keys(a.tensors))
      assert.deepEqual(b.tensors[name].data, a.tensors[name].data, name);
    const logLines = readFileSync(join(interrupted, 'fold-1', 'log.jsonl'), 'utf8')
      .trim()
      .split('\n');
    assert.deepEqual(
      logLines.map((l) => JSON.parse(l).epoch),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
  });
});

describe('run configuration', () => {
  it('names unknown keys and bad values', () => {
    assert.throws(
      () => resolveRunConfig({}, { dataset: 'synthetic', epoch: 3 }),
      /Unrecognized key.*"epoch"/,
    );
    assert.throws(() => resolveRunConfig({}, { dataset: 'synthetic', lr: -1 }), /lr: .*(found -1)/);
    assert.throws(
      () => resolveRunConfig({}, { dataset: 'synthetic', model: { heads: 0 } }),
      /model\.heads: .*(found 0)/,
    );
    assert.throws(() => resolveRunConfig({}, { dataset: 'mnist' }), /dataset: .*(found "mnist")/);
  });

  it('keeps the last epoch by default, and gives generic data augmentation and view normalisation', () => {
    const generic = resolveRunConfig({}, { dataset: 'generic', path: 'x' });
    assert.equal(generic.validationFraction, 0);
    assert.equal(generic.preprocess.view, 'auto');
    assert.deepEqual(generic.preprocess.temporal, { mode: 'resample', frames: 64 });
    assert.deepEqual(
      [
        generic.preprocess.augment.rotation,
        generic.preprocess.augment.scaling,
        generic.preprocess.augment.temporalCrop,
        generic.preprocess.augment.yaw,
      ],
      [15, 0.1, 0.3, 30],
    );
    const fpha = resolveRunConfig({}, { dataset: 'fpha', path: 'x' }).preprocess.augment;
    assert.equal(fpha.temporalCrop, 0.15, 'the wider crop is generic data only');
    assert.equal(fpha.yaw, 0, 'the further turn is generic data only');
    assert.equal(resolveRunConfig({}, { dataset: 'synthetic' }).validationFraction, 0);
    assert.equal(
      resolveRunConfig({}, { dataset: 'fpha', path: 'x' }).preprocess.view,
      'none',
      'the paper recipe',
    );
  });

  it('names the windowed variant: overlapping windows, one encoder chunk each', () => {
    const paper = resolveRunConfig({}, { dataset: 'synthetic' });
    assert.equal(paper.variant, 'paper');
    assert.equal(paper.features.windows, null);
    assert.equal(paper.model.encoderChunks, 4);
    const windowed = resolveRunConfig({}, { dataset: 'synthetic', variant: 'windowed' });
    assert.deepEqual(windowed.features.windows, { size: 8, stride: 4 });
    assert.equal(windowed.model.encoderChunks, 7, '(32 − 8) / 4 + 1 windows');
    const long = resolveRunConfig({}, { dataset: 'fpha', path: 'x', variant: 'windowed' });
    assert.deepEqual([long.features.windows, long.model.encoderChunks], [{ size: 16, stride: 8 }, 7]);
    const own = resolveRunConfig({}, { dataset: 'synthetic', features: { windows: { size: 4, stride: 4 } } });
    assert.equal(own.model.encoderChunks, 8);
    assert.throws(
      () => resolveRunConfig({}, { dataset: 'synthetic', features: { windows: { size: 40, stride: 4 } } }),
      /features\.windows\.size 40 is longer than the 32 frames of preprocessing/,
    );
  });

  it('reads YAML config files whose keys are the flag names, flags winning', () => {
    const dir = tempDir();
    const path = join(dir, 'run.yaml');
    writeFileSync(path, 'dataset: synthetic\nepochs: 2\nbatchSize: 7\nmodel:\n  heads: 2\n  bogus: 1\n');
    const result = spawnSync(process.execPath, [cli, 'train', '--config', path, '--out', join(dir, 'o')], {
      encoding: 'utf8',
    });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /run\.yaml: model: Unrecognized key: "bogus"/);
    assert.doesNotMatch(result.stderr, /at .*\.js:\d+/, 'one line, no stack trace');
    writeFileSync(path, 'dataset: synthetic\nepochs: 2\nfold: 1\nmodel:\n  heads: 2\n  fcUnits: 16\n');
    const ok = spawnSync(
      process.execPath,
      [cli, 'train', '--config', path, '--epochs', '1', '--out', join(dir, 'o')],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(ok.status, 0, ok.stderr);
    const saved = JSON.parse(readFileSync(join(dir, 'o', 'config.json'), 'utf8'));
    assert.equal(saved.epochs, 1);
    assert.equal(saved.model.heads, 2);
  });
});

describe('validation by subject', () => {
  it('holds out whole subjects from the flag, validates every epoch, and refuses other groupings', () => {
    const dir = tempDir();
    const base = [cli, 'train', '--dataset', 'synthetic', '--fold', '1', '--epochs', '1'];
    const model = ['--set', 'model.heads=2', 'model.fcUnits=16'];
    const ok = spawnSync(
      process.execPath,
      [
        ...base,
        '--validation-fraction',
        '0.3',
        '--validation-by',
        'subject',
        ...model,
        '--out',
        join(dir, 'o'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /the validation part holds \d+ sequences .*too few to choose an epoch by/);
    const saved = JSON.parse(readFileSync(join(dir, 'o', 'config.json'), 'utf8'));
    assert.equal(saved.validationBy, 'subject');
    const epoch = JSON.parse(readFileSync(join(dir, 'o', 'fold-1', 'log.jsonl'), 'utf8').split('\n')[0]);
    assert.equal(typeof epoch.validation.top1, 'number');
    const bad = spawnSync(process.execPath, [...base, '--validation-by', 'person', '--out', join(dir, 'p')], {
      encoding: 'utf8',
    });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /'person' is invalid.*Allowed choices are class, subject/);
  });
});

describe('progress durations', () => {
  it('carries rounded seconds into the minutes and hours', () => {
    assert.equal(formatDuration(59.6), '1m00s');
    assert.equal(formatDuration(179.6), '3m00s');
    assert.equal(formatDuration(125), '2m05s');
    assert.equal(formatDuration(3599.7), '1h00m');
    assert.equal(formatDuration(7), '7s');
  });
});
