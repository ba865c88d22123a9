/** The end of `reproduce` and `combine`: the report's tables on the console and what was written. */
import type { ReproduceReport } from '../api/reproduce.js';
import { COMPARISON_TITLE, comparisonTable, resultsTable } from '../report/results.js';

/** Prints the tables of a written report and where it is. */
export function printReport({ results, out, files }: ReproduceReport): void {
  console.log(`\n${resultsTable(results)}\n`);
  const comparison = comparisonTable(results);
  if (comparison) console.log(`${COMPARISON_TITLE}:\n${comparison}\n`);
  console.log(`${files.length} files in ${out}: results.json, results.md, report.html, plots/, masks/`);
}
