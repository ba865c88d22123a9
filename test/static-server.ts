/**
 * A static file server on 127.0.0.1 (a free port) for the browser tests: folders mounted under URL
 * prefixes, and in-memory contents at exact paths. It serves nothing else, so a page that needs any
 * other URL gets a 404 the test notices. `isolated` adds the headers that make a page cross-origin
 * isolated (SharedArrayBuffer, hence the shared-memory wasm kernels).
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
};

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export interface StaticServer {
  origin: string;
  close(): Promise<void>;
}

/** A mount: contents served at exactly its path, or a folder served under its path as a prefix. */
export type Mount = string | Uint8Array | { folder: string };

/** A folder mounted at '/' serves its index.html there. */
export async function serveStatic(
  mounts: Record<string, Mount>,
  options: { isolated?: boolean } = {},
): Promise<StaticServer> {
  const lookup = async (path: string): Promise<Uint8Array | string | null> => {
    const exact = mounts[path];
    if (exact !== undefined && !(typeof exact === 'object' && 'folder' in exact)) return exact;
    for (const [prefix, mount] of Object.entries(mounts)) {
      if (typeof mount !== 'object' || !('folder' in mount) || !path.startsWith(prefix)) continue;
      const relative = normalize(decodeURIComponent(path.slice(prefix.length)) || 'index.html');
      if (relative.split(sep).includes('..')) return null;
      return readFile(join(mount.folder, relative)).catch(() => null);
    }
    return null;
  };
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    lookup(path).then(
      (body) => {
        if (body === null) return response.writeHead(404).end();
        const type =
          CONTENT_TYPES[extname(path)] ??
          (path.endsWith('/') ? CONTENT_TYPES['.html'] : 'application/octet-stream');
        response
          .writeHead(200, { 'Content-Type': type, ...(options.isolated && ISOLATION_HEADERS) })
          .end(body);
      },
      (error: Error) => response.writeHead(500).end(error.message),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
