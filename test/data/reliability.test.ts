/**
 * Regression tests for inputs that used to end in a stack trace or load silently wrong (found by
 * fuzzing): deeply nested JSON and YAML, coordinates that are not finite as float32, other text
 * encodings, empty and garbage files, and sizes claimed far beyond the data.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { parseFrameFile, SBU_FRAME_FORMAT } from '../../src/data/frame-file.js';
import { loadDataset } from '../../src/data/load.js';
import { preview, safeParseFirst } from '../../src/data/schema-errors.js';
import { parseSequenceFile } from '../../src/data/sequence-parse.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { ConfigError, DataFormatError } from '../../src/errors.js';
import { parseOverrides, readConfigFile, resolveRunConfig } from '../../src/train/run-config.js';
import { numberLine, REPO_ROOT, scratchDir } from './helpers.js';

const DEPTH = 100_000;
const nestedArrays = `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`;
const nestedObjects = `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`;

const skeleton = {
  name: 'pinch',
  jointNames: ['wrist', 'thumb'],
  bones: [[0, 1]] as [number, number][],
  classNames: ['a', 'b'],
};
const sequenceLine = (id: string, subject: string, x: number | string = 1) =>
  `{"id":"${id}","label":0,"subject":"${subject}","frames":[[[${x},0,0],[0,1,0]],[[1,0,0],[0,1,0]]]}`;
const goodLines = [sequenceLine('s1', 'ann'), sequenceLine('s2', 'bob')];
/** A sequence line with the persons level spelled out and `x` as the first coordinate. */
const withPersons = (x: string) => `{"id":"s","label":0,"subject":"p","frames":[[[[${x},0,0],[0,1,0]]]]}`;

function genericFolder(skeletonText: string | Uint8Array, lines: string | Uint8Array): string {
  const dir = scratchDir('reliability-generic');
  writeFileSync(join(dir, 'skeleton.json'), skeletonText);
  writeFileSync(join(dir, 'sequences.jsonl'), typeof lines === 'string' ? `${lines}\n` : lines);
  return dir;
}

async function loadError(options: Parameters<typeof loadDataset>[0]): Promise<DataFormatError> {
  try {
    await loadDataset(options);
  } catch (error) {
    assert.ok(error instanceof DataFormatError, String((error as Error).stack));
    assert.ok(!error.message.includes('\n'), `one line: ${error.message}`);
    return error;
  }
  assert.fail('expected a DataFormatError');
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  assert.fail('expected an error');
}

function writeIn(dir: string, name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

const sbuLine = (frame: number, value?: string) =>
  `${frame},${numberLine(90, ',', frame).replace(/^[^,]*/, value ?? '$&')}`;
const fphaLine = (frame: number, value?: string) =>
  `${frame} ${numberLine(63, ' ', frame).replace(/ [^ ]*$/, value === undefined ? '$&' : ` ${value}`)}`;

const sbuFolder = (text: string | Uint8Array) => {
  const dir = scratchDir('reliability-sbu');
  writeIn(dir, 's01s02/s01s02-1-1.txt', text);
  return dir;
};

const fphaFolder = (split: string, skeletonText: string) => {
  const dir = scratchDir('reliability-fpha');
  writeIn(dir, 'data_split_action_recognition.txt', split);
  writeIn(dir, 'Hand_pose_annotation_v1/Subject_1/prick/1/skeleton.txt', skeletonText);
  return dir;
};
const fphaSplit = 'Training 1\nSubject_1/prick/1 5\nTest 0\n';

const utf16 = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);

describe('deeply nested JSON and YAML (100,000 levels)', () => {
  it('previews any value in at most 40 characters without walking deeper than it shows', () => {
    assert.equal(preview(JSON.parse(nestedArrays)), `${'['.repeat(37)}...`);
    assert.equal(preview(JSON.parse(nestedObjects)), `${'{"a":'.repeat(7)}{"...`);
    assert.equal(preview({ a: [1, 'x'], b: null }), '{"a":[1,"x"],"b":null}');
    assert.equal(preview('x'.repeat(1e6)), `"${'x'.repeat(36)}...`);
    assert.equal(preview(Number.NaN), 'NaN');
    assert.equal(preview(undefined), 'nothing');
  });

  it('skeleton.json: a schema error naming the field', async () => {
    const error = await loadError({
      kind: 'generic',
      path: genericFolder(`{"name":${nestedArrays}}`, goodLines.join('\n')),
    });
    assert.match(error.message, /skeleton\.json: name: .*expected string.* \(found \[{37}\.\.\.\)$/);
  });

  it('a sequences.jsonl line: nested in a field or in place of a coordinate', async () => {
    const inSubject = `{"id":"s3","label":0,"subject":${nestedObjects},"frames":[]}`;
    const error = await loadError({
      kind: 'generic',
      path: genericFolder(JSON.stringify(skeleton), [...goodLines, inSubject].join('\n')),
    });
    assert.match(error.message, /sequences\.jsonl:3: subject: .*expected string.* \(found \{"a":/);
    const inCoordinate = withPersons(nestedArrays);
    const coordinate = await loadError({
      kind: 'generic',
      path: genericFolder(JSON.stringify(skeleton), [inCoordinate].join('\n')),
    });
    assert.match(
      coordinate.message,
      /sequences\.jsonl:1: frames\[0\]\[0\]\[0\]\[0\]: expected a finite number, found \[{37}\.\.\.$/,
    );
  });

  it('a predict --input .jsonl file', () => {
    const bytes = Buffer.from(`${withPersons(nestedArrays)}\n`);
    const error = thrown(() => parseSequenceFile(bytes, 'in.jsonl', { ...skeleton, persons: 1 }));
    assert.ok(error instanceof DataFormatError);
    assert.match(
      error.message,
      /^in\.jsonl:1: frames\[0\]\[0\]\[0\]\[0\]: expected a finite number, found \[/,
    );
  });

  it('a JSON config file: the setting named', async () => {
    const path = writeIn(
      scratchDir('reliability-config'),
      'deep.json',
      `{"dataset":"synthetic","epochs":${nestedArrays}}`,
    );
    const file = await readConfigFile(path);
    const deep = thrown(() => resolveRunConfig(file, {}, path));
    assert.ok(deep instanceof ConfigError);
    assert.match(deep.message, /deep\.json: epochs: .*expected number.* \(found \[{37}\.\.\.\)$/);
  });

  it('a YAML config file: YAML gives up, with the file and line', async () => {
    const dir = scratchDir('reliability-config');
    const path = writeIn(dir, 'deep.yaml', `dataset: synthetic\nepochs: ${nestedArrays}\n`);
    await assert.rejects(readConfigFile(path), (error) => {
      assert.ok(error instanceof DataFormatError);
      assert.equal(error.message, `${path}:2: not readable as YAML: nesting too deep to read`);
      return true;
    });
  });
});

describe('coordinates that are not finite as float32', () => {
  it('SBU: a value beyond float64, or beyond float32 once in millimetres, fails at its line and field', async () => {
    for (const [value, expected] of [
      [
        '1e308',
        /s01s02-1-1\.txt:2: field 2 of 91: expected a coordinate within float32 range \(±3\.4e38\) after conversion to millimetres, found 1e\+308$/,
      ],
      [
        '2e35',
        /s01s02-1-1\.txt:2: field 2 of 91: expected .* after conversion to millimetres, found 2e\+35$/,
      ],
      ['1e400', /s01s02-1-1\.txt:2: field 2 of 91: expected a finite number, found "1e400"$/],
      ['nan', /s01s02-1-1\.txt:2: field 2 of 91: expected a finite number, found "nan"$/],
    ] as const) {
      const path = sbuFolder(`${sbuLine(1)}\r\n${sbuLine(2, value)}\r\n`);
      const error = await loadError({ kind: 'sbu', path });
      assert.match(error.message, expected);
      assert.equal(error.line, 2);
    }
    // Stored normalized, 2e35 is a finite float32.
    const normalized = await loadDataset({
      kind: 'sbu',
      path: sbuFolder(`${sbuLine(1)}\r\n${sbuLine(2, '2e35')}\r\n`),
      units: 'normalized',
    });
    assert.equal(normalized.sequences[0].positions[90], Math.fround(2e35));
  });

  it('FPHA skeleton.txt: 3.5e38 fails at its line', async () => {
    const path = fphaFolder(fphaSplit, `${fphaLine(0)}\n${fphaLine(1)}\n${fphaLine(2, '-3.5e38')}\n`);
    const error = await loadError({ kind: 'fpha', path });
    assert.match(
      error.message,
      /Subject_1\/prick\/1\/skeleton\.txt:3: field 64 of 64: expected a coordinate within float32 range \(±3\.4e38\), found -3\.5e\+38$/,
    );
  });

  it('generic sequences.jsonl: 1e308 and 3.5e38 fail at their line and position', async () => {
    for (const [value, shown] of [
      ['1e308', '1e+308'],
      ['3.5e38', '3.5e+38'],
    ]) {
      const lines = [goodLines[0], sequenceLine('s2', 'bob', value)].join('\n');
      const error = await loadError({
        kind: 'generic',
        path: genericFolder(JSON.stringify(skeleton), lines),
      });
      const expected = `sequences.jsonl:2: frames[0][0][0]: expected a finite number within float32 range (±3.4e38), found ${shown}`;
      assert.ok(error.message.endsWith(expected), error.message);
    }
  });

  it('predict --input reads SBU, FPHA and .jsonl files with the same checks', () => {
    const cases: [string, string, RegExp][] = [
      ['a.txt', `${sbuLine(1)}\n${sbuLine(2, '1e308')}\n`, /^a\.txt:2: field 2 of 91: .*found 1e\+308$/],
      ['b.txt', `${fphaLine(1, '3.5e38')}\n`, /^b\.txt:1: field 64 of 64: .*found 3\.5e\+38$/],
      [
        'c.jsonl',
        `${sequenceLine('s', 'p', '1e308')}\n`,
        /^c\.jsonl:1: frames\[0\]\[0\]\[0\]: .*found 1e\+308$/,
      ],
    ];
    for (const [file, text, expected] of cases) {
      const error = thrown(() => parseSequenceFile(Buffer.from(text), file, { ...skeleton, persons: 1 }));
      assert.ok(error instanceof DataFormatError, String(error));
      assert.match(error.message, expected);
    }
  });
});

describe('encodings, empty and garbage files, sizes beyond the data', () => {
  it('skips a UTF-8 byte-order mark and names the line where the text stops being UTF-8', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const withBom = genericFolder(
      Buffer.concat([bom, Buffer.from(JSON.stringify(skeleton))]),
      goodLines.join('\n'),
    );
    assert.equal((await loadDataset({ kind: 'generic', path: withBom })).sequences.length, 2);
    const sbu = await loadDataset({
      kind: 'sbu',
      path: sbuFolder(Buffer.concat([bom, Buffer.from(`${sbuLine(1)}\n`)])),
    });
    assert.equal(sbu.sequences[0].frames, 1);

    const latin1 = Buffer.from(`${goodLines[0]}\n${sequenceLine('s2', 'bj\xf6rn')}\n`, 'latin1');
    const error = await loadError({ kind: 'generic', path: genericFolder(JSON.stringify(skeleton), latin1) });
    assert.match(error.message, /sequences\.jsonl:2: expected UTF-8 text, found bytes that are not UTF-8/);
  });

  it('refuses UTF-16 files at line 1 in every reader', async () => {
    const expected =
      /:1: expected UTF-8 text, found a UTF-16 byte-order mark \(FF FE\); save the file as UTF-8$/;
    const generic = await loadError({
      kind: 'generic',
      path: genericFolder(utf16(JSON.stringify(skeleton)), goodLines.join('\n')),
    });
    assert.match(generic.message, expected);
    assert.match(
      (await loadError({ kind: 'sbu', path: sbuFolder(utf16(`${sbuLine(1)}\n`)) })).message,
      expected,
    );
    const split = fphaFolder('', `${fphaLine(0)}\n`);
    writeFileSync(join(split, 'data_split_action_recognition.txt'), utf16(fphaSplit));
    assert.match((await loadError({ kind: 'fpha', path: split })).message, expected);
    for (const file of ['x.txt', 'x.jsonl']) {
      const error = thrown(() =>
        parseSequenceFile(utf16(`${sbuLine(1)}\n`), file, { ...skeleton, persons: 1 }),
      );
      assert.match(error.message, expected);
    }
    const config = writeIn(scratchDir('reliability-config'), 'c.json', utf16('{"dataset":"synthetic"}'));
    await assert.rejects(readConfigFile(config), {
      message: `${config}:1: expected UTF-8 text, found a UTF-16 byte-order mark (FF FE); save the file as UTF-8`,
    });
  });

  it('predict --input: empty, blank, garbage and frameless inputs fail naming the file', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      [
        'e.txt',
        new Uint8Array(0),
        /^e\.txt:1: expected an SBU line .* or an FPHA line .*, found an empty file$/,
      ],
      ['b.txt', Buffer.from(`\n${sbuLine(1)}\n`), /^b\.txt:1: expected an SBU line .*, found an empty line$/],
      [
        'g.txt',
        Uint8Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256),
        /^g\.txt:1: expected an SBU line/,
      ],
      ['e.jsonl', new Uint8Array(0), /^e\.jsonl: expected sequences, found none$/],
      [
        'f.jsonl',
        Buffer.from(`${goodLines[0]}\n{"id":"x","label":0,"subject":"p","frames":[]}\n`),
        /^f\.jsonl:2: sequence "x" has no frames: nothing to classify$/,
      ],
      [
        't.jsonl',
        Buffer.from(goodLines[0].slice(0, 50)),
        /^t\.jsonl:1: expected valid JSON, found a syntax error/,
      ],
    ];
    for (const [file, bytes, expected] of cases) {
      const error = thrown(() => parseSequenceFile(bytes, file, { ...skeleton, persons: 1 }));
      assert.ok(error instanceof DataFormatError, String(error));
      assert.match(error.message, expected);
      assert.ok(!error.message.includes('\n'));
    }
  });

  it('allocates for the rows a file can hold, not for its line count', () => {
    // 50 million blank lines once allocated 50M × 91 float64s (RangeError: Invalid typed array length).
    const blank = new Uint8Array(50_000_000).fill(10);
    assert.equal(parseFrameFile(blank, 'blank.txt', SBU_FRAME_FORMAT).frames, 0);
  });

  it('a skeleton claiming 2^31 persons fails on the frames, allocating nothing', async () => {
    const huge = { ...skeleton, persons: 2 ** 31 - 1 };
    const error = await loadError({
      kind: 'generic',
      path: genericFolder(JSON.stringify(huge), goodLines.join('\n')),
    });
    assert.match(error.message, /sequences\.jsonl:1: frames\[0\]: expected 2147483647 persons, found 2$/);
  });

  it('shortens a long garbage line of the FPHA split file in its message', async () => {
    const error = await loadError({
      kind: 'fpha',
      path: fphaFolder(`${'x'.repeat(100_000)}\n`, `${fphaLine(0)}\n`),
    });
    assert.match(error.message, /:1: expected a 'Training <count>' header, found "x{36}\.\.\.$/);
  });

  it('YAML failures in config files and --set values are one line with the file and line', async () => {
    const dir = scratchDir('reliability-config');
    const syntax = writeIn(dir, 's.yaml', 'dataset: synthetic\nepochs: [\n');
    await assert.rejects(readConfigFile(syntax), {
      message: `${syntax}:3: not readable as YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    });
    const aliases = writeIn(dir, 'a.yaml', `a: &a [1]\nb: [${Array(200).fill('*a').join(',')}]\n`);
    await assert.rejects(readConfigFile(aliases), {
      message: `${aliases}: not readable as YAML: Excessive alias count indicates a resource exhaustion attack`,
    });
    const json = writeIn(dir, 'j.json', '{\n  "dataset": "synthetic",\n  "epochs": 3,,\n}');
    await assert.rejects(readConfigFile(json), (error) => {
      assert.ok(error instanceof DataFormatError);
      assert.match(error.message, /j\.json:3: expected valid JSON, found a syntax error \(.*position \d+\)$/);
      return true;
    });
    assert.throws(() => parseOverrides(['epochs=[']), {
      name: 'ConfigError',
      message: '--set epochs=[: not readable as YAML: Flow sequence must end with a ]',
    });
  });
});

describe('fuzzing findings: symbolic links, protocols, split sections, huge lists', () => {
  const sbuText = [sbuLine(1), sbuLine(2), sbuLine(3)].join('\n');

  it('SBU: follows a symbolic link to a sequence file or a set folder, as if it were there', async () => {
    const outside = scratchDir('reliability-sbu-outside');
    const copy = writeIn(outside, 'copy.txt', sbuText);
    writeIn(outside, 'set/s01s03-2-1.txt', sbuText);
    const dir = sbuFolder(sbuText);
    symlinkSync(copy, join(dir, 's01s02/s01s02-1-2.txt'));
    symlinkSync(join(outside, 'set'), join(dir, 's01s03'));
    const dataset = await loadDataset({ kind: 'sbu', path: dir });
    assert.deepEqual(
      dataset.sequences.map((s) => s.id),
      ['s01s02/01/001', 's01s02/01/002', 's01s03/02/001'],
    );
    assert.deepEqual(dataset.sequences[1].positions, dataset.sequences[0].positions);
    assert.ok(!dataset.issues.some((i) => i.file.includes('s01s02-1-2') || i.file.includes('s01s03')));
  });

  it('SBU: a dangling symbolic link is an issue naming it, in either layout, never dropped silently', async () => {
    const dir = sbuFolder(sbuText);
    const flat = join(dir, 's01s02/s01s02-1-2.txt');
    symlinkSync(join(dir, 'nothing-here.txt'), flat);
    const official = join(dir, 's01s02/02/001/skeleton_pos.txt');
    mkdirSync(dirname(official), { recursive: true });
    symlinkSync(join(dir, 'nothing-either.txt'), official);
    symlinkSync(join(dir, 'no-such-set'), join(dir, 's05s02'));
    const dataset = await loadDataset({ kind: 'sbu', path: dir });
    assert.deepEqual(
      dataset.sequences.map((s) => s.id),
      ['s01s02/01/001'],
    );
    const issue = (file: string) => dataset.issues.find((i) => i.file === file)?.message;
    assert.equal(
      issue(flat),
      `symbolic link to a missing target '${join(dir, 'nothing-here.txt')}': skipped`,
    );
    assert.equal(
      issue(official),
      `symbolic link to a missing target '${join(dir, 'nothing-either.txt')}': sequence folder skipped`,
    );
    assert.match(issue(join(dir, 's05s02')) ?? '', /^symbolic link to a missing target .*: skipped$/);
  });

  it('generic: refuses a fold listing an id twice, an id in both parts, or two folds of one name', async () => {
    const lines = [sequenceLine('s1', 'ann'), sequenceLine('s2', 'bob'), sequenceLine('s3', 'bob')].join(
      '\n',
    );
    const cases: [unknown, RegExp][] = [
      [{ name: 'f', test: ['s1', 's2', 's1'] }, /protocol 'p' fold 'f' lists id 's1' twice in 'test'$/],
      [
        { name: 'f', train: ['s2', 's3', 's2'], test: ['s1'] },
        /protocol 'p' fold 'f' lists id 's2' twice in 'train'$/,
      ],
      [
        { name: 'f', train: ['s2', 's1'], test: ['s1'] },
        /protocol 'p' fold 'f' has 1 id\(s\) in both 'train' and 'test' \(the model would be tested on sequences it trained on\): s1$/,
      ],
      [
        [
          { name: 'f', test: ['s1'] },
          { name: 'f', test: ['s2'] },
        ],
        /protocol 'p' has two folds named 'f'$/,
      ],
    ];
    for (const [folds, pattern] of cases) {
      const protocols = { p: Array.isArray(folds) ? folds : [folds] };
      const dir = genericFolder(JSON.stringify({ ...skeleton, protocols }), lines);
      const error = await loadError({ kind: 'generic', path: dir });
      assert.ok(error.message.startsWith(`${join(dir, 'skeleton.json')}: `), error.message);
      assert.match(error.message, pattern);
    }
  });

  it('generic: refuses a bone joining a joint to itself', async () => {
    const bones = [
      [0, 1],
      [0, 0],
    ];
    const dir = genericFolder(JSON.stringify({ ...skeleton, bones }), goodLines.join('\n'));
    const error = await loadError({ kind: 'generic', path: dir });
    assert.match(
      error.message,
      /skeleton\.json: bones\[1\]: expected two different joints, found \[0, 0\] \(a joint joined to itself\)$/,
    );
  });

  it('FPHA: the split file needs both sections, Training then Test, each once', async () => {
    const train = 'Training 1\nSubject_1/prick/1 5\n';
    const cases: [string, RegExp][] = [
      [
        train,
        /split_action_recognition\.txt: expected a 'Test <n>' section after the Training section, found none \(is the file cut short\?\)$/,
      ],
      [`Test 0\n${train}`, /:1: expected a 'Training <count>' header first, found "Test 0"$/],
      [
        `${train}Training 0\nTest 0\n`,
        /:3: expected a 'Test <count>' header after the Training section, found a second 'Training' header$/,
      ],
      [
        `${train}Test 0\nTest 0\n`,
        /:4: expected nothing after the Test section, found a second 'Test' header$/,
      ],
      [
        '\n\n',
        /split_action_recognition\.txt: expected 'Training <n>' and 'Test <n>' sections, found neither$/,
      ],
    ];
    for (const [split, pattern] of cases) {
      const error = await loadError({
        kind: 'fpha',
        path: fphaFolder(split, `${fphaLine(0)}\n${fphaLine(1)}\n`),
      });
      assert.match(error.message, pattern, JSON.stringify(split));
    }
  });

  it('validation stops at the first issue: a million bad elements give one issue, quickly', () => {
    const million = Array<number>(1_000_000).fill(1e308);
    const started = performance.now();
    const parsed = safeParseFirst(z.array(z.string()), million);
    assert.equal(parsed.success, false);
    assert.equal(parsed.error?.issues.length, 1, 'zod no longer honours abortEarly in safeParse');
    assert.ok(performance.now() - started < 1000, `${performance.now() - started} ms`);
  });

  it('a million-element list in skeleton.json or a config fails in bounded time with one message', async () => {
    const million = (element: string) => `[${Array<string>(1_000_000).fill(element).join(',')}]`;
    const skeletonWith = (field: string, value: string) =>
      JSON.stringify({ ...skeleton, [field]: '@list@' }).replace('"@list@"', value);
    const cases: [string, RegExp][] = [
      [
        skeletonWith('protocols', `{"p":${million('1e308')}}`),
        /skeleton\.json: protocols\.p\[0\]: Invalid input: expected object, received number \(found 1e\+308\)$/,
      ],
      [
        skeletonWith('bones', million('[0,0,0]')),
        /skeleton\.json: bones: expected at most 4 bones \(joints², 2 joints\) \(found 1000000 entries\)$/,
      ],
      [
        skeletonWith('jointNames', million('1e308')),
        /skeleton\.json: jointNames\[0\]: Invalid input: expected string, received number \(found 1e\+308\)$/,
      ],
      [
        skeletonWith('protocols', `{"p":[{"name":"f","test":${million('"s1"')}}]}`),
        /skeleton\.json: protocols\.p\[0\]\.test: expected at most 2 ids \(one per sequence, 2 in all\) \(found 1000000 entries\)$/,
      ],
    ];
    for (const [text, pattern] of cases) {
      const started = performance.now();
      const error = await loadError({ kind: 'generic', path: genericFolder(text, goodLines.join('\n')) });
      assert.match(error.message, pattern);
      assert.ok(performance.now() - started < 3000, `${pattern}: ${performance.now() - started} ms`);
    }
    const dir = scratchDir('reliability-config');
    const config = writeIn(
      dir,
      'run.json',
      `{"dataset":"synthetic","features":{"channels":${million('1e308')}}}`,
    );
    const started = performance.now();
    const error = thrown(() => resolveRunConfig({ ...JSON.parse(readFileSync(config, 'utf8')) }, {}, config));
    assert.ok(error instanceof ConfigError, String(error));
    assert.match(
      error.message,
      /run\.json: features\.channels: Too big: expected array to have <=3 items \(found 1000000 entries\)$/,
    );
    assert.ok(performance.now() - started < 1000, `${performance.now() - started} ms`);
  });
});

describe('the CLI on such inputs: one line, non-zero exit', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [join(REPO_ROOT, 'bin/skelprune.js'), ...args], { encoding: 'utf8' });

  it('data inspect on float32-overflowing coordinates no longer says "Issues: none"', () => {
    const lines = [goodLines[0], sequenceLine('s2', 'bob', '3.5e38')].join('\n');
    const dir = genericFolder(JSON.stringify(skeleton), lines);
    const result = cli('data', 'inspect', '--dataset', 'generic', '--path', dir);
    assert.equal(result.status, 1);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      `skelprune: ${join(dir, 'sequences.jsonl')}:2: frames[0][0][0]: expected a finite number within float32 range (±3.4e38), found 3.5e+38\n`,
    );
  });

  it('predict --json prints no null probabilities for non-finite or overflowing input', () => {
    const dir = scratchDir('reliability-predict');
    const trained = cli(
      'train',
      '--dataset',
      'synthetic',
      '--epochs',
      '1',
      '--fold',
      '1',
      '--out',
      join(dir, 'run'),
      '--set',
      'synthetic.sequencesPerClass=2',
      'synthetic.classes=2',
      'model.fcUnits=8',
      'model.heads=1',
    );
    assert.equal(trained.status, 0, trained.stderr);
    const model = join(dir, 'model.skp');
    const exported = cli('export', '--model', join(dir, 'run', 'fold-1', 'model.ckpt'), '--out', model);
    assert.equal(exported.status, 0, exported.stderr);
    const joints = generateSynthetic({ classes: 2, sequencesPerClass: 2 }).graph.jointNames.length;
    const frames = (x: number) => [Array.from({ length: joints }, (_, j) => [j === 0 ? x : 0, 0, 0])];
    const record = (values: number[]) =>
      `${JSON.stringify({ id: 'x', label: 0, subject: 'p', frames: values.flatMap(frames) })}\n`;
    for (const [name, text, expected] of [
      [
        'overflow.jsonl',
        record([1e308]),
        /overflow\.jsonl:1: frames\[0\]\[0\]\[0\]: expected a finite number within float32 range/,
      ],
      // Finite float32 values whose differences overflow: the runtime refuses them.
      ['extreme.jsonl', record([3e38, -3e38, 3e38]), /^skelprune: .+\n$/],
    ] as const) {
      const input = writeIn(dir, name, text);
      const result = cli('predict', '--model', model, '--input', input, '--json');
      assert.notEqual(result.status, 0, result.stdout);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, expected);
      assert.equal(result.stderr.split('\n').length, 2, result.stderr);
      assert.doesNotMatch(result.stderr, /internal error|\n\s+at /);
    }
  });
});
