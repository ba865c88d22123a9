/**
 * The fuzz suite: 2,400 seeded mutations, 300 of each of the eight input kinds (SBU files and folder
 * layout, FPHA skeleton.txt, FPHA split file, generic skeleton.json and sequences.jsonl, checkpoints,
 * `.skp` model files, JSON/YAML run configs), each loaded in-process by the loader the CLI uses. Every
 * outcome must be a SkelpruneError naming the mutated file, the unmutated input's result, or (text
 * formats) another valid input with finite values and the base's structure (datasets: or loaded with
 * an issue naming the file); no other exception, no hang (10 s per case), no heap over 512 MB.
 * `SKELPRUNE_FUZZ_SEED` and `SKELPRUNE_FUZZ_COUNT` change the seed and the count; the long run is
 * `npm run fuzz -- --count 20000`.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { KINDS } from './cases.js';
import {
  countsTable,
  describeFailure,
  type FuzzReport,
  failureClasses,
  masterSeed,
  runFuzz,
} from './harness.js';

const SEED = masterSeed(20261201);
const COUNT = Number(process.env.SKELPRUNE_FUZZ_COUNT ?? 2400);

describe(`fuzzing every input kind (${COUNT} cases, master seed ${SEED})`, () => {
  let report: FuzzReport;
  before(async () => {
    console.log(`fuzz: master seed ${SEED} (SKELPRUNE_FUZZ_SEED to change), ${COUNT} cases`);
    report = await runFuzz({ seed: SEED, count: COUNT });
    console.log(countsTable(report));
    console.log(`fuzz: ${report.seconds.toFixed(1)} s, peak RSS growth ${report.peakRssMb} MB`);
  });

  it('runs at least 1,000 cases, every kind its share', () => {
    assert.ok(COUNT >= 1000 || process.env.SKELPRUNE_FUZZ_COUNT !== undefined, `only ${COUNT} cases`);
    assert.equal(report.results.length, COUNT);
    for (const kind of KINDS) {
      const total = Object.values(report.counts[kind]).reduce((a, b) => a + b, 0);
      assert.ok(total >= Math.floor(COUNT / KINDS.length), `${kind}: only ${total} cases`);
    }
  });

  for (const kind of KINDS) {
    it(`${kind}: every mutation ends in a SkelpruneError naming the file or an accepted result`, () => {
      const failures = report.failures.filter((r) => r.kind === kind);
      const classes = failureClasses({ ...report, failures });
      assert.equal(
        failures.length,
        0,
        `${failures.length} ${kind} cases failed, in ${classes.length} classes (replay: npm run fuzz -- --seed ${SEED} --case I):\n${classes
          .map(({ count, first }) => `${count}× ${describeFailure(first, SEED)}`)
          .join('\n')}`,
      );
    });
  }
});
