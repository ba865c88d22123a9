/**
 * The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
 * length, a JSON header mapping names to {dtype, shape, data_offsets} (plus optional string
 * `__metadata__`), then the raw little-endian data. Checkpoints written here open in PyTorch, JAX and
 * anything else that reads safetensors. F32, I32, U16 and U8 are supported. Pure (no file system, so
 * browsers decode model files too); the toolkit reads and writes files.
 */
import { SkelpruneError } from '../errors.js';

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

export interface SafetensorsContent {
  tensors: Record<string, NamedArray>;
  metadata: Record<string, string>;
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
  const header: Record<string, HeaderEntry | Record<string, string>> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (t.shape.reduce((p, d) => p * d, 1) !== t.data.length) {
      throw new RangeError(
        `safetensors: '${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`,
      );
    }
    const bytes = t.data.byteLength;
    header[name] = {
      dtype: dtypeOf(t.data),
      shape: [...t.shape],
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
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
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), position);
    position += t.data.byteLength;
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
  const { __metadata__: metadata = {}, ...entries } = header;
  const tensors: Record<string, NamedArray> = {};
  let covered = 0;
  const sorted = Object.entries(entries).sort(
    ([, a], [, b]) =>
      ((a as HeaderEntry).data_offsets?.[0] ?? 0) - ((b as HeaderEntry).data_offsets?.[0] ?? 0),
  );
  for (const [name, raw] of sorted) {
    const entry = raw as HeaderEntry;
    if (
      !entry ||
      !Array.isArray(entry.shape) ||
      !Array.isArray(entry.data_offsets) ||
      entry.data_offsets.length !== 2
    ) {
      throw fail(`entry '${name}' lacks dtype/shape/data_offsets`);
    }
    const dtype = Object.hasOwn(DTYPES, entry.dtype) ? DTYPES[entry.dtype as DType] : undefined;
    if (!dtype)
      throw fail(`tensor '${name}' has dtype ${entry.dtype}; only F32, I32, U16 and U8 are supported`);
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((p: number, d: number) => p * d, 1);
    if (begin !== covered || end < begin || end > dataLength) {
      throw fail(
        `tensor '${name}' has data offsets [${begin}, ${end}] outside or overlapping the ${dataLength}-byte data`,
      );
    }
    if (end - begin !== count * dtype.bytes)
      throw fail(`tensor '${name}' has ${end - begin} bytes for shape [${entry.shape.join(', ')}]`);
    // A copy (Node Buffers slice as views into a shared pool).
    const copy = new Uint8Array(bytes.subarray(dataStart + begin, dataStart + end)).buffer;
    tensors[name] = {
      shape: entry.shape,
      data: dtype.of(copy),
    };
    covered = end;
  }
  if (covered !== dataLength) throw fail(`${dataLength - covered} trailing bytes after the last tensor`);
  return { tensors, metadata: metadata as Record<string, string> };
}
