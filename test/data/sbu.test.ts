import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadDataset } from '../../src/data/load.js';
import { summarizeDataset } from '../../src/data/summary.js';
import type { Dataset } from '../../src/data/types.js';
import { DataFormatError } from '../../src/errors.js';
import { numberLine, realDataset, scratchDir } from './helpers.js';

const real = realDataset('SBU');

describe('SBU on the real data', { skip: real.skip }, () => {
  let sbu: Dataset;
  before(async () => {
    sbu = await loadDataset({ kind: 'sbu', path: real.path });
  });

  it('has 282 sequences in 21 sets with 6,822 frames and no issues', () => {
    assert.equal(sbu.sequences.length, 282);
    assert.equal(new Set(sbu.sequences.map((s) => s.subject)).size, 21);
    assert.equal(summarizeDataset(sbu).frames.total, 6822);
    assert.deepEqual(sbu.issues, []);
  });

  it('has the documented per-class counts and class names', () => {
    assert.deepEqual(summarizeDataset(sbu).perClass, [42, 43, 40, 41, 18, 21, 39, 38]);
    assert.deepEqual(sbu.classNames, [
      'approaching',
      'departing',
      'kicking',
      'pushing',
      'shaking hands',
      'hugging',
      'exchanging objects',
      'punching',
    ]);
  });

  it('has the official 5 folds with the documented test sizes, each set tested exactly once', () => {
    const folds = sbu.protocols['5-fold'];
    assert.deepEqual(
      folds.map((f) => f.test.length),
      [55, 52, 56, 54, 65],
    );
    assert.deepEqual(
      summarizeDataset(sbu).protocols[0].folds.map((f) => f.test.frames),
      [1439, 1305, 1413, 1190, 1475],
    );
    for (const fold of folds) assert.equal(fold.train.length + fold.test.length, 282);
    const tested = folds.flatMap((f) => f.test);
    assert.equal(new Set(tested).size, 282);
  });

  it('uses official-layout ids and reads 2 persons × 15 joints, lengths 10 to 46', () => {
    const byId = new Map(sbu.sequences.map((s) => [s.id, s]));
    assert.equal(byId.get('s01s02/08/002')?.frames, 10);
    assert.equal(byId.get('s02s07/05/001')?.frames, 46);
    for (const s of sbu.sequences) {
      assert.equal(s.positions.length, s.frames * 2 * 15 * 3);
      assert.equal(s.label, Number(s.id.split('/')[1]) - 1);
    }
  });

  it('denormalizes to millimetres by default (depth about 1 to 3.2 m) and keeps raw values on request', async () => {
    const raw = await loadDataset({ kind: 'sbu', path: real.path, units: 'normalized' });
    assert.equal(sbu.units, 'mm');
    let minZ = Infinity;
    let maxZ = -Infinity;
    sbu.sequences.forEach((s, i) => {
      const r = raw.sequences[i].positions;
      for (let k = 0; k < s.positions.length; k += 3) {
        assert.ok(Math.abs(s.positions[k] - (1280 - 2560 * r[k])) < 1e-3);
        assert.ok(Math.abs(s.positions[k + 1] - (960 - 1920 * r[k + 1])) < 1e-3);
        minZ = Math.min(minZ, s.positions[k + 2]);
        maxZ = Math.max(maxZ, s.positions[k + 2]);
      }
    });
    assert.ok(minZ > 900 && maxZ < 3200, `z range ${minZ}..${maxZ} mm`);
  });

  it('reads the official layout (sAAsBB/0C/00K/skeleton_pos.txt) the same as the flat one', async () => {
    const dir = scratchDir('sbu-official');
    const picked = ['s01s02-1-1', 's01s02-8-2', 's05s02-4-3'];
    for (const name of picked) {
      const [set, c, k] = name.split('-');
      const folder = join(dir, set, `0${c}`, `00${k}`);
      mkdirSync(folder, { recursive: true });
      copyFileSync(join(real.path, set, `${name}.txt`), join(folder, 'skeleton_pos.txt'));
    }
    const official = await loadDataset({ kind: 'sbu', path: dir });
    assert.deepEqual(
      official.sequences.map((s) => s.id),
      ['s01s02/01/001', 's01s02/08/002', 's05s02/04/003'],
    );
    for (const s of official.sequences) {
      const flat = sbu.sequences.find((f) => f.id === s.id);
      assert.deepEqual(s.positions, flat?.positions);
    }
    assert.deepEqual(
      official.protocols['5-fold'].map((f) => f.test.length),
      [3, 0, 0, 0, 0],
    );
    assert.match(
      official.issues[0].message,
      /^official sets with no sequences: s01s03, .* their folds are smaller$/,
    );
  });
});

describe('SBU reader on malformed files', () => {
  const goodLine = (frame: number) => `${frame},${numberLine(90, ',', frame)}`;

  async function loadFlat(files: Record<string, string>) {
    const dir = scratchDir('sbu-bad');
    mkdirSync(join(dir, 's01s02'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 's01s02', name), text);
    return { dir, load: () => loadDataset({ kind: 'sbu', path: dir }) };
  }

  async function rejection(files: Record<string, string>): Promise<DataFormatError> {
    const { load } = await loadFlat(files);
    try {
      await load();
    } catch (error) {
      assert.ok(error instanceof DataFormatError);
      return error;
    }
    assert.fail('expected a DataFormatError');
  }

  it('names the file and line of a truncated line, with the expected and found field counts', async () => {
    const error = await rejection({ 's01s02-1-1.txt': `${goodLine(5)}\r\n${goodLine(6).slice(0, 40)}\r\n` });
    assert.match(error.message, /s01s02-1-1\.txt:2: expected 91 comma-separated numbers, found \d+ fields$/);
    assert.equal(error.line, 2);
  });

  it('names the field holding text or NaN', async () => {
    const text = await rejection({
      's01s02-2-1.txt': `${goodLine(1)}\r\n${goodLine(2).replace(/,[^,]*/, ',x1')}\r\n`,
    });
    assert.match(text.message, /s01s02-2-1\.txt:2: field 2 of 91: expected a number, found "x1"$/);
    const nan = await rejection({ 's01s02-2-1.txt': `${goodLine(1).replace(/,[^,]*$/, ',NaN')}\r\n` });
    assert.match(nan.message, /s01s02-2-1\.txt:1: field 91 of 91: expected a finite number, found "NaN"$/);
  });

  it('reports a wrong column count (one person only)', async () => {
    const error = await rejection({ 's01s02-3-1.txt': `1,${numberLine(45, ',')}\r\n` });
    assert.match(error.message, /s01s02-3-1\.txt:1: expected 91 comma-separated numbers, found 46 fields$/);
  });

  it('skips an empty file and a misnamed file, reporting both, and flags a gap in frame numbers', async () => {
    const { dir, load } = await loadFlat({
      's01s02-1-1.txt': `${goodLine(7)}\r\n${goodLine(9)}\r\n`,
      's01s02-1-2.txt': '',
      'notes.txt': 'hello',
    });
    const dataset = await load();
    assert.deepEqual(
      dataset.sequences.map((s) => s.id),
      ['s01s02/01/001'],
    );
    const messages = dataset.issues.map(
      (i) => `${i.file.slice(dir.length)}${i.line ? `:${i.line}` : ''} ${i.message}`,
    );
    assert.ok(messages.includes('/s01s02/s01s02-1-2.txt empty file: skipped'), messages.join('\n'));
    assert.ok(messages.includes('/s01s02/notes.txt not named s01s02-<class>-<seq>.txt: ignored'));
    assert.ok(
      messages.some((m) =>
        m.startsWith('/s01s02/s01s02-1-1.txt:2 frame numbers are not consecutive (expected 8, found 9)'),
      ),
    );
  });

  it('fails when the folder holds no sequence files', async () => {
    const dir = scratchDir('sbu-none');
    await assert.rejects(loadDataset({ kind: 'sbu', path: dir }), {
      message: `${dir}: no SBU sequence files (expected sAAsBB/sAAsBB-C-K.txt or sAAsBB/0C/00K/skeleton_pos.txt)`,
    });
  });

  it('fails with one line when the folder does not exist', async () => {
    await assert.rejects(loadDataset({ kind: 'sbu', path: '/nonexistent/SBU' }), {
      message: '/nonexistent/SBU: no such directory (expected SBU set folders such as s01s02/)',
    });
  });
});
