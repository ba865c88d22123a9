import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resultsMarkdown } from '../../src/report/artifacts.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { comparisonTable, pairedComparisons } from '../../src/report/results.js';
import { reproduceResults, runFigures } from './fixtures.js';

describe('pairedComparisons', () => {
  const results = reproduceResults(0, [
    runFigures('dense', 0, [0.95, 0.9, 1]),
    runFigures('ctf', 0.9, [0.9, 0.8, 1]),
    runFigures('mp-unstructured', 0.9, [0.85, 0.8, 0.9]),
    runFigures('ctf', 0.98, [0.7, 0.7, 0.7]),
  ]);

  it('pairs CTF with the dense model and every method at its rate, fold by fold', () => {
    const comparisons = pairedComparisons(results);
    assert.deepEqual(
      comparisons.map((c) => `${c.rate} ${c.against}`),
      ['0.9 dense', '0.9 mp-unstructured', '0.98 dense'],
    );
    const mp = comparisons[1];
    // Differences 0.05, 0, 0.1: mean 0.05, sample SD 0.05, t(2) = 4.303.
    assert.ok(Math.abs(mp.difference - 0.05) < 1e-12);
    assert.ok(Math.abs((mp.halfWidth ?? 0) - (4.303 * 0.05) / Math.sqrt(3)) < 1e-9);
    assert.deepEqual([mp.ahead, mp.tied, mp.behind], [2, 1, 0]);
    assert.deepEqual([comparisons[0].ahead, comparisons[0].tied, comparisons[0].behind], [0, 1, 2]);
  });

  it('prints the difference and its interval in points, with no interval for one fold', () => {
    const table = comparisonTable(results);
    assert.match(
      table,
      /\| +90% \| mp-unstructured +\| +\+5\.00 points \| +−7\.42 to \+17\.42 \| +2 \/ 1 \/ 0 \|/,
    );
    const oneFold = reproduceResults(0, [runFigures('ctf', 0.9, [0.8]), runFigures('l1', 0.9, [0.85])]);
    assert.match(comparisonTable(oneFold), /\| +90% \| l1 +\| +−5\.00 points \| +— \| +0 \/ 0 \/ 1 \|/);
    assert.equal(comparisonTable(reproduceResults(0, [runFigures('l1', 0.9, [0.8])])), '');
  });

  it('goes into results.md and report.html under its own heading', () => {
    const files = {
      'results.md': resultsMarkdown(results),
      'report.html': renderHtmlReport(results, [], []),
    };
    for (const [file, text] of Object.entries(files)) {
      assert.match(text, /CTF against the others, paired by fold/, file);
      assert.match(
        text,
        /Student's t over the folds' differences|Student&#39;s t over the folds&#39; differences/,
        file,
      );
    }
  });
});
