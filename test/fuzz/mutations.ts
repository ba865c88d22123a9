/**
 * The fuzzer's mutations. Each takes the bytes of one valid file and a seeded generator and returns
 * the bytes to write instead (or a change to the file system), with a one-line description precise
 * enough to rebuild the input by hand (offsets, values, JSON paths).
 */
import type { FuzzRng } from './random.js';

/** How a file is organised, which decides the mutations that make sense for it. */
export type FileFormat = 'frames' | 'split' | 'json' | 'jsonl' | 'yaml' | 'safetensors';

/** A change to the file system around the target file (run in the worker's copy of the bases). */
export type FsChange =
  | { op: 'remove' }
  | { op: 'directory' }
  | { op: 'symlink-copy' }
  | { op: 'dangling-symlink' }
  | { op: 'rename'; to: string }
  | { op: 'copy'; to: string }
  | { op: 'add-file'; at: string; content: string }
  | { op: 'rename-dir'; dir: string; to: string };

export interface Mutation {
  /** The mutation class, e.g. `bitflip`, `st-header-length`, `json-deep-nesting`. */
  name: string;
  /** What exactly was done, e.g. `bit 3 of byte 812 (header JSON)`. */
  detail: string;
  /** The mutated file's new content. */
  bytes?: Uint8Array;
  /** Or a change to the file system. */
  fs?: FsChange;
  /** The result must equal the base's (a no-op for the data, e.g. a symlink to an identical copy). */
  identical?: boolean;
  /** Whole frame lines were added or removed: a valid result may have other frame counts. */
  framesMayChange?: boolean;
  /**
   * The file's checksum entry was removed with the change (a file from a writer that records none,
   * which readers accept as unchecked): a different but finite result is then allowed.
   */
  unchecked?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Hostile numbers, as text. */
export const HOSTILE_NUMBERS = [
  '1e308',
  '-1e308',
  '3.5e38',
  '-3.5e38',
  '1e39',
  '1e400',
  '-1e400',
  'NaN',
  'nan',
  'Infinity',
  '-Infinity',
  'inf',
  '-0',
  '1e-400',
  '1e-45',
  '4.9e-324',
  '99999999999999999999999',
  '9007199254740993',
  '-1',
  '0',
  '1.5',
  '0x1F',
  '1_000',
  '+1',
  '1e',
  '.',
  '--1',
  '١٢',
];

/** Hostile JSON values, as raw text (some not JSON at all). */
const HOSTILE_JSON = [
  ...HOSTILE_NUMBERS.filter((t) => /^-?\d/.test(t)),
  'NaN',
  'Infinity',
  '-Infinity',
  'null',
  'true',
  'false',
  '""',
  '"x"',
  '"1"',
  '"NaN"',
  '{}',
  '[]',
  '[null]',
  '[[]]',
  '{"__proto__":{"polluted":1}}',
  '"\\ud800"',
  '"\\u0000"',
];

// ---------------------------------------------------------------------------------------------------
// Bytes

function replaceRange(bytes: Uint8Array, start: number, end: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length - (end - start) + insert.length);
  out.set(bytes.subarray(0, start), 0);
  out.set(insert, start);
  out.set(bytes.subarray(end), start + insert.length);
  return out;
}

/** Where a byte offset lies in a safetensors file (for the descriptions). */
export function safetensorsRegion(bytes: Uint8Array, offset: number): string {
  if (offset < 8) return 'header length';
  if (bytes.length < 8) return 'past the end';
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (offset < 8 + length) return 'header JSON';
  try {
    const header = JSON.parse(decoder.decode(bytes.subarray(8, 8 + length))) as Record<
      string,
      { data_offsets?: [number, number] }
    >;
    const at = offset - 8 - length;
    for (const [name, entry] of Object.entries(header)) {
      const [b, e] = entry.data_offsets ?? [0, 0];
      if (at >= b && at < e) return `data of tensor '${name}'`;
    }
  } catch {
    // a header the base always has; unreachable
  }
  return 'tensor data';
}

function byteMutation(bytes: Uint8Array, rng: FuzzRng, format: FileFormat): Mutation {
  const where = (offset: number) =>
    format === 'safetensors' ? ` (${safetensorsRegion(bytes, offset)})` : lineOf(bytes, offset);
  const choice = rng.weighted<string>([
    ['truncate', 3],
    ['truncate-small', 1],
    ['truncate-tail', 1],
    ['empty', 1],
    ['bitflip', 4],
    ['byteflip', 3],
    ['random-bytes', 1],
    ['insert-random', 1],
    ['delete-chunk', 1],
    ['duplicate-chunk', 1],
  ]);
  const n = bytes.length;
  switch (choice) {
    // A cut may drop whole trailing lines and shorten the last number left into another valid one:
    // the text formats carry no frame count, so fewer frames cannot be detected.
    case 'truncate': {
      const keep = rng.int(n);
      return {
        name: 'truncate',
        detail: `kept the first ${keep} of ${n} bytes`,
        bytes: bytes.slice(0, keep),
        framesMayChange: true,
      };
    }
    case 'truncate-small': {
      const keep = rng.int(Math.min(17, n));
      return {
        name: 'truncate',
        detail: `kept the first ${keep} of ${n} bytes`,
        bytes: bytes.slice(0, keep),
        framesMayChange: true,
      };
    }
    case 'truncate-tail': {
      const drop = rng.range(1, 8);
      return {
        name: 'truncate',
        detail: `dropped the last ${drop} of ${n} bytes`,
        bytes: bytes.slice(0, Math.max(0, n - drop)),
        framesMayChange: true,
      };
    }
    case 'empty':
      return { name: 'empty', detail: 'empty file (0 bytes)', bytes: new Uint8Array(0) };
    case 'bitflip': {
      const out = bytes.slice();
      const flips: string[] = [];
      for (let k = rng.range(1, 3); k > 0; k--) {
        const offset = rng.int(n);
        const bit = rng.int(8);
        out[offset] ^= 1 << bit;
        flips.push(`bit ${bit} of byte ${offset}${where(offset)}`);
      }
      return { name: 'bitflip', detail: flips.join('; '), bytes: out };
    }
    case 'byteflip': {
      const out = bytes.slice();
      const flips: string[] = [];
      for (let k = rng.range(1, 3); k > 0; k--) {
        const offset = rng.int(n);
        const value = rng.pick([0x00, 0xff, 0x80, 0x7f, 0x20, 0x0a, 0x22, 0x5c, 0x7b, 0x5d, rng.int(256)]);
        flips.push(`byte ${offset} ${hex(out[offset])}→${hex(value)}${where(offset)}`);
        out[offset] = value;
      }
      return { name: 'byteflip', detail: flips.join('; '), bytes: out };
    }
    case 'random-bytes': {
      const length = rng.pick([1, 7, 8, 9, 64, rng.int(4096)]);
      return {
        name: 'random-bytes',
        detail: `the whole file replaced by ${length} random bytes`,
        bytes: rng.bytes(length),
      };
    }
    case 'insert-random': {
      const at = rng.int(n + 1);
      const length = rng.range(1, 32);
      return {
        name: 'insert-random',
        detail: `${length} random bytes inserted at ${at}${where(at)}`,
        bytes: replaceRange(bytes, at, at, rng.bytes(length)),
      };
    }
    case 'delete-chunk': {
      const at = rng.int(n);
      const length = Math.min(n - at, rng.range(1, 64));
      return {
        name: 'delete-chunk',
        detail: `bytes ${at}..${at + length - 1} deleted${where(at)}`,
        bytes: replaceRange(bytes, at, at + length, new Uint8Array(0)),
      };
    }
    default: {
      const at = rng.int(n);
      const length = Math.min(n - at, rng.range(1, 64));
      return {
        name: 'duplicate-chunk',
        detail: `bytes ${at}..${at + length - 1} repeated${where(at)}`,
        bytes: replaceRange(bytes, at, at, bytes.slice(at, at + length)),
      };
    }
  }
}

const hex = (v: number) => `0x${v.toString(16).padStart(2, '0')}`;

function lineOf(bytes: Uint8Array, offset: number): string {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 10) line++;
  return ` (line ${line})`;
}

// ---------------------------------------------------------------------------------------------------
// Encodings

function encodingMutation(text: string, rng: FuzzRng): Mutation {
  const choice = rng.pick(['utf16le-bom', 'utf16be-bom', 'utf16le', 'latin1', 'utf8-bom', 'utf8-bom-twice']);
  switch (choice) {
    case 'utf16le-bom':
    case 'utf16le': {
      const body = Buffer.from(text, 'utf16le');
      const bytes = choice === 'utf16le' ? body : Buffer.concat([Buffer.from([0xff, 0xfe]), body]);
      return { name: `encoding-${choice}`, detail: `re-encoded as ${choice}`, bytes: new Uint8Array(bytes) };
    }
    case 'utf16be-bom': {
      const le = Buffer.from(text, 'utf16le');
      const be = Buffer.alloc(le.length);
      for (let i = 0; i + 1 < le.length; i += 2) {
        be[i] = le[i + 1];
        be[i + 1] = le[i];
      }
      return {
        name: 'encoding-utf16be-bom',
        detail: 're-encoded as UTF-16BE with BOM',
        bytes: new Uint8Array(Buffer.concat([Buffer.from([0xfe, 0xff]), be])),
      };
    }
    case 'latin1':
      return {
        name: 'encoding-latin1',
        detail: `re-encoded as Latin-1${[...text].some((c) => c.charCodeAt(0) > 0x7f) ? ' (non-ASCII characters differ)' : ' (ASCII only: same bytes)'}`,
        bytes: new Uint8Array(Buffer.from(text, 'latin1')),
      };
    case 'utf8-bom':
      return {
        name: 'encoding-utf8-bom',
        detail: 'UTF-8 BOM (EF BB BF) prepended',
        bytes: encoder.encode(`\ufeff${text}`),
      };
    default:
      return {
        name: 'encoding-utf8-bom',
        detail: 'two UTF-8 BOMs prepended',
        bytes: encoder.encode(`\ufeff\ufeff${text}`),
      };
  }
}

// ---------------------------------------------------------------------------------------------------
// Text

const NUMBER_TOKEN = /-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/g;

function numberTokens(text: string): { index: number; token: string }[] {
  return [...text.matchAll(NUMBER_TOKEN)].map((m) => ({ index: m.index ?? 0, token: m[0] }));
}

function splitLines(text: string): string[] {
  return text.split('\n');
}

function textMutation(text: string, rng: FuzzRng, format: FileFormat): Mutation {
  const lines = splitLines(text);
  const contentLines = lines.map((l, i) => [l, i] as const).filter(([l]) => l.trim() !== '');
  const pickLine = () => rng.pick(contentLines)[1];
  const frameLike = format === 'frames' || format === 'jsonl';
  const choice = rng.weighted<string>([
    ['hostile-number', 6],
    ['digit', 3],
    ['line-delete', 1],
    ['line-duplicate', 1],
    ['line-swap', 1],
    ['blank-lines', 1],
    ['line-endings', 1],
    ['whitespace', 1],
    ['control-char', 1],
    ['unicode', 1],
    ['huge-line', 1],
    ['many-lines', 1],
    ['fields', format === 'frames' || format === 'split' ? 3 : 0],
  ]);
  const out = (name: string, detail: string, result: string, extra: Partial<Mutation> = {}): Mutation => ({
    name,
    detail,
    bytes: encoder.encode(result),
    ...extra,
  });
  switch (choice) {
    case 'hostile-number':
    case 'digit': {
      const tokens = numberTokens(text);
      if (tokens.length === 0) return out('no-op', 'no number to change', text, { identical: true });
      const { index, token } = rng.pick(tokens);
      let replacement: string;
      if (choice === 'digit') {
        const digits = [...token].map((c, i) => [c, i] as const).filter(([c]) => /\d/.test(c));
        const [c, i] = rng.pick(digits);
        const d = String((Number(c) + rng.range(1, 9)) % 10);
        replacement = token.slice(0, i) + d + token.slice(i + 1);
      } else replacement = rng.pick(HOSTILE_NUMBERS);
      return out(
        choice,
        `number '${token}' at char ${index}${lineOf(encoder.encode(text.slice(0, index)), index)} → '${replacement}'`,
        text.slice(0, index) + replacement + text.slice(index + token.length),
      );
    }
    case 'line-delete': {
      const i = pickLine();
      return out('line-delete', `line ${i + 1} deleted`, lines.filter((_, k) => k !== i).join('\n'), {
        framesMayChange: frameLike,
      });
    }
    case 'line-duplicate': {
      const i = pickLine();
      return out(
        'line-duplicate',
        `line ${i + 1} duplicated`,
        [...lines.slice(0, i + 1), lines[i], ...lines.slice(i + 1)].join('\n'),
        { framesMayChange: frameLike },
      );
    }
    case 'line-swap': {
      const i = pickLine();
      const j = pickLine();
      const swapped = [...lines];
      [swapped[i], swapped[j]] = [swapped[j], swapped[i]];
      return out('line-swap', `lines ${i + 1} and ${j + 1} swapped`, swapped.join('\n'), {
        identical: i === j,
      });
    }
    case 'blank-lines': {
      const i = rng.int(lines.length + 1);
      const blank = rng.pick(['', '   ', '\t', '\r']);
      return out(
        'blank-lines',
        `blank line ${JSON.stringify(blank)} inserted before line ${i + 1}`,
        [...lines.slice(0, i), blank, ...lines.slice(i)].join('\n'),
      );
    }
    case 'line-endings': {
      const ending = rng.pick(['crlf', 'cr', 'none-final', 'mixed']);
      const plain = text.replace(/\r\n/g, '\n');
      const result =
        ending === 'crlf'
          ? plain.replace(/\n/g, '\r\n')
          : ending === 'cr'
            ? plain.replace(/\n/g, '\r')
            : ending === 'none-final'
              ? text.replace(/[\r\n]+$/, '')
              : plain
                  .split('\n')
                  .map((l, i) => (i % 2 ? `${l}\r` : l))
                  .join('\n');
      return out('line-endings', `line endings: ${ending}`, result);
    }
    case 'whitespace': {
      const i = pickLine();
      const where = rng.pick(['leading', 'trailing', 'doubled']);
      const ws = rng.pick([' ', '\t', '  ', '\u00a0', '\u3000']);
      const changed = [...lines];
      changed[i] =
        where === 'leading'
          ? ws + changed[i]
          : where === 'trailing'
            ? changed[i] + ws
            : changed[i].replace(/([ ,])/, `$1${ws}`);
      return out('whitespace', `${where} ${JSON.stringify(ws)} on line ${i + 1}`, changed.join('\n'));
    }
    case 'control-char':
    case 'unicode': {
      const at = rng.int(text.length + 1);
      const ch =
        choice === 'control-char'
          ? rng.pick(['\u0000', '\u0001', '\u001a', '\u007f', '\u000b', '\u000c'])
          : rng.pick(['é', '\ufffd', '\u2028', '😀', '\u200b', '\ufeff', '\ud800']);
      return out(
        choice,
        `${JSON.stringify(ch)} inserted at char ${at}${lineOf(encoder.encode(text.slice(0, at)), at)}`,
        text.slice(0, at) + ch + text.slice(at),
      );
    }
    case 'huge-line': {
      const i = pickLine();
      const count = rng.pick([100_000, 400_000]);
      const sep = format === 'frames' && text.includes(',') ? ',' : ' ';
      const line = Array.from({ length: count }, (_, k) => String(k % 10)).join(sep);
      return out(
        'huge-line',
        `line ${i + 1} replaced by ${count} fields (${line.length} chars)`,
        [...lines.slice(0, i), line, ...lines.slice(i + 1)].join('\n'),
      );
    }
    case 'many-lines': {
      const i = pickLine();
      const count = rng.pick([2_000, 20_000]);
      return out(
        'many-lines',
        `line ${i + 1} repeated ${count} times`,
        [...lines.slice(0, i), ...Array<string>(count).fill(lines[i]), ...lines.slice(i + 1)].join('\n'),
        { framesMayChange: frameLike },
      );
    }
    default: {
      // Field-level changes of a separated line (frames, split file).
      const i = pickLine();
      const sep = lines[i].includes(',') ? ',' : ' ';
      const fields = lines[i].replace(/\r$/, '').split(sep);
      const cr = lines[i].endsWith('\r') ? '\r' : '';
      const op = rng.pick(['delete', 'add', 'empty', 'separator', 'split-number']);
      const k = rng.int(fields.length);
      let changed: string[];
      let detail: string;
      if (op === 'delete') {
        changed = fields.filter((_, j) => j !== k);
        detail = `field ${k + 1} of line ${i + 1} deleted`;
      } else if (op === 'add') {
        changed = [...fields.slice(0, k), '0.5', ...fields.slice(k)];
        detail = `field '0.5' inserted before field ${k + 1} of line ${i + 1}`;
      } else if (op === 'empty') {
        changed = fields.map((f, j) => (j === k ? '' : f));
        detail = `field ${k + 1} of line ${i + 1} emptied`;
      } else if (op === 'split-number') {
        changed = fields.map((f, j) => (j === k ? `${f.slice(0, 1)}${sep}${f.slice(1)}` : f));
        detail = `field ${k + 1} of line ${i + 1} split in two`;
      } else {
        const other = rng.pick([',', ' ', '\t', ';', ', ', '  ']);
        const lineText = fields.join(other) + cr;
        const all = [...lines];
        all[i] = lineText;
        return out('fields', `separator of line ${i + 1} → ${JSON.stringify(other)}`, all.join('\n'));
      }
      const all = [...lines];
      all[i] = changed.join(sep) + cr;
      return out('fields', detail, all.join('\n'));
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// JSON values

const PLACEHOLDER = '@@skelprune-fuzz@@';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type PathItem = string | number;

/** Every node of a JSON value with its path, shallow ones first. */
function jsonNodes(value: Json, path: PathItem[] = [], out: PathItem[][] = [], limit = 5000): PathItem[][] {
  out.push(path);
  if (out.length >= limit) return out;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) jsonNodes(v, [...path, i], out, limit);
  } else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) jsonNodes(v, [...path, k], out, limit);
  return out;
}

function getAt(value: Json, path: PathItem[]): Json {
  let node = value;
  for (const key of path) node = (node as Record<string, Json>)[key as string];
  return node;
}

function setAt(value: Json, path: PathItem[], replacement: Json): Json {
  if (path.length === 0) return replacement;
  const parent = getAt(value, path.slice(0, -1)) as Record<string, Json>;
  parent[path[path.length - 1] as string] = replacement;
  return value;
}

function deleteAt(value: Json, path: PathItem[]): void {
  const parent = getAt(value, path.slice(0, -1));
  const key = path[path.length - 1];
  if (Array.isArray(parent)) parent.splice(key as number, 1);
  else delete (parent as Record<string, Json>)[key as string];
}

const showPath = (path: PathItem[]) =>
  path.length === 0 ? '(root)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');

/** Nesting of `depth` levels, as raw JSON (or YAML flow) text. */
function deepNesting(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/**
 * A mutation of one node of a parsed JSON value; returns the new text (`stringify` formats it) and the
 * description. Raw replacements (NaN, deep nesting) go through a placeholder string.
 */
function jsonValueMutation(
  value: Json,
  rng: FuzzRng,
  stringify: (v: Json) => string,
): { name: string; detail: string; text: string; frames?: boolean } {
  const nodes = jsonNodes(value);
  // Half the time a structural node (depth ≤ 2), so the headers are hit, not only the coordinates.
  const shallow = nodes.filter((p) => p.length <= 2);
  const path = rng.next() < 0.5 && shallow.length > 0 ? rng.pick(shallow) : rng.pick(nodes);
  const target = getAt(value, path);
  const choice = rng.weighted<string>([
    ['hostile', 5],
    ['type', 3],
    ['deep-nesting', 2],
    ['huge-string', 1],
    ['huge-array', 1],
    ['delete-key', path.length > 0 ? 2 : 0],
    ['unknown-key', target !== null && typeof target === 'object' && !Array.isArray(target) ? 1 : 0],
    ['proto-key', target !== null && typeof target === 'object' && !Array.isArray(target) ? 1 : 0],
    ['duplicate-key', target !== null && typeof target === 'object' && !Array.isArray(target) ? 1 : 0],
    ['scale-number', typeof target === 'number' ? 2 : 0],
  ]);
  const raw = (name: string, detail: string, rawText: string) => {
    const text = stringify(setAt(value, path, PLACEHOLDER)).replace(JSON.stringify(PLACEHOLDER), rawText);
    return { name, detail, text };
  };
  const at = showPath(path);
  switch (choice) {
    case 'hostile': {
      const v = rng.pick(HOSTILE_JSON);
      return raw('json-hostile-value', `${at} → ${v}`, v);
    }
    case 'type': {
      const v = rng.pick(['null', 'true', '"x"', '{}', '[]', '-1', '0', '1.5', '""', '[1,2,3]', '"0"']);
      return raw('json-type', `${at} → ${v}`, v);
    }
    case 'deep-nesting': {
      const depth = rng.pick([5_000, 10_000, 50_000]);
      const shape = rng.pick(['array', 'object'] as const);
      return raw('json-deep-nesting', `${at} → ${shape} nested ${depth} levels`, deepNesting(depth, shape));
    }
    case 'huge-string': {
      const length = rng.pick([100_000, 2_000_000]);
      return raw(
        'json-huge-string',
        `${at} → a string of ${length} chars`,
        JSON.stringify('x'.repeat(length)),
      );
    }
    case 'huge-array': {
      const length = rng.pick([100_000, 1_000_000]);
      const element = rng.pick(['0', '1e308', '[0,0,0]']);
      return raw(
        'json-huge-array',
        `${at} → an array of ${length} × ${element}`,
        `[${Array<string>(length).fill(element).join(',')}]`,
      );
    }
    case 'delete-key':
      deleteAt(value, path);
      return {
        name: 'json-delete',
        detail: `${at} deleted`,
        text: stringify(value),
        frames: path[0] === 'frames' && path.length === 2,
      };
    case 'unknown-key':
      (target as Record<string, Json>).fuzzUnknown = 1;
      return { name: 'json-unknown-key', detail: `${at}.fuzzUnknown = 1 added`, text: stringify(value) };
    case 'proto-key': {
      const text = stringify(value).replace(
        /^(\s*)\{/,
        '$1{"__proto__": {"polluted": true}, "constructor": 1,',
      );
      if (path.length === 0)
        return { name: 'json-proto-key', detail: '__proto__ and constructor keys at (root)', text };
      return raw(
        'json-proto-key',
        `__proto__ and constructor keys added to ${at}`,
        stringify(target)
          .replace(/^\{/, '{"__proto__": {"polluted": true}, "constructor": 1,')
          .replace(/,\}$/, '}'),
      );
    }
    case 'duplicate-key': {
      const keys = Object.keys(target as object);
      if (keys.length === 0) return raw('json-duplicate-key', `${at}: empty object, unchanged`, '{}');
      const key = rng.pick(keys);
      const body = stringify(target).trim();
      return raw(
        'json-duplicate-key',
        `${at}.${key} given twice (second value null)`,
        `${body.slice(0, -1)}${body.length > 2 ? ',' : ''}${JSON.stringify(key)}: null}`,
      );
    }
    default: {
      const factor = rng.pick([1e300, 1e-300, -1, 1e10, 2 ** 31, 2 ** 53]);
      const v = (target as number) * factor;
      return raw('json-scale-number', `${at}: ${target} × ${factor} = ${v}`, String(v));
    }
  }
}

function jsonMutation(text: string, rng: FuzzRng): Mutation {
  const value = JSON.parse(text) as Json;
  const indent = /\n\s/.test(text.trim()) ? 2 : undefined;
  const {
    name,
    detail,
    text: result,
  } = jsonValueMutation(value, rng, (v) => JSON.stringify(v, null, indent));
  return { name, detail, bytes: encoder.encode(indent ? `${result}\n` : result) };
}

function jsonlMutation(text: string, rng: FuzzRng): Mutation {
  const lines = text.split('\n');
  const candidates = lines.map((l, i) => [l, i] as const).filter(([l]) => l.trim() !== '');
  const [line, index] = rng.pick(candidates);
  const {
    name,
    detail,
    text: result,
    frames,
  } = jsonValueMutation(JSON.parse(line) as Json, rng, (v) => JSON.stringify(v));
  const all = [...lines];
  all[index] = result;
  return {
    name,
    detail: `line ${index + 1}: ${detail}`,
    bytes: encoder.encode(all.join('\n')),
    framesMayChange: frames === true,
  };
}

function yamlMutation(text: string, rng: FuzzRng): Mutation {
  const choice = rng.pick([
    'deep-flow',
    'deep-block',
    'alias-bomb',
    'tags',
    'special-floats',
    'duplicate-key',
    'merge-key',
    'tabs',
    'document-markers',
  ]);
  const lines = text.split('\n');
  const keyLines = lines.map((l, i) => [l, i] as const).filter(([l]) => /^\s*\w+:/.test(l));
  const [line, index] = rng.pick(keyLines);
  const key = line.replace(/:.*/, '').trim();
  const indent = line.match(/^\s*/)?.[0] ?? '';
  const replaceValue = (value: string) => {
    const all = [...lines];
    all[index] = `${indent}${key}: ${value}`;
    return all.join('\n');
  };
  const out = (name: string, detail: string, result: string): Mutation => ({
    name: `yaml-${name}`,
    detail,
    bytes: encoder.encode(result),
  });
  switch (choice) {
    case 'deep-flow': {
      const depth = rng.pick([5_000, 20_000]);
      return out(
        'deep-nesting',
        `${key}: flow sequence nested ${depth} levels`,
        replaceValue(deepNesting(depth, 'array')),
      );
    }
    case 'deep-block': {
      const depth = rng.pick([5_000, 8_000]);
      const block = Array.from(
        { length: depth },
        (_, d) => `${' '.repeat(d + 1 + indent.length)}k${d}:`,
      ).join('\n');
      return out(
        'deep-nesting',
        `${key}: block mapping nested ${depth} levels`,
        replaceValue(`\n${block} 1`),
      );
    }
    case 'alias-bomb': {
      const levels = 9;
      const defs = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
      for (let k = 1; k < levels; k++)
        defs.push(
          `a${k}: &a${k} [${Array(9)
            .fill(`*a${k - 1}`)
            .join(', ')}]`,
        );
      return out(
        'alias-bomb',
        `billion-laughs aliases (9^${levels}) before the settings`,
        `${defs.join('\n')}\n${text}`,
      );
    }
    case 'tags': {
      const tag = rng.pick([
        '!!binary aGVsbG8=',
        '!!timestamp 2001-12-14',
        '!!set {a, b}',
        '!!omap [a: 1]',
        '!!js/function "function () {}"',
        '!unknown 3',
        '!!int 0x1F',
        '!!float 1e308',
      ]);
      return out('tag', `${key}: ${tag}`, replaceValue(tag));
    }
    case 'special-floats': {
      const v = rng.pick([
        '.nan',
        '.NaN',
        '.inf',
        '-.inf',
        '+.Inf',
        '1e400',
        '-0',
        '1e-400',
        '0o17',
        '0x1F',
        '1_000',
        '~',
      ]);
      return out('special-float', `${key}: ${v}`, replaceValue(v));
    }
    case 'duplicate-key': {
      const all = [...lines];
      all.splice(index + 1, 0, `${indent}${key}: null`);
      return out('duplicate-key', `${key} given twice (second: null)`, all.join('\n'));
    }
    case 'merge-key': {
      return out(
        'merge-key',
        `a '<<' merge key and an anchor in the root mapping`,
        `base: &base {epochs: 1e400, lr: .nan}\n<<: *base\n${text}`,
      );
    }
    case 'tabs': {
      const all = [...lines];
      all[index] = all[index].replace(/^ +/, '\t');
      return out('tabs', `line ${index + 1} indented with a tab`, all.join('\n'));
    }
    default:
      return out('document-markers', 'a second YAML document appended', `${text}---\nepochs: 1\n...\n`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Safetensors

interface Safetensors {
  header: Record<string, Json>;
  data: Uint8Array;
}

function parseSafetensors(bytes: Uint8Array): Safetensors {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return {
    header: JSON.parse(decoder.decode(bytes.subarray(8, 8 + length))) as Record<string, Json>,
    data: bytes.subarray(8 + length),
  };
}

function encodeSafetensorsRaw(headerText: string, data: Uint8Array, length?: bigint): Uint8Array {
  const header = encoder.encode(headerText);
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(header.length), true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

const METADATA_KEYS = ['skelprune', 'skelprune_model'];
/** The metadata entry holding a file's CRC-32 (runtime format/safetensors.ts). */
const CHECKSUM_KEY = 'skelprune_crc32';

/** The file with its header's checksum entry removed; undefined when the header does not parse or has none. */
function withoutChecksum(bytes: Uint8Array): Uint8Array | undefined {
  try {
    if (bytes.length < 8) return undefined;
    const length = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
    if (length > BigInt(bytes.length - 8)) return undefined;
    const { header, data } = parseSafetensors(bytes);
    const metadata = header.__metadata__ as Record<string, Json> | undefined;
    if (!metadata || typeof metadata !== 'object' || !(CHECKSUM_KEY in metadata)) return undefined;
    delete metadata[CHECKSUM_KEY];
    return encodeSafetensorsRaw(JSON.stringify(header), data);
  } catch {
    return undefined;
  }
}

function safetensorsMutation(bytes: Uint8Array, rng: FuzzRng): Mutation {
  const { header, data } = parseSafetensors(bytes);
  const headerLength = bytes.length - 8 - data.length;
  const tensorNames = Object.keys(header).filter((k) => k !== '__metadata__');
  const choice = rng.weighted<string>([
    ['header-length', 3],
    ['data-offsets', 3],
    ['shape', 3],
    ['dtype', 2],
    ['entries', 2],
    ['metadata', 6],
    ['header-json', 2],
    ['tensor-values', 3],
    ['header-bits', 2],
    ['data-bits', 2],
  ]);
  const reencode = (name: string, detail: string, h: Record<string, Json> = header): Mutation => ({
    name,
    detail,
    bytes: encodeSafetensorsRaw(JSON.stringify(h), data),
  });
  const raw = (name: string, detail: string, text: string): Mutation => ({
    name,
    detail,
    bytes: encodeSafetensorsRaw(text, data),
  });
  const entryOf = (n: string) => header[n] as { dtype: string; shape: Json[]; data_offsets: Json[] };
  switch (choice) {
    case 'header-length': {
      const fileLength = bytes.length;
      const values: [string, bigint][] = [
        ['0', 0n],
        ['1', 1n],
        ['7', 7n],
        ['N−1', BigInt(headerLength - 1)],
        ['N+1', BigInt(headerLength + 1)],
        ['N+8', BigInt(headerLength + 8)],
        ['file length', BigInt(fileLength)],
        ['file length − 8', BigInt(fileLength - 8)],
        ['2^31', 2n ** 31n],
        ['2^32 + N', 2n ** 32n + BigInt(headerLength)],
        ['2^53 + 1', 2n ** 53n + 1n],
        ['2^63', 2n ** 63n],
        ['2^64 − 1', 2n ** 64n - 1n],
      ];
      const [label, value] = rng.pick(values);
      const out = bytes.slice();
      new DataView(out.buffer).setBigUint64(0, value, true);
      return {
        name: 'st-header-length',
        detail: `header length ${headerLength} → ${label} (${value})`,
        bytes: out,
      };
    }
    case 'data-offsets': {
      const n = rng.pick(tensorNames);
      const entry = entryOf(n);
      const [b, e] = entry.data_offsets as number[];
      const variants: [string, Json][] = [
        ['[e, b]', [e, b]],
        ['[b, e + 4]', [b, e + 4]],
        ['[b − 4, e]', [b - 4, e]],
        ['[b + 4, e + 4]', [b + 4, e + 4]],
        ['[0, 0]', [0, 0]],
        ['[0, e − b]', [0, e - b]],
        ['[-8, e]', [-8, e]],
        ['[b, 1e20]', [b, 1e20]],
        ['[b, 2^53 + 2]', [b, 2 ** 53 + 2]],
        ['[b + 0.5, e + 0.5]', [b + 0.5, e + 0.5]],
        ['["b", e]', [String(b), e]],
        ['[b]', [b]],
        ['[b, e, 0]', [b, e, 0]],
        ['null', null],
        ['{}', {}],
        ['[b, data length]', [b, data.length]],
      ];
      const [label, value] = rng.pick(variants);
      entry.data_offsets = value as Json[];
      return reencode('st-data-offsets', `'${n}'.data_offsets [${b}, ${e}] → ${label}`);
    }
    case 'shape': {
      const n = rng.pick(tensorNames);
      const entry = entryOf(n);
      const shape = entry.shape as number[];
      const count = shape.reduce((p, d) => p * d, 1);
      const variants: [string, Json][] = [
        ['reversed', [...shape].reverse()],
        ['flattened', [count]],
        ['[count, 1]', [count, 1]],
        ['[]', []],
        ['[0]', [0]],
        ['[-1]', [-1]],
        ['[-count]', [-count]],
        ['[count / 2, 2] (same count, other split)', count % 2 === 0 ? [count / 2, 2] : [count]],
        ['[1e9, 1e9]', [1e9, 1e9]],
        ['[2^32, 2^32] (product overflows 2^53)', [2 ** 32, 2 ** 32]],
        ['[-2, -count/2] (negative dims, positive product)', [-2, -count / 2]],
        ['[1.5, ...]', [1.5, ...shape.slice(1)]],
        ['["3"]', [String(count)]],
        ['[null]', [null]],
        ['"shape"', 'shape'],
        ['[count, 1, 1, 1, 1, 1, 1, 1]', [count, 1, 1, 1, 1, 1, 1, 1]],
      ];
      const [label, value] = rng.pick(variants);
      entry.shape = value as Json[];
      return reencode('st-shape', `'${n}'.shape [${shape.join(', ')}] → ${label}`);
    }
    case 'dtype': {
      const n = rng.pick(tensorNames);
      const entry = entryOf(n);
      const before = entry.dtype;
      const after = rng.pick([
        'F32',
        'I32',
        'U8',
        'U16',
        'F16',
        'BF16',
        'F64',
        'I64',
        'BOOL',
        'f32',
        '',
        'F32 ',
      ]);
      entry.dtype = after;
      if (after === 'U8' && before !== 'U8') {
        // Keep the byte count consistent: 4× as many U8 elements.
        entry.shape = [...(entry.shape as number[]), 4];
      }
      return reencode('st-dtype', `'${n}'.dtype ${before} → ${JSON.stringify(after)}`);
    }
    case 'entries': {
      const op = rng.pick(['rename', 'delete', 'add', 'duplicate-name', 'swap-offsets']);
      const n = rng.pick(tensorNames);
      if (op === 'rename') {
        const to = rng.pick([`${n}.x`, n.toUpperCase(), '', '__proto__', 'constructor', `${n} `]);
        const h: Record<string, Json> = {};
        for (const [k, v] of Object.entries(header)) h[k === n ? to : k] = v;
        return reencode('st-entries', `tensor '${n}' renamed to ${JSON.stringify(to)}`, h);
      }
      if (op === 'delete') {
        delete header[n];
        return reencode('st-entries', `entry of tensor '${n}' removed (its data stays)`);
      }
      if (op === 'add') {
        header[`${n}.extra`] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] };
        return reencode('st-entries', `an empty tensor '${n}.extra' added`);
      }
      if (op === 'swap-offsets') {
        const m = rng.pick(tensorNames);
        const a = entryOf(n);
        const b = entryOf(m);
        [a.data_offsets, b.data_offsets] = [b.data_offsets, a.data_offsets];
        return reencode('st-entries', `data_offsets of '${n}' and '${m}' swapped`);
      }
      const text = JSON.stringify(header).replace(
        /\}$/,
        `,${JSON.stringify(n)}:${JSON.stringify(header[n])}}`,
      );
      return raw('st-entries', `tensor '${n}' listed twice in the header`, text);
    }
    case 'metadata': {
      const metadata = header.__metadata__ as Record<string, string>;
      const key = METADATA_KEYS.find((k) => metadata && k in metadata);
      if (!key) return reencode('st-metadata', 'no metadata; header re-encoded');
      const inner = JSON.parse(metadata[key]) as Json;
      const mutated = jsonValueMutation(inner, rng, (v) => JSON.stringify(v));
      metadata[key] = mutated.text;
      return reencode(`st-metadata-${mutated.name}`, `__metadata__.${key}: ${mutated.detail}`);
    }
    case 'header-json': {
      const text = decoder.decode(bytes.subarray(8, 8 + headerLength));
      const op = rng.pick([
        'deep-nesting',
        'not-object',
        'huge-padding',
        'metadata-type',
        'trailing-garbage',
        'nul-padding',
      ]);
      if (op === 'deep-nesting') {
        const depth = rng.pick([5_000, 100_000]);
        return raw(
          'st-header-deep-nesting',
          `header JSON → array nested ${depth} levels`,
          deepNesting(depth, 'array'),
        );
      }
      if (op === 'not-object') {
        const v = rng.pick(['[]', 'null', '1', '"x"', 'true']);
        return raw('st-header-json', `header JSON → ${v}`, v);
      }
      if (op === 'huge-padding')
        return raw('st-header-json', 'header padded with 1 MB of spaces', text + ' '.repeat(1 << 20));
      if (op === 'nul-padding')
        return raw(
          'st-header-json',
          'header padded with 8 NUL bytes',
          `${text}\u0000`.padEnd(text.length + 8, '\u0000'),
        );
      if (op === 'trailing-garbage')
        return raw('st-header-json', 'header followed by "}}" inside its length', `${text}}}`);
      const v = rng.pick(['1', '[]', '{"skelprune": 1}', '{"skelprune_model": null}', '"x"']);
      header.__metadata__ = JSON.parse(v) as Json;
      return reencode('st-header-json', `__metadata__ → ${v}`);
    }
    case 'tensor-values': {
      const floats = tensorNames.filter((n) => entryOf(n).dtype === 'F32');
      const n = rng.pick(floats.length > 0 ? floats : tensorNames);
      const entry = entryOf(n);
      const [b, e] = entry.data_offsets as number[];
      const out = bytes.slice();
      const view = new DataView(out.buffer, 8 + headerLength + b, e - b);
      const count = (e - b) >> 2;
      if (count === 0) return reencode('st-tensor-values', `tensor '${n}' is empty; header re-encoded`);
      const special = rng.pick([NaN, Infinity, -Infinity, 3.4e38, -3.4e38, 1e-45, -0, 1e30, 2 ** 31]);
      const k = rng.int(count);
      if (entry.dtype === 'F32') view.setFloat32(k * 4, special, true);
      else view.setUint32(k * 4, 0xffffffff, true);
      return {
        name: 'st-tensor-values',
        detail: `'${n}'[${k}] → ${entry.dtype === 'F32' ? special : '0xffffffff'}`,
        bytes: out,
      };
    }
    case 'header-bits': {
      const out = bytes.slice();
      const offset = 8 + rng.int(headerLength);
      const bit = rng.int(8);
      out[offset] ^= 1 << bit;
      const context = decoder.decode(
        bytes.subarray(Math.max(8, offset - 12), Math.min(8 + headerLength, offset + 12)),
      );
      return {
        name: 'st-header-bitflip',
        detail: `bit ${bit} of byte ${offset} (header JSON, near ${JSON.stringify(context)})`,
        bytes: out,
      };
    }
    default: {
      const out = bytes.slice();
      if (data.length === 0) return reencode('st-data-bitflip', 'no data; header re-encoded');
      const offset = 8 + headerLength + rng.int(data.length);
      const bit = rng.int(8);
      out[offset] ^= 1 << bit;
      return {
        name: 'st-data-bitflip',
        detail: `bit ${bit} of byte ${offset} (${safetensorsRegion(bytes, offset)})`,
        bytes: out,
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The file system

function fsMutation(
  rng: FuzzRng,
  extra: readonly (readonly [Mutation, number])[] = [],
  removable = true,
): Mutation {
  return rng.weighted<Mutation>([
    [{ name: 'fs-missing', detail: 'file removed', fs: { op: 'remove' } }, removable ? 1 : 0],
    [{ name: 'fs-directory', detail: 'file replaced by an empty directory', fs: { op: 'directory' } }, 1],
    [
      {
        name: 'fs-symlink',
        detail: 'file replaced by a symbolic link to an identical copy',
        fs: { op: 'symlink-copy' },
        identical: true,
      },
      1,
    ],
    [
      {
        name: 'fs-dangling-symlink',
        detail: 'file replaced by a dangling symbolic link',
        fs: { op: 'dangling-symlink' },
      },
      1,
    ],
    ...extra,
  ]);
}

/** SBU folder-layout changes around one sequence file (`file` relative to the SBU root). */
function sbuLayoutMutation(file: string, rng: FuzzRng): Mutation {
  const parts = file.split('/');
  const set = parts[0];
  const official = parts.length === 4;
  const choices: [Mutation, number][] = [];
  if (official) {
    const [, cls, seq] = parts;
    choices.push(
      [
        { name: 'sbu-layout', detail: 'sequence folder left without skeleton_pos.txt', fs: { op: 'remove' } },
        1,
      ],
      [
        {
          name: 'sbu-layout',
          detail: `also present in the flat layout as ${set}-${Number(cls)}-${Number(seq)}.txt`,
          fs: { op: 'copy', to: `${set}/${set}-${Number(cls)}-${Number(seq)}.txt` },
        },
        1,
      ],
      [
        {
          name: 'sbu-layout',
          detail: 'class folder renamed to 09',
          fs: { op: 'rename-dir', dir: `${set}/${cls}`, to: `${set}/09` },
        },
        1,
      ],
      [
        {
          name: 'sbu-layout',
          detail: 'sequence folder renamed to 1 (not 3 digits)',
          fs: { op: 'rename-dir', dir: `${set}/${cls}/${seq}`, to: `${set}/${cls}/1` },
        },
        1,
      ],
      [
        {
          name: 'sbu-layout',
          detail: 'file renamed to skeleton_pos.TXT',
          fs: { op: 'rename', to: `${set}/${cls}/${seq}/skeleton_pos.TXT` },
        },
        1,
      ],
    );
  } else {
    const name = parts[1];
    const m = /^(s\d\ds\d\d)-(\d)-(\d+)\.txt$/.exec(name)!;
    choices.push(
      [
        {
          name: 'sbu-layout',
          detail: `also present in the official layout as 0${m[2]}/${m[3].padStart(3, '0')}/skeleton_pos.txt`,
          fs: { op: 'copy', to: `${set}/0${m[2]}/${m[3].padStart(3, '0')}/skeleton_pos.txt` },
        },
        1,
      ],
      [
        {
          name: 'sbu-layout',
          detail: `renamed to ${set}-9-1.txt (class 9)`,
          fs: { op: 'rename', to: `${set}/${set}-9-1.txt` },
        },
        1,
      ],
      [
        {
          name: 'sbu-layout',
          detail: `renamed to ${name}.bak`,
          fs: { op: 'rename', to: `${set}/${name}.bak` },
        },
        1,
      ],
      [
        {
          name: 'sbu-layout',
          detail: `renamed to ${name.toUpperCase()}`,
          fs: { op: 'rename', to: `${set}/${name.toUpperCase()}` },
        },
        1,
      ],
    );
  }
  choices.push(
    [
      {
        name: 'sbu-layout',
        detail: `set folder ${set} renamed to s1s2`,
        fs: { op: 'rename-dir', dir: set, to: 's1s2' },
      },
      1,
    ],
    [
      {
        name: 'sbu-layout',
        detail: `set folder ${set} renamed to s09s09 (in no fold)`,
        fs: { op: 'rename-dir', dir: set, to: 's09s09' },
      },
      1,
    ],
    [
      {
        name: 'sbu-layout',
        detail: `a stray README.txt in ${set}`,
        fs: { op: 'add-file', at: `${set}/README.txt`, content: 'notes\n' },
      },
      1,
    ],
    [
      {
        name: 'sbu-layout',
        detail: 'a stray .DS_Store at the root',
        fs: { op: 'add-file', at: '.DS_Store', content: '\u0000\u0001' },
      },
      1,
    ],
  );
  // Removing a whole sequence file leaves a smaller valid dataset: not a mutation to judge.
  return fsMutation(rng, choices, false);
}

function fphaLayoutMutation(rng: FuzzRng): Mutation {
  return fsMutation(rng, [
    [
      {
        name: 'fpha-layout',
        detail: 'a skeleton.txt the split does not name: Subject_3/prick/9',
        fs: {
          op: 'add-file',
          at: 'Hand_pose_annotation_v1/Subject_3/prick/9/skeleton.txt',
          content: '0000 1 2 3\n',
        },
      },
      1,
    ],
  ]);
}

/** One mutation of a file of `format`; `file` is its path relative to the dataset root (layout changes). */
export function mutate(
  format: FileFormat,
  bytes: Uint8Array,
  rng: FuzzRng,
  layout?: 'sbu' | 'fpha',
  file = '',
): Mutation {
  const text = format === 'safetensors' ? '' : decoder.decode(bytes);
  const family = rng.weighted<string>([
    ['bytes', 3],
    ['encoding', format === 'safetensors' ? 0 : 1],
    ['text', format === 'safetensors' ? 0 : 4],
    ['json', format === 'json' || format === 'jsonl' ? 4 : 0],
    ['yaml', format === 'yaml' ? 3 : 0],
    ['safetensors', format === 'safetensors' ? 8 : 0],
    ['fs', layout === 'sbu' ? 2 : 0.5],
  ]);
  switch (family) {
    case 'bytes':
      return byteMutation(bytes, rng, format);
    case 'encoding':
      return encodingMutation(text, rng);
    case 'text':
      return textMutation(text, rng, format);
    case 'json':
      return format === 'json' ? jsonMutation(text, rng) : jsonlMutation(text, rng);
    case 'yaml':
      return yamlMutation(text, rng);
    case 'safetensors': {
      const mutation = safetensorsMutation(bytes, rng);
      // Half the time without the checksum, so the change reaches the checks behind it.
      if (rng.next() < 0.5 && mutation.bytes) {
        const stripped = withoutChecksum(mutation.bytes);
        if (stripped)
          return {
            ...mutation,
            name: `${mutation.name}+no-crc`,
            detail: `${mutation.detail}; checksum entry removed`,
            bytes: stripped,
            unchecked: true,
          };
      }
      return mutation;
    }
    default:
      return layout === 'sbu'
        ? sbuLayoutMutation(file, rng)
        : layout === 'fpha'
          ? fphaLayoutMutation(rng)
          : fsMutation(rng);
  }
}
