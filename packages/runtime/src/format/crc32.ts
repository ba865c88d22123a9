/**
 * CRC-32 (ISO-HDLC, the checksum of zlib, gzip and PNG: reflected polynomial 0xEDB88320, initial
 * value and final xor 0xFFFFFFFF), table-driven. The integrity check of skelprune's safetensors
 * files (checkpoints and `.skp` model files); synchronous and dependency-free, so browsers verify
 * model files too.
 */

type Crc32 = (data: Uint8Array, value?: number) => number;

/** node:zlib's crc32 where the runtime has it (Node ≥ 20.15), else null. */
const nativeCrc32: Crc32 | null = (() => {
  const zlib =
    typeof process === 'object' && typeof process.getBuiltinModule === 'function'
      ? (process.getBuiltinModule('node:zlib') as { crc32?: Crc32 })
      : undefined;
  return typeof zlib?.crc32 === 'function' ? zlib.crc32 : null;
})();

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * The CRC-32 of `bytes`, continuing from `crc` (the value returned for the bytes before them; 0 to
 * start), as an unsigned 32-bit integer. `crc32(b) === crc32(b.subarray(k), crc32(b.subarray(0, k)))`.
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  // Node ≥ 20.15 computes the same CRC natively, ~5× faster (a checkpoint is tens of MB per epoch).
  // node:zlib returns 0 for an empty view of an empty buffer whatever the running value.
  if (bytes.length === 0) return crc >>> 0;
  return nativeCrc32 ? nativeCrc32(bytes, crc) : crc32Portable(bytes, crc);
}

/** `crc32` in plain TypeScript, for runtimes without node:zlib (browsers). */
export function crc32Portable(bytes: Uint8Array, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
