/** The end of `reproduce` and `combine`: the report written to disk and its tables on the console. */
import { writeArtifacts } from '../report/artifacts.js';
import { COMPARISON_TITLE, comparisonTable, type ReproduceResults, resultsTable } from '../report/results.js';

/** Writes every artifact of `results` into `out`, then prints the tables and what was written. */
export async function writeReport(results: ReproduceResults, out: string): Promise<void> {
  const written = await writeArtifacts(results, out);
  console.log(`\n${resultsTable(results)}\n`);
  const comparison = comparisonTable(results);
  if (comparison) console.log(`${COMPARISON_TITLE}:\n${comparison}\n`);
  console.log(`${written.length} files in ${out}: results.json, results.md, report.html, plots/, masks/`);
}
