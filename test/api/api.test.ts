/**
 * The public API (`skelprune`'s package root): every stage on small synthetic runs, progress events,
 * cancellation and resuming, and outputs identical to the CLI's for the same settings and seed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  benchmark,
  CancelledError,
  ConfigError,
  classifySequences,
  createModel,
  DataFormatError,
  decodeSafetensors,
  evaluate,
  exportModel,
  exportModelBytes,
  generateSynthetic,
  inspectDataset,
  loadDataset,
  loadModel,
  modelSummary,
  type PruneProgressEvent,
  prune,
  reproduce,
  SkeletonClassifier,
  SkelpruneError,
  saveModel,
  type TrainProgressEvent,
  type TrainResult,
  train,
  writeGenericDataset,
} from '../../src/index.js';
import { projectRoot } from '../helpers.js';

const cli = join(projectRoot, 'bin/skelprune.js');
const temp = () => mkdtempSync(join(tmpdir(), 'skelprune-api-'));

/** A tiny, fast run on the synthetic data, as API settings and as the equivalent CLI flags. */
const synthetic = { sequencesPerClass: 12 };
const model = { heads: 2, headDim: 4, encodingChannels: 8, convChannels: 16, fcUnits: 32 };
const tiny = { dataset: 'synthetic', fold: 1, epochs: 4, seed: 3, synthetic, model } as const;
/** Pruning takes its fold from the checkpoint and has its own epoch counts. */
const { epochs: _, fold: __, ...tinyRun } = tiny;
const pruning = { ...tinyRun, method: 'ctf', rate: 0.9, pruneEpochs: 3, finetuneEpochs: 1 } as const;
const runFlags = [
  ...['--dataset', 'synthetic', '--seed', '3', '--set', 'synthetic.sequencesPerClass=12'],
  ...Object.entries(model).map(([key, value]) => `model.${key}=${value}`),
];

function skelprune(...args: string[]): string {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

/** Every tensor of two safetensors files (or buffers), compared exactly. */
async function assertSameTensors(a: string | Uint8Array, b: string | Uint8Array): Promise<void> {
  const read = async (x: string | Uint8Array) =>
    decodeSafetensors(typeof x === 'string' ? await readFile(x) : x);
  const [first, second] = [await read(a), await read(b)];
  assert.deepEqual(Object.keys(second.tensors).sort(), Object.keys(first.tensors).sort());
  for (const [name, tensor] of Object.entries(first.tensors))
    assert.deepEqual(second.tensors[name].data, tensor.data, name);
}

/** JSON round trip: results must be plain data. */
function assertSerialisable(value: unknown): void {
  assert.deepEqual(JSON.parse(JSON.stringify(value)), value);
}

describe('the API runs train → prune → export exactly as the CLI does', () => {
  const dir = temp();
  const cliDense = join(dir, 'cli-dense');
  const cliPruned = join(dir, 'cli-ctf');
  let dense: TrainResult;
  const trainEvents: TrainProgressEvent[] = [];

  before(() => {
    skelprune('train', '--fold', '1', '--epochs', '4', '--out', cliDense, ...runFlags);
    skelprune(
      'prune',
      ...['--method', 'ctf', '--rate', '0.9', '--prune-epochs', '3', '--finetune-epochs', '1'],
      ...['--from', join(cliDense, 'fold-1', 'model.ckpt'), '--out', cliPruned],
      ...runFlags,
    );
    skelprune('export', '--model', join(cliPruned, 'model.ckpt'), '--out', join(dir, 'cli.skp'));
  });

  it('trains the same weights and summary, reporting progress', async () => {
    dense = await train({ ...tiny, out: join(dir, 'dense'), onProgress: (e) => trainEvents.push(e) });
    await assertSameTensors(dense.folds[0].checkpoint, join(cliDense, 'fold-1', 'model.ckpt'));
    const cliSummary = JSON.parse(readFileSync(join(cliDense, 'summary.json'), 'utf8'));
    const apiSummary = JSON.parse(readFileSync(join(dense.out, 'summary.json'), 'utf8'));
    assert.deepEqual(apiSummary.mean, cliSummary.mean);
    assert.deepEqual(apiSummary.folds[0].metrics, cliSummary.folds[0].metrics);
    assert.deepEqual(dense.mean, cliSummary.mean);
    const cliConfig = JSON.parse(readFileSync(join(cliDense, 'config.json'), 'utf8'));
    assert.deepEqual({ ...dense.config, out: cliDense }, cliConfig, 'the same settings, defaults included');
    assertSerialisable(dense);

    const types = trainEvents.map((e) => e.type);
    assert.equal(types[0], 'start');
    assert.equal(types[1], 'fold-start');
    assert.equal(types.at(-1), 'fold-done');
    const epochs = trainEvents.filter((e) => e.type === 'epoch');
    assert.deepEqual(
      epochs.map((e) => e.epoch),
      [1, 2, 3, 4],
    );
    for (const e of epochs) {
      assert.ok(e.loss > 0 && e.trainAccuracy >= 0 && e.trainAccuracy <= 1 && e.phase === 'train');
    }
    assert.ok(types.filter((t) => t === 'step').length >= 4, 'steps are reported');
    const done = trainEvents.at(-1);
    assert.ok(done?.type === 'fold-done' && done.top1 === dense.folds[0].metrics.top1);
  });

  it('prunes the same weights and masks', async () => {
    const events: PruneProgressEvent[] = [];
    const pruned = await prune({
      ...pruning,
      from: dense.folds[0].checkpoint,
      out: join(dir, 'ctf'),
      onProgress: (e) => events.push(e),
    });
    const [fold] = pruned.folds;
    await assertSameTensors(fold.checkpoint, join(cliPruned, 'model.ckpt'));
    const cliSummary = JSON.parse(readFileSync(join(cliPruned, 'summary.json'), 'utf8'));
    assert.equal(fold.achievedRate, cliSummary[0].achievedRate);
    assert.deepEqual(fold.metrics, cliSummary[0].metrics);
    assert.ok(Math.abs(fold.achievedRate - 0.9) < 0.001);
    assertSerialisable(pruned);
    const phases = new Set(events.flatMap((e) => (e.type === 'epoch' ? [e.phase] : [])));
    assert.deepEqual([...phases], ['prune', 'finetune']);
  });

  it('runs the control beside: the dense model trained the same extra epochs, nothing pruned', async () => {
    const [fold] = (
      await prune({ ...pruning, from: dense.folds[0].checkpoint, out: join(dir, 'ctf'), resume: true })
    ).folds;
    assert.equal(typeof fold.controlTop1, 'number');
    const control = await loadModel(join(dir, 'ctf', 'control', 'model.ckpt'));
    const start = await loadModel(dense.folds[0].checkpoint);
    const masks = Object.values(control.masks);
    assert.ok(masks.length > 0 && masks.every((m) => m.every((v) => v === 1)), 'nothing pruned');
    const weights = (m: typeof control) => Object.values(m.model.stateDict()).map((t) => [...t.toArray()]);
    assert.notDeepEqual(weights(control), weights(start), 'it trained');
    const summary = JSON.parse(readFileSync(join(cliPruned, 'summary.json'), 'utf8'));
    assert.equal(summary[0].controlTop1, fold.controlTop1, 'the CLI ran the same control');
    const noControl = await prune({
      ...pruning,
      from: dense.folds[0].checkpoint,
      out: join(dir, 'ctf-alone'),
      control: false,
    });
    assert.equal(noControl.folds[0].controlTop1, null);
    assert.ok(!existsSync(join(dir, 'ctf-alone', 'control')));
  });

  it('exports the same .skp model, as bytes and as files, and the runtime classifies with it', async () => {
    const checkpoint = join(dir, 'ctf', 'model.ckpt');
    const exported = await exportModelBytes({ model: checkpoint, onnx: true });
    await assertSameTensors(exported.skp, join(dir, 'cli.skp'));
    assert.ok(exported.onnx && exported.onnx.length > 0);
    assert.ok(exported.report.maxRelativeError < 1e-4);
    assertSerialisable(exported.report);

    const out = join(dir, 'api.skp');
    const report = await exportModel({ model: checkpoint, out, onnx: join(dir, 'api.onnx') });
    assert.equal(readFileSync(out).length, report.skpBytes);
    assert.equal(readFileSync(join(dir, 'api.onnx')).length, report.onnxBytes);

    const classifier = await SkeletonClassifier.load(out);
    const dataset = generateSynthetic(synthetic);
    const prediction = classifier.predict(dataset.sequences[0]);
    assert.equal(prediction.probabilities.length, dataset.classNames.length);
    classifier.dispose();
  });

  it('classifies files and times models as predict and bench do', async () => {
    const data = join(dir, 'generic');
    await writeGenericDataset(generateSynthetic({ ...synthetic, seed: 11 }), data);
    const skp = join(dir, 'cli.skp');
    const result = await classifySequences({ model: skp, input: data, topK: 2 });
    const cliRecords = JSON.parse(skelprune('predict', '--model', skp, '--input', data, '--json'));
    assert.deepEqual(
      result.predictions.map((p) => [p.id, p.predicted, p.label]),
      cliRecords.map((r: { id: string; predicted: string; label: string }) => [r.id, r.predicted, r.label]),
    );
    // A dataset folder of the model's own dataset is scored by the model's fold, test part first.
    assert.deepEqual(
      result.scores.map((s) => s.description.split(' ')[0]),
      ['test', 'training'],
    );
    for (const [score, part] of [
      [result.scores[0], 'test'],
      [result.scores[1], 'train'],
    ] as const) {
      const inPart = result.predictions.filter((p) => p.part === part);
      assert.equal(score.labelled, inPart.length);
      assert.equal(score.correct, inPart.filter((p) => p.predicted === p.label).length);
    }
    assert.equal(result.scores[0].labelled + result.scores[1].labelled, result.predictions.length);
    assert.ok(result.predictions.every((p) => p.top.length === 2 && p.top[0].name === p.predicted));
    assertSerialisable(result);

    // Unlabelled input: a .jsonl without label or subject, and one sequence's .json without an id.
    const [firstLine] = readFileSync(join(data, 'sequences.jsonl'), 'utf8').split('\n');
    const { label: _label, subject: _subject, ...unlabelled } = JSON.parse(firstLine);
    writeFileSync(join(dir, 'new.jsonl'), `${JSON.stringify(unlabelled)}\n`);
    const { id: _id, ...frames } = unlabelled;
    writeFileSync(join(dir, 'one.json'), JSON.stringify(frames, null, 2));
    for (const [file, id] of [
      ['new.jsonl', unlabelled.id],
      ['one.json', 'one.json'],
    ]) {
      const unscored = await classifySequences({ model: skp, input: join(dir, file) });
      assert.deepEqual(
        unscored.predictions.map((p) => [p.id, p.predicted, p.label, p.part]),
        [[id, result.predictions[0].predicted, null, null]],
      );
      assert.deepEqual(unscored.scores, []);
    }

    const timed = await benchmark({ model: skp, dense: skp, repeats: 20, batch: 4, onnx: false });
    assert.deepEqual(
      timed.rows.map((r) => r.name),
      ['skelprune runtime, dense unpruned', 'skelprune runtime, pruned'],
    );
    assert.ok(timed.rows.every((r) => r.p50Ms > 0 && r.p90Ms >= r.p50Ms && r.throughput > 0));
    assert.equal(timed.rows[0].speedup, 1);
    assertSerialisable(timed);
  });

  it('evaluates a checkpoint as training scored it', async () => {
    const result = await evaluate({ model: dense.folds[0].checkpoint, dataset: 'synthetic', synthetic });
    assert.deepEqual(result.metrics, dense.folds[0].metrics);
    assert.equal(result.split, 'test');
    assertSerialisable(result);
  });

  it('loads and saves checkpoints, and summarises models as data', async () => {
    const loaded = await loadModel(join(dir, 'ctf', 'model.ckpt'));
    assert.ok(Object.keys(loaded.masks).length > 0, 'a pruned checkpoint carries its masks');
    const copy = join(dir, 'copy.ckpt');
    await saveModel(copy, loaded);
    await assertSameTensors(copy, join(dir, 'ctf', 'model.ckpt'));

    const summary = modelSummary(loaded.model);
    assert.equal(summary.parameters, loaded.model.parameterCount());
    assert.equal(
      summary.macs,
      summary.layers.reduce((s, l) => s + l.macs, 0),
    );
    assertSerialisable(summary);
    const cli = skelprune('model', 'summary', '--model', copy);
    assert.match(cli, new RegExp(`${summary.prunableParameters.toLocaleString('en-US')} of`));

    const fresh = await createModel({ dataset: 'synthetic', synthetic, model });
    assert.equal(modelSummary(fresh).parameters, summary.parameters, 'the same architecture');
  });

  it('refuses to mix runs and names bad settings with a SkelpruneError', async () => {
    await assert.rejects(train({ ...tiny, out: dense.out }), (error: unknown) => {
      assert.ok(error instanceof SkelpruneError);
      assert.match(error.message, /already holds a run; pass --resume/);
      return true;
    });
    await assert.rejects(train({ ...tiny, lr: -1 }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^options: lr: /);
      return true;
    });
    await assert.rejects(prune({ ...pruning, distill: 1 }), /distill 1 needs a teacher/);
    await assert.rejects(loadDataset({ kind: 'fpha', path: '' }), /dataset 'fpha' needs a path/);
  });
});

describe('cancelling long work', () => {
  it('rejects with a CancelledError and resumes to the weights of an uninterrupted run', async () => {
    const dir = temp();
    const whole = await train({ ...tiny, epochs: 6, out: join(dir, 'whole') });

    const out = join(dir, 'cancelled');
    const controller = new AbortController();
    const cancelled = train({
      ...tiny,
      epochs: 6,
      out,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'epoch' && e.epoch === 3) controller.abort();
      },
    });
    await assert.rejects(cancelled, CancelledError);
    assert.ok(existsSync(join(out, 'fold-1', 'resume.ckpt')), 'the cancelled run left its resume state');
    assert.ok(!existsSync(join(out, 'fold-1', 'model.ckpt')));

    const epochs: number[] = [];
    const resumed = await train({
      ...tiny,
      epochs: 6,
      out,
      resume: true,
      onProgress: (e) => {
        if (e.type === 'epoch') epochs.push(e.epoch);
      },
    });
    assert.deepEqual(epochs, [4, 5, 6], 'the resumed run continues after the last saved epoch');
    await assertSameTensors(resumed.folds[0].checkpoint, whole.folds[0].checkpoint);
  });

  it('kills the worker processes of a parallel run', { timeout: 60_000 }, async () => {
    const out = join(temp(), 'parallel');
    const controller = new AbortController();
    const settings = { ...tiny, fold: 'all', jobs: 2, epochs: 30, out } as const;
    const started = performance.now();
    await assert.rejects(
      train({
        ...settings,
        signal: controller.signal,
        onProgress: (e) => {
          if (e.type === 'epoch') controller.abort();
        },
      }),
      CancelledError,
    );
    assert.ok(performance.now() - started < 30_000, 'cancelled long before the 30 epochs');
    const resumed = await train({ ...settings, epochs: 30, resume: true });
    assert.equal(resumed.folds.length, 4);
  });

  it('rejects at once when the signal is already aborted', async () => {
    await assert.rejects(
      prune({ ...pruning, out: join(temp(), 'p'), signal: AbortSignal.abort() }),
      CancelledError,
    );
  });
});

describe('datasets', () => {
  it('generates, inspects, writes and reads back a dataset', async () => {
    const dataset = generateSynthetic({ ...synthetic, seed: 2 });
    const inspection = inspectDataset(dataset);
    assertSerialisable(inspection);
    assert.equal(inspection.frames.sequences, 8 * 12);
    assert.deepEqual(
      inspection.subjects.map((s) => s.name),
      ['subject1', 'subject2', 'subject3', 'subject4'],
    );
    const dir = join(temp(), 'generic');
    await writeGenericDataset(dataset, dir);
    const again = await loadDataset({ kind: 'generic', path: dir });
    assert.deepEqual(inspectDataset(again).protocols, inspection.protocols);
    assert.deepEqual(again.sequences[5].positions, dataset.sequences[5].positions);
    await assert.rejects(loadDataset({ kind: 'generic', path: join(dir, 'missing') }), SkelpruneError);
    assert.ok(new DataFormatError('f', 1, 'bad') instanceof SkelpruneError);
  });
});

describe('reproduce', () => {
  it('runs a reduced protocol and writes its report', { timeout: 120_000 }, async () => {
    const out = join(temp(), 'reproduce');
    const fractions: number[] = [];
    const report = await reproduce({
      dataset: 'synthetic',
      methods: ['ctf'],
      rates: [0.5],
      speedRepeats: 20,
      train: { fold: 1, epochs: 2, synthetic, model },
      prune: { fold: 1, pruneEpochs: 1, finetuneEpochs: 1, synthetic },
      out,
      onProgress: (p) => fractions.push(p.fraction),
    });
    assert.deepEqual(
      report.results.runs.map((r) => r.method),
      ['dense', 'ctf'],
    );
    assert.ok(report.files.some((f) => f.endsWith('report.html')));
    assert.ok(existsSync(join(out, 'results.json')));
    // The control: the dense fold trained the pruning run's 2 extra epochs, nothing pruned.
    const { control } = report.results.runs[0];
    assert.equal(control?.epochs, 2);
    assert.equal(control?.folds.length, 1);
    assert.match(
      readFileSync(join(out, 'results.md'), 'utf8'),
      /Control: the dense models trained 2 more epochs/,
    );
    assert.ok(fractions.length > 0 && fractions.every((f) => f >= 0 && f <= 1));
    assertSerialisable(report);
    await assert.rejects(reproduce({ dataset: 'synthetic', methods: ['magic'] }), /unknown method 'magic'/);
  });
});
