/** Aligned plain-text tables for terminal reports. */

/**
 * Formats rows of cells into aligned lines; `align` has one letter per column, 'l' or 'r'.
 * The first row is the header when `header` is set, underlined with dashes.
 */
export function formatTable(rows: readonly (readonly string[])[], align: string, header = false): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, c) => (align[c] === 'r' ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  const lines = rows.map(line);
  if (header) lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return lines;
}

/** A markdown table (first row: header), columns padded and aligned by `align` ('l' or 'r' each). */
export function markdownTable(rows: readonly (readonly string[])[], align: string): string {
  const widths = rows[0].map((_, c) => Math.max(3, ...rows.map((row) => (row[c] ?? '').length)));
  const pad = (cell: string, c: number) =>
    align[c] === 'r' ? cell.padStart(widths[c]) : cell.padEnd(widths[c]);
  const line = (row: readonly string[]) => `| ${row.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (align[c] === 'r' ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join('\n');
}
