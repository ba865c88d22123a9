/** Reading and writing model files on disk (Node). */
import { readFile } from 'node:fs/promises';
import { SkelpruneError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { noteUnchecked } from '../util/notes.js';
import { type DecodedModelFile, decodeModelFile, encodeModelFile, type ModelFile } from './model-file.js';

/** Writes a model file atomically; returns its size in bytes. */
export async function saveModelFile(path: string, file: ModelFile): Promise<number> {
  const bytes = encodeModelFile(file);
  await writeFileAtomic(path, bytes);
  return bytes.length;
}

/** Reads and checks a model file; a file without a checksum gives a note (`onNote`). */
export async function loadModelFile(path: string): Promise<DecodedModelFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new SkelpruneError(
      `cannot read model file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const file = decodeModelFile(bytes, path);
  if (file.integrity === 'unchecked') noteUnchecked(path);
  return file;
}
