import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getFold, leaveOneSubjectOut, validationSplit } from '../../src/data/splits.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import type { SkeletonSequence } from '../../src/data/types.js';

describe('validationSplit', () => {
  const dataset = generateSynthetic({ classes: 5, sequencesPerClass: 21, subjects: 3 });
  const fold = getFold(dataset, 'cross-subject', 0);
  const labelOf = new Map(dataset.sequences.map((s) => [s.id, s.label]));
  const perClass = (ids: readonly string[]) =>
    dataset.classNames.map((_, c) => ids.filter((id) => labelOf.get(id) === c).length);

  it('takes round(fraction × n) of every class and partitions the training ids', () => {
    const split = validationSplit(dataset, fold.train, { fraction: 0.2, seed: 1 });
    const trainCounts = perClass(fold.train);
    assert.deepEqual(
      perClass(split.validation),
      trainCounts.map((n) => Math.round(0.2 * n)),
    );
    assert.deepEqual([...split.train, ...split.validation].sort(), [...fold.train].sort());
    assert.equal(new Set([...split.train, ...split.validation]).size, fold.train.length);
    assert.ok(split.validation.every((id) => !fold.test.includes(id)));
  });

  it('is deterministic from its seed, keeps the input order, and depends on the seed', () => {
    const a = validationSplit(dataset, fold.train, { seed: 7 });
    assert.deepEqual(validationSplit(dataset, fold.train, { seed: 7 }), a);
    const order = (ids: string[]) => ids.map((id) => fold.train.indexOf(id));
    assert.deepEqual(
      order(a.validation),
      [...order(a.validation)].sort((x, y) => x - y),
    );
    assert.notDeepEqual(validationSplit(dataset, fold.train, { seed: 8 }).validation, a.validation);
    assert.equal(
      a.validation.length,
      perClass(fold.train).reduce((s, n) => s + Math.round(0.1 * n), 0),
    );
  });

  it('rejects a bad fraction and unknown ids', () => {
    assert.throws(
      () => validationSplit(dataset, fold.train, { fraction: 1, seed: 1 }),
      /fraction must be in \[0, 1\), got 1/,
    );
    assert.throws(() => validationSplit(dataset, ['nope'], { seed: 1 }), /synthetic has no sequence 'nope'/);
    assert.deepEqual(validationSplit(dataset, fold.train, { fraction: 0, seed: 1 }).validation, []);
  });
});

describe('folds', () => {
  it('leaves one subject out per fold, subjects in natural order', () => {
    const seq = (id: string, subject: string) => ({ id, subject }) as SkeletonSequence;
    const folds = leaveOneSubjectOut([seq('a', 'S10'), seq('b', 'S2'), seq('c', 'S10')]);
    assert.deepEqual(folds, [
      { name: 'S2', train: ['a', 'c'], test: ['b'] },
      { name: 'S10', train: ['b'], test: ['a', 'c'] },
    ]);
  });

  it('finds folds by name or index and lists the choices otherwise', () => {
    const dataset = generateSynthetic({ sequencesPerClass: 4, subjects: 2 });
    assert.equal(getFold(dataset, 'cross-subject', 'subject2').name, 'subject2');
    assert.equal(getFold(dataset, 'cross-subject', 0).name, 'subject1');
    assert.throws(() => getFold(dataset, '1:1', 0), {
      message: "synthetic has no protocol '1:1' (protocols: cross-subject)",
    });
    assert.throws(
      () => getFold(dataset, 'cross-subject', 5),
      /has no fold 5 \(folds: 0 'subject1', 1 'subject2'\)/,
    );
  });
});

describe('validationSplit by subject', () => {
  const dataset = generateSynthetic({ classes: 4, sequencesPerClass: 20, subjects: 5 });
  const fold = getFold(dataset, 'cross-subject', 0);
  const subjectOf = new Map(dataset.sequences.map((s) => [s.id, s.subject]));
  const subjects = (ids: readonly string[]) => new Set(ids.map((id) => subjectOf.get(id)));

  it('holds out whole subjects, at least the asked share, and no subject is in both parts', () => {
    const split = validationSplit(dataset, fold.train, { fraction: 0.3, by: 'subject', seed: 3 });
    const held = subjects(split.validation);
    assert.ok(held.size >= 1 && held.size < subjects(fold.train).size);
    assert.ok([...subjects(split.train)].every((s) => !held.has(s)));
    assert.ok(split.validation.length >= Math.round(0.3 * fold.train.length));
    assert.deepEqual([...split.train, ...split.validation].sort(), [...fold.train].sort());
    assert.deepEqual(validationSplit(dataset, fold.train, { fraction: 0.3, by: 'subject', seed: 3 }), split);
  });

  it('refuses a share that would hold out every subject', () => {
    assert.throws(
      () => validationSplit(dataset, fold.train, { fraction: 0.9, by: 'subject', seed: 1 }),
      /would hold out all 4 subject\(s\) of the training part; lower the fraction or validate by class/,
    );
    assert.deepEqual(
      validationSplit(dataset, fold.train, { fraction: 0, by: 'subject', seed: 1 }).validation,
      [],
    );
  });
});
