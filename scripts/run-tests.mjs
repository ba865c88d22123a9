// Runs every compiled test file (dist/test/**/*.test.js and the runtime package's
// packages/runtime/dist/test/**/*.test.js) with Node's built-in test runner.
// Extra arguments filter test files by substring, e.g. `node scripts/run-tests.mjs engine`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

const files = [join(root, 'dist/test'), join(root, 'packages/runtime/dist/test')]
  .flatMap(testFiles)
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(', ')}`);
  process.exit(1);
}
console.log(`running ${files.length} test files: ${files.map((f) => relative(root, f)).join(', ')}`);
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
