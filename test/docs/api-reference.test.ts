import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../helpers.js';

describe('the API reference (docs/api)', () => {
  it('documents every export of both packages and matches their doc comments', () => {
    // TypeDoc with notDocumented/notExported validation as errors, then a fresh render compared to docs/api.
    const run = spawnSync(process.execPath, [join(projectRoot, 'tools/typedoc/docs.mjs'), '--check'], {
      encoding: 'utf8',
    });
    const problems = `${run.stdout}${run.stderr}`
      .split('\n')
      .filter((line) => /warning|error|out of date/.test(line));
    const shown = problems.slice(0, 40).join('\n');
    const more = problems.length > 40 ? `\n... ${problems.length - 40} more (npm run docs:check)` : '';
    assert.equal(run.status, 0, `${shown}${more}`);
  });
});
