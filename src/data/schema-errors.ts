/** Turns a zod validation failure into one line naming where, what was expected and what was found. */
import type { z } from 'zod';

export function describeSchemaError(error: z.ZodError, input: unknown): string {
  const issue = error.issues[0];
  const where = formatPath(issue.path);
  const found = issue.code === 'unrecognized_keys' ? '' : ` (found ${preview(valueAt(input, issue.path))})`;
  return `${where ? `${where}: ` : ''}${issue.message}${found}`;
}

/** `a.b[2].c` style, the way the user would point at the value in their JSON. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

export function preview(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= 40 ? text : `${text.slice(0, 37)}...`;
}
