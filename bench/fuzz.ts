/**
 * The long fuzz run: `npm run fuzz -- --count 20000 [--seed S] [--workers 2] [--timeout 10000] [--memory 512]`
 * prints the counts by input kind × outcome and every failure with the master seed and case index;
 * `--case I[,J…]` replays cases in this thread with whole stacks and `--dump DIR` writes their mutated
 * files there; `--json FILE` writes every result. The seed also comes from `SKELPRUNE_FUZZ_SEED`, the count from `SKELPRUNE_FUZZ_COUNT`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBases } from '../test/fuzz/bases.js';
import { CaseRunner, isFailure } from '../test/fuzz/cases.js';
import { countsTable, describeFailure, failureClasses, masterSeed, runFuzz } from '../test/fuzz/harness.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string' },
    seed: { type: 'string' },
    case: { type: 'string' },
    workers: { type: 'string' },
    timeout: { type: 'string' },
    memory: { type: 'string' },
    dump: { type: 'string' },
    json: { type: 'string' },
    quiet: { type: 'boolean' },
  },
});

const integer = (text: string | undefined, name: string, fallback: number) => {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`--${name} must be an integer, got ${text}`);
  return n;
};

const seed = values.seed !== undefined ? integer(values.seed, 'seed', 0) : masterSeed(20261201);
const count = integer(values.count ?? process.env.SKELPRUNE_FUZZ_COUNT, 'count', 20000);

if (values.case !== undefined) {
  // Replay in this thread: whole stacks (to the project's frame under a stack overflow), and the
  // mutated file when asked for.
  Error.stackTraceLimit = 200_000;
  const dir = mkdtempSync(join(tmpdir(), 'skelprune-fuzz-replay-'));
  try {
    await buildBases(join(dir, 'base'));
    const runner = new CaseRunner(join(dir, 'base'), join(dir, 'work'), seed, true);
    await runner.init();
    for (const index of values.case.split(',').map((c) => integer(c, 'case', 0))) {
      const { mutation, file } = runner.plan(index);
      if (values.dump !== undefined && mutation.bytes) {
        mkdirSync(values.dump, { recursive: true });
        const out = join(values.dump, `case-${index}-${basename(file)}`);
        writeFileSync(out, mutation.bytes);
        console.log(`wrote ${out}`);
      }
      const result = await runner.run(index);
      console.log(JSON.stringify(result, null, 2));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  console.log(
    `fuzz: master seed ${seed}, ${count} cases (replay one: npm run fuzz -- --seed ${seed} --case I)`,
  );
  let seen = 0;
  const report = await runFuzz({
    seed,
    count,
    workers: integer(values.workers, 'workers', 2),
    timeoutMs: integer(values.timeout, 'timeout', 10_000),
    memoryMb: integer(values.memory, 'memory', 512),
    onResult: (r) => {
      if (isFailure(r.outcome) && !values.quiet) console.log(`FAIL ${describeFailure(r, seed)}`);
      if (++seen % 1000 === 0) console.log(`fuzz: ${seen} / ${count} cases`);
    },
  });
  console.log(
    `\nfuzz: ${count} cases, seed ${seed}, ${report.seconds.toFixed(1)} s, peak RSS growth ${report.peakRssMb} MB\n`,
  );
  console.log(countsTable(report));
  const classes = failureClasses(report);
  console.log(`\n${report.failures.length} failures in ${classes.length} classes:`);
  for (const { cls, count: n, first } of classes)
    console.log(`  ${n}× ${cls}\n      e.g. ${describeFailure(first, seed)}`);
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify(report, null, 1));
  process.exitCode = report.failures.length > 0 ? 1 : 0;
}
