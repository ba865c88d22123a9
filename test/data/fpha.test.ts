import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { FPHA_CLASS_NAMES } from '../../src/data/fpha.js';
import { loadDataset } from '../../src/data/load.js';
import { summarizeDataset } from '../../src/data/summary.js';
import type { Dataset } from '../../src/data/types.js';
import { DataFormatError } from '../../src/errors.js';
import { numberLine, realDataset, scratchDir } from './helpers.js';

const real = realDataset('FPHA');

describe('FPHA on the real data', { skip: real.skip }, () => {
  let fpha: Dataset;
  before(async () => {
    fpha = await loadDataset({ kind: 'fpha', path: real.path });
  });

  it('has the 1:1 split: 600 / 575 sequences with 52,324 / 53,135 frames, 45 classes', () => {
    const [fold] = fpha.protocols['1:1'];
    assert.equal(fold.train.length, 600);
    assert.equal(fold.test.length, 575);
    const [summary] = summarizeDataset(fpha).protocols[0].folds;
    assert.equal(summary.train.frames, 52324);
    assert.equal(summary.test.frames, 53135);
    assert.equal(fpha.classNames.length, 45);
    for (const n of summary.train.perClass) assert.ok(n >= 11 && n <= 17, `train per class ${n}`);
    for (const n of summary.test.perClass) assert.ok(n >= 12 && n <= 17, `test per class ${n}`);
  });

  it('reports the three empty annotation files as skipped issues', () => {
    assert.deepEqual(
      fpha.issues.slice(0, 3).map((i) => [i.file.slice(real.path.length + 1), i.message]),
      ['Subject_2/close_milk/4', 'Subject_2/put_tea_bag/2', 'Subject_4/flip_sponge/2'].map((id) => [
        `Hand_pose_annotation_v1/${id}/skeleton.txt`,
        'empty file, not in the split: skipped',
      ]),
    );
  });

  it("finds the release's six recordings stored twice, three of them split across 1:1", () => {
    const copies = fpha.issues.filter((i) => i.message.startsWith('identical recordings'));
    assert.equal(copies.length, 6);
    assert.ok(copies.some((i) => i.message.endsWith('Subject_2/put_salt/2, Subject_2/put_salt/1')));
    const leaks = fpha.issues.filter((i) => i.message.startsWith('LEAK'));
    assert.deepEqual(
      leaks.map((i) => i.message),
      [
        "LEAK: protocol '1:1' fold '1:1' tests 3 sequence(s) whose identical copies are in its training part: Subject_2/put_salt/1, Subject_6/open_soda_can/5, Subject_4/use_flash/5",
      ],
    );
  });

  it('has the documented per-subject split counts', () => {
    const [fold] = fpha.protocols['1:1'];
    const perSubject = (ids: readonly string[]) =>
      [1, 2, 3, 4, 5, 6].map((k) => ids.filter((id) => id.startsWith(`Subject_${k}/`)).length);
    assert.deepEqual(perSubject(fold.train), [95, 89, 94, 109, 106, 107]);
    assert.deepEqual(perSubject(fold.test), [90, 94, 96, 94, 102, 99]);
  });

  it('has a cross-person protocol: 6 leave-one-subject-out folds covering the 1,175 sequences', () => {
    const folds = fpha.protocols['cross-person'];
    assert.deepEqual(
      folds.map((f) => f.name),
      ['Subject_1', 'Subject_2', 'Subject_3', 'Subject_4', 'Subject_5', 'Subject_6'],
    );
    assert.deepEqual(
      folds.map((f) => f.test.length),
      [185, 183, 190, 203, 208, 206],
    );
    assert.equal(new Set(folds.flatMap((f) => f.test)).size, 1175);
    for (const fold of folds) {
      assert.equal(fold.train.length + fold.test.length, 1175);
      assert.ok(fold.test.every((id) => id.startsWith(`${fold.name}/`)));
      assert.ok(fold.train.every((id) => !id.startsWith(`${fold.name}/`)));
    }
  });

  it('reads 21 joints per frame, 7 to 1,151 frames, labels matching the action folders', () => {
    assert.equal(summarizeDataset(fpha).frames.total, 105459);
    for (const s of fpha.sequences) {
      assert.equal(s.positions.length, s.frames * 21 * 3);
      assert.ok(s.frames >= 7 && s.frames <= 1151);
      assert.equal(FPHA_CLASS_NAMES[s.label], s.id.split('/')[1]);
    }
  });
});

describe('FPHA reader on malformed input', () => {
  const frameLine = (t: number, seed = 0) =>
    `${String(t).padStart(4, '0')} ${numberLine(63, ' ', t + 7 * seed)}`;
  // Distinct recordings: identical ones are reported as copies (and leaks when split across parts).
  const recording = (seed: number) => `${frameLine(0, seed)}\n${frameLine(1, seed)}\n`;
  const goodFile = recording(1);
  const train = ['Subject_1/open_juice_bottle/2 0', 'Subject_2/prick/1 5'];
  const test = ['Subject_1/open_juice_bottle/1 0'];

  /** A small FPHA-shaped folder (made-up numbers); `files` maps sequence ids to skeleton.txt contents. */
  function fphaFolder(split: string, files: Record<string, string>): string {
    const root = scratchDir('fpha-bad');
    writeFileSync(join(root, 'data_split_action_recognition.txt'), split);
    for (const [id, text] of Object.entries(files)) {
      const path = join(root, 'Hand_pose_annotation_v1', id, 'skeleton.txt');
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
    mkdirSync(join(root, 'Hand_pose_annotation_v1'), { recursive: true });
    return root;
  }
  const splitText = (trainLines = train, testLines = test) =>
    `Training ${trainLines.length}\n${trainLines.join('\n')}\nTest ${testLines.length}\n${testLines.join('\n')}\n`;
  const allFiles = {
    'Subject_1/open_juice_bottle/2': goodFile,
    'Subject_2/prick/1': recording(2),
    'Subject_1/open_juice_bottle/1': recording(3),
  };

  async function rejection(root: string): Promise<DataFormatError> {
    try {
      await loadDataset({ kind: 'fpha', path: root });
    } catch (error) {
      assert.ok(error instanceof DataFormatError, String(error));
      return error;
    }
    assert.fail('expected a DataFormatError');
  }

  it('loads a well-formed folder and reports unreferenced files, empty or not', async () => {
    const root = fphaFolder(splitText(), {
      ...allFiles,
      'Subject_2/prick/2': '',
      'Subject_2/prick/3': recording(4),
    });
    const dataset = await loadDataset({ kind: 'fpha', path: root });
    assert.equal(dataset.sequences.length, 3);
    assert.deepEqual(
      dataset.issues.map((i) => `${i.file.slice(root.length)}: ${i.message}`),
      [
        '/Hand_pose_annotation_v1/Subject_2/prick/2/skeleton.txt: empty file, not in the split: skipped',
        '/Hand_pose_annotation_v1/Subject_2/prick/3/skeleton.txt: not in the split: skipped',
      ],
    );
    assert.deepEqual(
      dataset.protocols['cross-person'].map((f) => [f.name, f.test.length]),
      [
        ['Subject_1', 2],
        ['Subject_2', 1],
      ],
    );
  });

  it('lists every split entry whose file is missing in one error', async () => {
    const root = fphaFolder(splitText(), { 'Subject_1/open_juice_bottle/2': goodFile });
    const error = await rejection(root);
    const annotations = join(root, 'Hand_pose_annotation_v1');
    assert.equal(
      error.message,
      `${join(root, 'data_split_action_recognition.txt')}: 2 split entries have no skeleton file: ` +
        `${annotations}/Subject_2/prick/1/skeleton.txt, ${annotations}/Subject_1/open_juice_bottle/1/skeleton.txt`,
    );
  });

  it('rejects an empty file that the split names, at the split line', async () => {
    const root = fphaFolder(splitText(), { ...allFiles, 'Subject_2/prick/1': '' });
    const error = await rejection(root);
    assert.match(
      error.message,
      /data_split_action_recognition\.txt:3: Subject_2\/prick\/1 is in the split but .*skeleton\.txt is empty$/,
    );
  });

  it('names file and line of a malformed skeleton line', async () => {
    const truncated = `${frameLine(0)}\n${frameLine(1).slice(0, 100)}\n`;
    const root = fphaFolder(splitText(), { ...allFiles, 'Subject_2/prick/1': truncated });
    const error = await rejection(root);
    assert.match(
      error.message,
      /Subject_2\/prick\/1\/skeleton\.txt:2: expected 64 space-separated numbers, found \d+ fields$/,
    );
    const withText = `${frameLine(0).replace(/ \S+$/, ' 12,5')}\n`;
    const error2 = await rejection(fphaFolder(splitText(), { ...allFiles, 'Subject_2/prick/1': withText }));
    assert.match(error2.message, /skeleton\.txt:1: field 64 of 64: expected a number, found "12,5"$/);
  });

  it('checks the split file: header counts, labels, the action names and duplicates', async () => {
    const cases: [string, RegExp][] = [
      [
        splitText(train.slice(0, 1)).replace('Training 1', 'Training 2'),
        /:1: header announces 2 entries, found 1$/,
      ],
      [splitText(['Subject_2/prick/1 6']), /:2: label 6 is 'sprinkle' but the path's action is 'prick'$/],
      [splitText(['Subject_2/prick/1 x5']), /:2: expected a class label 0-44, found "x5"$/],
      [
        splitText(['Subject_2/prick/1']),
        /:2: expected '<Subject_k>\/<action>\/<seq> <label>', found "Subject_2\/prick\/1"$/,
      ],
      [
        splitText(train, [train[0]]),
        /:5: Subject_1\/open_juice_bottle\/2 is listed twice \(first on line 2\)$/,
      ],
      [`Subject_2/prick/1 5\n`, /:1: expected a 'Training <count>' header, found "Subject_2\/prick\/1 5"$/],
    ];
    for (const [split, expected] of cases) {
      const error = await rejection(fphaFolder(split, allFiles));
      assert.match(error.message, expected);
      assert.ok(error.file.endsWith('data_split_action_recognition.txt'));
    }
  });

  it('fails with one line when the split file is missing', async () => {
    const root = scratchDir('fpha-nosplit');
    await assert.rejects(loadDataset({ kind: 'fpha', path: root }), {
      message: `${join(root, 'data_split_action_recognition.txt')}: no such file or directory`,
    });
  });
});
