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
        'sequences.jsonl:1: frames[0][0]: expected 3 coordinates [x, y, z] (or null for a missing joint), found 2',
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
    const noLabel = JSON.stringify({ id: 'a', subject: 's', frames: [] });
    assert.match(
      (await rejection(folder(skeleton, [noLabel]))).message,
      /sequences\.jsonl:1: label: expected the class of the sequence \(a class name or index\): training needs it$/,
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
  it('fills joints given as null by interpolation over time, or from a neighbour when never seen', async () => {
    const frames = [
      [null, [0, 1, 0], null],
      [[2, 0, 0], [0, 2, 0], null],
      [null, [0, 3, 0], null],
      [[6, 0, 0], [0, 4, 0], null],
      [null, [0, 5, 0], null],
    ];
    const dir = folder(skeleton, [JSON.stringify({ id: 'a', label: 0, subject: 's', frames })]);
    const dataset = await loadGeneric(dir);
    const joint = (j: number) => [0, 1, 2, 3, 4].map((f) => dataset.sequences[0].positions[f * 9 + j * 3]);
    assert.deepEqual(joint(0), [2, 2, 4, 6, 6]); // held before the first and after the last, linear between
    // the index joint is never seen: it takes the wrist's (its bone neighbour's) filled positions
    assert.deepEqual(joint(2), joint(0));
    assert.deepEqual(
      dataset.issues.filter((i) => i.line !== undefined).map((i) => [i.line, i.message]),
      [
        [
          1,
          'sequence "a": 8 missing joint position(s) (null) filled by interpolation over time; 1 joint(s) missing in every frame took a neighbour\'s position along the bones',
        ],
      ],
    );
    assert.ok(dataset.sequences[0].positions.every(Number.isFinite));
  });

  it('reads extra per-joint channels after x, y, z, checks them and drops them', async () => {
    const withConfidence = { ...skeleton, channels: ['x', 'y', 'z', 'confidence'] };
    const frame4 = (v: number) => frame(v).map((joint) => [...joint, 0.9]);
    const dir = folder(withConfidence, [
      JSON.stringify({ id: 'a', label: 0, subject: 's', frames: [frame4(1)] }),
    ]);
    const dataset = await loadGeneric(dir);
    assert.deepEqual([...dataset.sequences[0].positions], frame(1).flat());
    assert.ok(
      dataset.issues.some((i) =>
        /^channels confidence after x, y, z: read and checked, not used/.test(i.message),
      ),
    );
    const bad = JSON.stringify({ id: 'a', label: 0, subject: 's', frames: [frame(1)] });
    assert.match(
      (await rejection(folder(withConfidence, [bad]))).message,
      /:1: frames\[0\]\[0\]: expected 4 values \[x, y, z, confidence\] \(or null for a missing joint\), found 3$/,
    );
    assert.match(
      (await rejection(folder({ ...skeleton, channels: ['confidence', 'x', 'y', 'z'] }, [bad]))).message,
      /skeleton\.json: channels: expected the channels to start with "x", "y", "z"/,
    );
  });

  it('builds folds from sequence attributes: leave one value out, or train and test by value', async () => {
    const line = (id: string, view: string) =>
      JSON.stringify({ id, label: 0, subject: 's', attributes: { view }, frames: [frame(id.length)] });
    const lines = [line('a', 'v1'), line('bb', 'v2'), line('ccc', 'v3'), line('dddd', 'v3')];
    const protocols = {
      'cross-view': [{ name: 'v3', by: 'view', train: ['v1', 'v2'], test: ['v3'] }],
      'view-out': { leaveOneOut: 'view' },
    };
    const dataset = await loadGeneric(folder({ ...skeleton, protocols }, lines));
    assert.deepEqual(dataset.protocols, {
      'cross-view': [{ name: 'v3', train: ['a', 'bb'], test: ['ccc', 'dddd'] }],
      'view-out': [
        { name: 'v1', train: ['bb', 'ccc', 'dddd'], test: ['a'] },
        { name: 'v2', train: ['a', 'ccc', 'dddd'], test: ['bb'] },
        { name: 'v3', train: ['a', 'bb'], test: ['ccc', 'dddd'] },
      ],
    });
    const subjectOut = await loadGeneric(
      folder({ ...skeleton, protocols: { p: { leaveOneOut: 'subject' } } }, [
        sequence('a', 0, 'ann'),
        sequence('b', 0, 'bob'),
      ]),
    );
    assert.deepEqual(
      subjectOut.protocols.p.map((f) => f.name),
      ['ann', 'bob'],
    );
    const unnamed = [...lines, JSON.stringify({ id: 'e', label: 0, frames: [frame(9)] })];
    assert.match(
      (await rejection(folder({ ...skeleton, protocols }, unnamed))).message,
      /protocol 'cross-view' fold 'v3' uses attribute 'view', which these sequences lack: e \(give each line "attributes": \{"view": "\.\.\."\}\)$/,
    );
  });

  it('lists every id a fold puts in both parts', async () => {
    const lines = ['a', 'b', 'c', 'd'].map((id, i) => sequence(id, 0, 's', [frame(i + 1)]));
    const leaky = {
      ...skeleton,
      protocols: { p: [{ name: 'f', train: ['a', 'b', 'c'], test: ['b', 'c', 'd'] }] },
    };
    assert.match(
      (await rejection(folder(leaky, lines))).message,
      /protocol 'p' fold 'f' has 2 id\(s\) in both 'train' and 'test' \(the model would be tested on sequences it trained on\): b, c$/,
    );
  });

  it('reports all-zero frames, one-frame sequences, copies under other ids and the leaks they make', async () => {
    const zero = [
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ];
    const lines = [
      sequence('a', 0, 's1', [frame(1), zero, zero, frame(2), zero]),
      sequence('b', 0, 's1', [frame(3)]),
      sequence('c', 1, 's2', [frame(4), frame(5)]),
      sequence('d', 1, 's1', [frame(4), frame(5)]),
    ];
    const dataset = await loadDataset({ kind: 'generic', path: folder(skeleton, lines) });
    assert.deepEqual(
      dataset.issues.map((i) => [i.line ?? null, i.message]),
      [
        [
          1,
          'sequence "a": 3 of 5 frames are all zeros (frames 1-2, 4; no skeleton tracked?): mark missing joints as null instead',
        ],
        [2, 'sequence "b" has 1 frame: too short to show motion'],
        [3, 'identical recordings under different ids: c, d'],
        [
          null,
          "LEAK: protocol 'cross-subject' fold 's1' tests 1 sequence(s) whose identical copies are in its training part: d",
        ],
        [
          null,
          "LEAK: protocol 'cross-subject' fold 's2' tests 1 sequence(s) whose identical copies are in its training part: c",
        ],
      ],
    );
  });
});
