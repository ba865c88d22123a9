/**
 * Where a model's bytes come from: bytes already in memory, a URL (fetched, in browsers and Node),
 * a fetch `Response`, or a file path (Node). A string is a URL when it has a scheme (`https:`,
 * `file:`, `blob:`, …) or when there is no file system (browsers, where relative URLs resolve against
 * the page); otherwise a path.
 */
import { SkelpruneError } from './errors.js';

/**
 * Where `SkeletonClassifier.load` reads a model from: its bytes (`Uint8Array`, `ArrayBuffer`), a
 * `URL` or a string with a scheme (`https:`, `blob:`, …; fetched, `file:` read from disk in Node),
 * a `fetch` `Response`, or any other string: a file path in Node, a URL relative to the page in
 * browsers.
 */
export type ModelSource = Uint8Array | ArrayBuffer | URL | Response | string;

/** What a file-system error code means to a user. */
const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file; pass a .skp file written by skelprune export',
  EISDIR: 'a folder, not a file; pass the .skp file inside it',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
};

const HAS_SCHEME = /^[a-z][a-z0-9+.-]+:/i;

export async function readSource(
  source: ModelSource,
  name?: string,
): Promise<{ bytes: Uint8Array; name: string }> {
  if (source instanceof Uint8Array) return { bytes: source, name: name ?? 'bytes' };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), name: name ?? 'bytes' };
  if (typeof Response !== 'undefined' && source instanceof Response) {
    return { bytes: await responseBytes(source, name ?? source.url), name: name ?? source.url };
  }
  const text = String(source);
  const fs = nodeFs();
  if (fs && !(source instanceof URL) && !HAS_SCHEME.test(text)) {
    try {
      return { bytes: await fs.readFile(text), name: name ?? text };
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      const reason = FILE_ERRORS[code] ?? (code || (error as Error).message);
      throw new SkelpruneError(`cannot read model file ${text}: ${reason}`);
    }
  }
  if (fs && text.startsWith('file:')) {
    const path = decodeURIComponent(new URL(text).pathname);
    return readSource(path, name ?? text);
  }
  let response: Response;
  try {
    response = await fetch(source as string | URL);
  } catch (error) {
    throw new SkelpruneError(`cannot fetch model ${text}: ${(error as Error).message}`);
  }
  return { bytes: await responseBytes(response, text), name: name ?? text };
}

async function responseBytes(response: Response, name: string): Promise<Uint8Array> {
  if (!response.ok)
    throw new SkelpruneError(`cannot fetch model ${name}: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Node's promise file system, without importing it where it does not exist (browsers, workers). */
function nodeFs(): { readFile(path: string): Promise<Uint8Array> } | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function') return null;
  return proc.getBuiltinModule('node:fs/promises') as { readFile(path: string): Promise<Uint8Array> };
}
