/** Safetensors files on disk (Node), written atomically; the codec itself is ./safetensors.ts. */
import { readFile } from 'node:fs/promises';
import {
  decodeSafetensors,
  encodeSafetensors,
  type NamedArray,
  type SafetensorsContent,
} from '@skelprune/runtime/internal';
import { writeFileAtomic } from '../util/fs.js';

export async function saveSafetensors(
  path: string,
  tensors: Record<string, NamedArray>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export async function loadSafetensors(path: string): Promise<SafetensorsContent> {
  return decodeSafetensors(await readFile(path), path);
}
