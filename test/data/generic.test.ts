import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadGeneric, writeGenericDataset } from '../../src/data/generic.js';
import { loadDataset } from '../../src/data/load.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import type { Dataset } from '../../src/data/types.js';
import { DataFormatError } from '../../src/errors.js';
import { realDataset, scratchDir } from './helpers.js';

/** Everything but where each sequence was read from. */
function comparable(dataset: Dataset) {
  return { ...dataset, sequences: dataset.sequences.map(({ source: _source, ...rest }) => rest) };
}

async function roundTrip(dataset: Dataset): Promise<Dataset> {
  const dir = scratchDir('generic-roundtrip');
  await writeGenericDataset(dataset, dir);
  return loadDataset({ kind: 'generic', path: dir });
}

describe('generic format round trip', () => {
  it('gives back a synthetic two-person dataset exactly (float32 values, protocols, graph)', async () => {
    const original = generateSynthetic({
      persons: 2,
      classes: 4,
      sequencesPerClass: 6,
      subjects: 3,
      seed: 9,
    });
    const back = await roundTrip(original);
    assert.deepEqual(comparable(back), comparable(original));
    assert.match(back.sequences[0].source, /sequences\.jsonl:1$/);
  });

  const sbu = realDataset('SBU');
  it('gives back the real SBU dataset exactly', { skip: sbu.skip }, async () => {
    const original = await loadDataset({ kind: 'sbu', path: sbu.path });
    assert.deepEqual(comparable(await roundTrip(original)), comparable(original));
  });
});

describe('generic format reader', () => {
  const skeleton = {
    name: 'pinch',
    units: 'm',
    jointNames: ['wrist', 'thumb', 'index'],
    bones: [
      [0, 1],
      [0, 2],
    ],
    classNames: ['open', 'close'],
  };
  const frame = (v: number) => [
    [v, 0, 0],
    [0, v, 0],
    [0, 0, v],
  ];
  const sequence = (
    id: string,
    label: string | number,
    subject: string,
    frames: unknown[] = [frame(1), frame(2)],
  ) => JSON.stringify({ id, label, subject, frames });

  function folder(skeletonJson: unknown, lines: string[]): string {
    const dir = scratchDir('generic');
    writeFileSync(
      join(dir, 'skeleton.json'),
      typeof skeletonJson === 'string' ? skeletonJson : JSON.stringify(skeletonJson),
    );
    writeFileSync(join(dir, 'sequences.jsonl'), `${lines.join('\n')}\n`);
    return dir;
  }

  async function rejection(dir: string): Promise<DataFormatError> {
    try {
      await loadGeneric(dir);
    } catch (error) {
      assert.ok(error instanceof DataFormatError, String(error));
      return error;
    }
    assert.fail('expected a DataFormatError');
  }

  it('reads labels by name or index, defaults, and derives a leave-one-subject-out protocol', async () => {
    const dir = folder(skeleton, [
      sequence('a', 'open', 'ann'),
      sequence('b', 1, 'bob'),
      '',
      sequence('c', 'close', 'ann'),
    ]);
    const dataset = await loadGeneric(dir);
    assert.deepEqual(
      dataset.sequences.map((s) => [s.id, s.label, s.subject, s.frames]),
      [
        ['a', 0, 'ann', 2],
        ['b', 1, 'bob', 2],
        ['c', 1, 'ann', 2],
      ],
    );
    assert.deepEqual([...dataset.sequences[0].positions.subarray(0, 9)], [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    assert.deepEqual(dataset.graph, {
      jointNames: skeleton.jointNames,
      bones: skeleton.bones,
      persons: 1,
      centerJoint: 0,
      centerMode: 'first-frame',
    });
    assert.deepEqual(dataset.protocols, {
      'cross-subject': [
        { name: 'ann', train: ['b'], test: ['a', 'c'] },
        { name: 'bob', train: ['a', 'c'], test: ['b'] },
      ],
    });
  });

  it('uses given protocols, filling in train as everything not in test', async () => {
    const withFolds = { ...skeleton, protocols: { mine: [{ name: 'f', test: ['b'] }] } };
    const dataset = await loadGeneric(folder(withFolds, [sequence('a', 0, 's'), sequence('b', 1, 's')]));
    assert.deepEqual(dataset.protocols, { mine: [{ name: 'f', train: ['a'], test: ['b'] }] });
  });

  it('names line, position, expected and found for malformed frames', async () => {
    const cases: [string, string][] = [
      [
        sequence('a', 0, 's', [
          frame(1),
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
        ]),
        'sequences.jsonl:1: frames[1]: expected 3 joints, found 2',
      ],
      [
        sequence('a', 0, 's', [
          [
            [1, 2],
            [0, 1, 0],
            [0, 0, 1],
          ],
        ]),
        'sequences.jsonl:1: frames[0][0]: expected 3 coordinates [x, y, z], found 2',
      ],
      [
        sequence('a', 0, 's', [
          [
            [1, 'abc', 3],
            [0, 1, 0],
            [0, 0, 1],
          ],
        ]),
        'sequences.jsonl:1: frames[0][0][1]: expected a finite number, found "abc"',
      ],
      [
        sequence('a', 0, 's', [
          [
            [1, null, 3],
            [0, 1, 0],
            [0, 0, 1],
          ],
        ]),
        'sequences.jsonl:1: frames[0][0][1]: expected a finite number, found null',
      ],
      [
        sequence('a', 'jump', 's'),
        'sequences.jsonl:1: label: expected a class name (open, close) or an index 0-1, found "jump"',
      ],
    ];
    for (const [line, expected] of cases) {
      const error = await rejection(folder(skeleton, [line]));
      assert.ok(error.message.endsWith(expected), `${error.message}\n  should end with ${expected}`);
    }
  });

  it('rejects NaN (invalid JSON), a missing field and a duplicate id with their line numbers', async () => {
    const nan = sequence('b', 0, 's').replace('[1,0,0]', '[NaN,0,0]');
    assert.match(
      (await rejection(folder(skeleton, [sequence('a', 0, 's'), nan]))).message,
      /sequences\.jsonl:2: expected valid JSON, found a syntax error/,
    );
    const noSubject = JSON.stringify({ id: 'a', label: 0, frames: [] });
    assert.match(
      (await rejection(folder(skeleton, [noSubject]))).message,
      /sequences\.jsonl:1: subject: Invalid input: expected string, received undefined/,
    );
    const twice = await rejection(folder(skeleton, [sequence('a', 0, 's'), sequence('a', 1, 's')]));
    assert.match(
      twice.message,
      /sequences\.jsonl:2: id: expected a new id, found "a" again \(first on line 1\)$/,
    );
  });

  it('validates skeleton.json: JSON syntax, bone indices, unknown keys, types', async () => {
    const cases: [unknown, RegExp][] = [
      ['{"name": "x",', /skeleton\.json:1: expected valid JSON, found a syntax error/],
      [
        { ...skeleton, bones: [[0, 3]] },
        /skeleton\.json: bones\[0\]\[1\]: expected a joint index 0-2, found 3$/,
      ],
      [{ ...skeleton, colour: 'red' }, /skeleton\.json: Unrecognized key: "colour"$/],
      [
        { ...skeleton, persons: 0 },
        /skeleton\.json: persons: Too small: expected number to be >0 \(found 0\)$/,
      ],
      [
        { ...skeleton, classNames: ['a', 'a'] },
        /skeleton\.json: classNames: expected unique names, found "a" twice$/,
      ],
    ];
    for (const [json, expected] of cases) {
      assert.match((await rejection(folder(json, [sequence('a', 0, 's')]))).message, expected);
    }
  });

  it('skips and reports an empty sequence no protocol uses, and rejects one a protocol uses', async () => {
    const lines = [sequence('a', 0, 's1'), sequence('b', 1, 's2'), sequence('e', 0, 's1', [])];
    const dataset = await loadGeneric(folder(skeleton, lines));
    assert.deepEqual(
      dataset.sequences.map((s) => s.id),
      ['a', 'b'],
    );
    assert.deepEqual(
      dataset.issues.map((i) => [i.line, i.message]),
      [[3, 'sequence "e" has no frames, in no protocol: skipped']],
    );
    const using = { ...skeleton, protocols: { p: [{ name: 'f', test: ['e', 'zz'] }] } };
    const error = await rejection(folder(using, lines));
    assert.match(
      error.message,
      /skeleton\.json: protocol 'p' fold 'f' names sequences with no frames: e; ids not in sequences\.jsonl: zz$/,
    );
  });

  it('writes one sequence per line with labels by name', async () => {
    const dir = scratchDir('generic-write');
    await writeGenericDataset(generateSynthetic({ classes: 2, sequencesPerClass: 2, subjects: 1 }), dir);
    const lines = readFileSync(join(dir, 'sequences.jsonl'), 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.equal(JSON.parse(lines[0]).label, 'motion1');
  });
});
