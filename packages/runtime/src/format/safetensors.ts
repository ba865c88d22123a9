/**
 * The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
 * length, a JSON header mapping names to {dtype, shape, data_offsets} (plus optional string
 * `__metadata__`), then the raw little-endian data. Checkpoints written here open in PyTorch, JAX and
 * anything else that reads safetensors. F32, I32, U16 and U8 are supported. Pure (no file system, so
 * browsers decode model files too); the toolkit reads and writes files.
 *
 * Integrity: the writer stores a CRC-32 of the contents in the metadata entry `skelprune_crc32` (see
 * `contentChecksum`), which the reader verifies; a file without one (written by another tool, or by
 * skelprune before checksums) still reads, reported as `integrity: 'unchecked'`.
 */
import { SkelpruneError } from '../errors.js';
import { crc32 } from './crc32.js';

export type DType = 'F32' | 'I32' | 'U16' | 'U8';

export interface NamedArray {
  shape: readonly number[];
  data: Float32Array | Int32Array | Uint16Array | Uint8Array;
}

const DTYPES: Record<DType, { bytes: number; of: (buffer: ArrayBuffer) => NamedArray['data'] }> = {
  F32: { bytes: 4, of: (b) => new Float32Array(b) },
  I32: { bytes: 4, of: (b) => new Int32Array(b) },
  U16: { bytes: 2, of: (b) => new Uint16Array(b) },
  U8: { bytes: 1, of: (b) => new Uint8Array(b) },
};

function dtypeOf(data: NamedArray['data']): DType {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Int32Array) return 'I32';
  return data instanceof Uint16Array ? 'U16' : 'U8';
}

/** Whether a file's contents matched its recorded checksum, or it recorded none. */
export type Integrity = 'verified' | 'unchecked';

export interface SafetensorsContent {
  tensors: Record<string, NamedArray>;
  /** The string metadata, without the checksum entry. */
  metadata: Record<string, string>;
  /** `verified` when the file's checksum matched its contents; `unchecked` when it has none. */
  integrity: Integrity;
}

/** The metadata entry holding the contents' CRC-32, as 8 lowercase hex digits. */
export const CHECKSUM_KEY = 'skelprune_crc32';

/**
 * The CRC-32 a file records under `CHECKSUM_KEY`: of the data section (every byte after the JSON
 * header), then of every tensor entry in ascending name order as UTF-8 `name`, 0, `dtype`, 0, the
 * shape's sizes joined by commas, 0, the two data offsets joined by a comma, 0, then of every other
 * metadata entry in ascending key order as UTF-8 `key`, 0, `value`, 0. So it covers the tensors,
 * which bytes belong to which of them, and the descriptions, but not the JSON's spelling: another
 * writer may reorder or re-space the header without invalidating it.
 */
function contentChecksum(
  data: readonly Uint8Array[],
  entries: Record<string, HeaderEntry>,
  metadata: Record<string, string>,
): string {
  const utf8 = new TextEncoder();
  const fields = (...parts: string[]) => utf8.encode(parts.map((part) => `${part}\0`).join(''));
  let crc = 0;
  for (const part of data) crc = crc32(part, crc);
  for (const name of Object.keys(entries).sort()) {
    const { dtype, shape, data_offsets } = entries[name];
    crc = crc32(fields(name, dtype, shape.join(','), data_offsets.join(',')), crc);
  }
  for (const key of Object.keys(metadata).sort()) {
    if (key !== CHECKSUM_KEY) crc = crc32(fields(key, metadata[key]), crc);
  }
  return crc.toString(16).padStart(8, '0');
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const ALIGN = 8;

export function encodeSafetensors(
  tensors: Record<string, NamedArray>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const data = Object.values(tensors).map(
    (t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  );
  const entries: Record<string, HeaderEntry> = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (t.shape.reduce((p, d) => p * d, 1) !== t.data.length) {
      throw new RangeError(
        `safetensors: '${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`,
      );
    }
    const bytes = t.data.byteLength;
    entries[name] = { dtype: dtypeOf(t.data), shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const checksum = contentChecksum(data, entries, metadata);
  const header = { __metadata__: { ...metadata, [CHECKSUM_KEY]: checksum }, ...entries };
  let json = JSON.stringify(header);
  const headerBytes = new TextEncoder().encode(json);
  // Pad with spaces so the data starts 8-byte aligned (as the reference implementation does).
  const padding = (ALIGN - ((8 + headerBytes.length) % ALIGN)) % ALIGN;
  json += ' '.repeat(padding);
  const padded = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + padded.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded.length), true);
  out.set(padded, 8);
  let position = 8 + padded.length;
  for (const part of data) {
    out.set(part, position);
    position += part.length;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, source = 'buffer'): SafetensorsContent {
  const fail = (why: string) => new SkelpruneError(`${source}: not a valid safetensors file: ${why}`);
  if (bytes.length < 8) throw fail(`${bytes.length} bytes, shorter than the 8-byte header length`);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > bytes.length - 8)
    throw fail(`header length ${headerLength} exceeds the file (${bytes.length} bytes; truncated?)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    );
  } catch (error) {
    throw fail(`header is not JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw fail('header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const { __metadata__: rawMetadata = {}, ...entries } = header;
  if (
    rawMetadata === null ||
    typeof rawMetadata !== 'object' ||
    Array.isArray(rawMetadata) ||
    !Object.values(rawMetadata).every((v) => typeof v === 'string')
  )
    throw fail('__metadata__ is not an object of strings');
  const metadata = rawMetadata as Record<string, string>;
  const isSize = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  // Every entry is checked against the actual data before any tensor is allocated.
  const layout: { name: string; entry: HeaderEntry; of: (buffer: ArrayBuffer) => NamedArray['data'] }[] = [];
  for (const [name, raw] of Object.entries(entries)) {
    const entry = raw as HeaderEntry;
    if (
      !entry ||
      !Array.isArray(entry.shape) ||
      !entry.shape.every(isSize) ||
      !Array.isArray(entry.data_offsets) ||
      entry.data_offsets.length !== 2 ||
      !entry.data_offsets.every(isSize)
    ) {
      throw fail(`entry '${name}' lacks a dtype, a shape of sizes or two integer data_offsets`);
    }
    const dtype = Object.hasOwn(DTYPES, entry.dtype) ? DTYPES[entry.dtype as DType] : undefined;
    if (!dtype)
      throw fail(`tensor '${name}' has dtype ${entry.dtype}; only F32, I32, U16 and U8 are supported`);
    layout.push({ name, entry, of: dtype.of });
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((p, d) => p * d, 1);
    if (end < begin || end > dataLength)
      throw fail(`tensor '${name}' has data offsets [${begin}, ${end}] outside the ${dataLength}-byte data`);
    if (end - begin !== count * dtype.bytes)
      throw fail(`tensor '${name}' has ${end - begin} bytes for shape [${entry.shape.join(', ')}]`);
  }
  layout.sort((a, b) => a.entry.data_offsets[0] - b.entry.data_offsets[0]);
  let covered = 0;
  for (const { name, entry } of layout) {
    if (entry.data_offsets[0] !== covered)
      throw fail(`tensor '${name}' does not start where the previous one ends (byte ${covered})`);
    covered = entry.data_offsets[1];
  }
  if (covered !== dataLength) throw fail(`${dataLength - covered} trailing bytes after the last tensor`);
  const integrity = verifyChecksum(bytes.subarray(dataStart), layout, metadata, source);
  const tensors: Record<string, NamedArray> = {};
  for (const { name, entry, of } of layout) {
    const [begin, end] = entry.data_offsets;
    // A copy (Node Buffers slice as views into a shared pool).
    const copy = new Uint8Array(bytes.subarray(dataStart + begin, dataStart + end)).buffer;
    tensors[name] = { shape: entry.shape, data: of(copy) };
  }
  const described = Object.fromEntries(Object.entries(metadata).filter(([key]) => key !== CHECKSUM_KEY));
  return { tensors, metadata: described, integrity };
}

/** Checks the contents against the recorded checksum, if any (see `contentChecksum`). */
function verifyChecksum(
  data: Uint8Array,
  layout: readonly { name: string; entry: HeaderEntry }[],
  metadata: Record<string, string>,
  source: string,
): Integrity {
  const recorded = metadata[CHECKSUM_KEY];
  if (recorded === undefined) return 'unchecked';
  if (!/^[0-9a-f]{8}$/.test(recorded)) {
    throw new SkelpruneError(
      `${source}: corrupted file: its checksum '${CHECKSUM_KEY}' is '${recorded.slice(0, 20)}', not 8 hex digits`,
    );
  }
  const entries = Object.fromEntries(layout.map(({ name, entry }) => [name, entry]));
  const actual = contentChecksum([data], entries, metadata);
  if (actual !== recorded) {
    throw new SkelpruneError(
      `${source}: corrupted file: its contents have CRC-32 ${actual}, but it records ${recorded} (${CHECKSUM_KEY})`,
    );
  }
  return 'verified';
}
