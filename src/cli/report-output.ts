/** The end of `reproduce` and `combine`: the report's tables on the console and what was written. */
import type { ReproduceReport } from '../api/reproduce.js';
import {
  accuracyNote,
  COMPARISON_COLUMN_DEFINITIONS,
  COMPARISON_TITLE,
  type ColumnDefinition,
  comparisonNote,
  comparisonTable,
  failuresWarning,
  QUICK_WARNING,
  RESULT_COLUMN_DEFINITIONS,
  resultsTable,
} from '../report/results.js';

/** `text` broken into lines of at most `width` characters, every line after the first indented. */
function wrap(text: string, width = 100, indent = ''): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    const prefix = lines.length === 0 ? '' : indent;
    if (line && prefix.length + line.length + 1 + word.length > width) {
      lines.push(prefix + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push((lines.length === 0 ? '' : indent) + line);
  return lines.join('\n');
}

/** Every column of a table with its explanation, one wrapped entry each. */
function legend(definitions: readonly ColumnDefinition[]): string {
  return definitions.map((c) => `  ${wrap(`${c.name}: ${c.explanation}`, 98, '    ')}`).join('\n');
}

/** Prints the tables of a written report, what their columns mean, and where it is. */
export function printReport({ results, out, files }: ReproduceReport): void {
  const warning = results.quick ? `\n${wrap(`!! ${QUICK_WARNING}`, 100, '   ')}\n` : '';
  console.log(warning);
  const failed = failuresWarning(results);
  if (failed) console.log(`${wrap(`!! ${failed}`, 100, '   ')}\n`);
  console.log(
    `${wrap(accuracyNote(results))}\n\n${resultsTable(results)}\n\nColumns:\n${legend(RESULT_COLUMN_DEFINITIONS)}\n`,
  );
  const comparison = comparisonTable(results);
  if (comparison) {
    console.log(`${COMPARISON_TITLE}\n${wrap(comparisonNote(results))}\n\n${comparison}\n`);
    console.log(`Columns:\n${legend(COMPARISON_COLUMN_DEFINITIONS)}\n`);
  }
  console.log(`${files.length} files in ${out}: results.json, results.md, report.html, plots/, masks/`);
  if (results.quick) console.log('!! Quick run: these figures mean nothing (see the warning above).');
}
