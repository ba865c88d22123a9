/** Safetensors files on disk (Node), written atomically; the codec itself is ./safetensors.ts. */
import { readFile } from 'node:fs/promises';
import {
  decodeSafetensors,
  encodeSafetensors,
  type NamedArray,
  type SafetensorsContent,
} from '@skelprune/runtime/internal';
import { writeFileAtomic } from '../util/fs.js';

/**
 * Writes named arrays to a safetensors file (dtype F32, I32, U16 or U8 from each array's type), with
 * string `metadata` and the contents' checksum in its header, atomically: a reader never sees a
 * partial file.
 */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, NamedArray>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/**
 * Reads a safetensors file: its arrays by name, its string metadata and whether its checksum was
 * verified (a file whose checksum does not match is refused). Errors name the file.
 */
export async function loadSafetensors(path: string): Promise<SafetensorsContent> {
  return decodeSafetensors(await readFile(path), path);
}
