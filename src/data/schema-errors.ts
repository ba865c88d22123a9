/** Turns a zod validation failure into one line naming where, what was expected and what was found. */
import type { z } from 'zod';

/**
 * `schema.safeParse(input)` that stops at the first issue. Every message here reports only the first
 * issue, and collecting all of them costs one issue per element: a million bad array elements took
 * seconds and hundreds of MB, and a container re-spreading a million child issues overflowed the
 * stack inside zod. zod 4 aborts early only in `validate()` (a boolean, no issue), through the parse
 * context's `abortEarly` flag; it is passed here directly. test/data/reliability.test.ts pins that
 * a million bad elements still give one issue, quickly, should a zod release drop the flag.
 */
export function safeParseFirst<S extends z.ZodType>(
  schema: S,
  input: unknown,
): z.ZodSafeParseResult<z.output<S>> {
  return schema.safeParse(input, { abortEarly: true } as z.core.ParseContext<z.core.$ZodIssue>);
}

export function describeSchemaError(error: z.ZodError, input: unknown): string {
  const issue = deepestAlternative(error.issues[0]);
  const where = formatPath(issue.path);
  const value = valueAt(input, issue.path);
  // A list too long or too short: its length says more than its first elements.
  const sized = (issue.code === 'too_big' || issue.code === 'too_small') && Array.isArray(value);
  const shown = sized ? `${value.length} ${value.length === 1 ? 'entry' : 'entries'}` : preview(value);
  const found = issue.code === 'unrecognized_keys' ? '' : ` (found ${shown})`;
  return `${where ? `${where}: ` : ''}${issue.message}${found}`;
}

/**
 * For a value that matches none of a union's alternatives, the issue of the alternative that got
 * furthest into it (the longest path): `protocols.p[0]: expected object`, not `protocols.p: Invalid
 * input`. Union issues' paths are relative to the union, so the union's own path is prepended.
 */
function deepestAlternative(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  const candidates = issue.errors.map((branch) => branch[0]).filter((first) => first !== undefined);
  if (candidates.length === 0) return issue;
  const deepest = candidates.reduce((best, next) => (next.path.length > best.path.length ? next : best));
  return deepestAlternative({ ...deepest, path: [...issue.path, ...deepest.path] } as z.core.$ZodIssue);
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

const PREVIEW_LENGTH = 40;

/**
 * `value` as JSON for a message, cut to 40 characters. Walks only as much of the value as it shows,
 * so no nesting, however deep, overflows the stack.
 */
export function preview(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = jsonPrefix(value, PREVIEW_LENGTH + 1);
  return text.length <= PREVIEW_LENGTH ? text : `${text.slice(0, PREVIEW_LENGTH - 3)}...`;
}

/**
 * The JSON text of `value` (numbers as JavaScript writes them: `NaN` stays `NaN`), or at least its
 * first `limit` characters. Every level of nesting writes a bracket before descending, so the
 * recursion is at most `limit` deep.
 */
function jsonPrefix(value: unknown, limit: number): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, limit));
  if (value === null || typeof value !== 'object') return String(value);
  const array = Array.isArray(value);
  let text = array ? '[' : '{';
  for (const key of array ? value.keys() : Object.keys(value)) {
    if (text.length > 1) text += ',';
    if (!array) text += `${JSON.stringify(String(key).slice(0, limit))}:`;
    if (text.length >= limit) return text;
    text += jsonPrefix((value as Record<PropertyKey, unknown>)[key], limit - text.length);
    if (text.length >= limit) return text;
  }
  return `${text}${array ? ']' : '}'}`;
}

/** A name or id from the data for a message, cut to 40 characters. */
export const short = (text: string) => (text.length > 40 ? `${text.slice(0, 37)}...` : text);

/** The first few ids of a list for a message, then how many more. */
export function listIds(ids: readonly string[]): string {
  const SHOWN = 5;
  const shown = ids.slice(0, SHOWN).map(short);
  return ids.length > SHOWN ? `${shown.join(', ')} and ${ids.length - SHOWN} more` : shown.join(', ');
}
