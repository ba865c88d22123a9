/**
 * `skelprune serve`: the browser demo (dist/web, built by `npm run build`), the given model files and
 * the hand tracker's files (from the installed @mediapipe/hands package) on a local HTTP server.
 * The page finds the models in a JSON block the server writes into index.html (also at
 * models/index.json); it loads the main model at once and the dense one when the user compares them.
 * Responses are compressed (brotli or gzip, as the browser accepts) and carry an ETag.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, gzip, constants as zlib } from 'node:zlib';
import type { Command } from 'commander';
import { SkelpruneError, userError } from '../../errors.js';
import { decodeModelFile } from '../../runtime/model-file.js';

/** dist/web, next to dist/src where this module is compiled to. */
const WEB_ROOT = fileURLToPath(new URL('../../../web/', import.meta.url));

/** Where the page asks for the hand tracker's files (web/tracker.ts). */
const TRACKER_PREFIX = '/mediapipe/hands/';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.skp': 'application/octet-stream',
};

/**
 * Cross-origin isolation gives the page a 5 µs clock instead of 100 µs (latencies are ~0.1 ms); the
 * page loads nothing from other origins, so it costs nothing.
 */
const HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'X-Content-Type-Options': 'nosniff',
};

/** Vite's output names carry a content hash: they never change, so browsers may keep them. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Everything else is checked again (a cheap 304 thanks to the ETag). */
const REVALIDATE = 'no-cache';

/** What the page is told about a model: enough to offer it before its bytes are fetched. */
export interface ServedModelEntry {
  /** The file's own name, shown on the page. */
  name: string;
  /** Path on the server, relative to the page. */
  url: string;
  /** Size of the file in bytes. */
  bytes: number;
  /** `model`: loaded with the page; `dense`: loaded when the page compares it with the model. */
  role: 'model' | 'dense';
}

interface ServedModel extends ServedModelEntry {
  contents: Uint8Array;
}

/** Reads and checks a model file, so a bad one fails here with its path rather than in the page. */
async function readModel(path: string, url: string, role: ServedModel['role']): Promise<ServedModel> {
  let contents: Uint8Array;
  try {
    contents = await readFile(path);
  } catch (error) {
    const problem = userError(error, path);
    throw problem instanceof SkelpruneError
      ? new SkelpruneError(`cannot read model file ${problem.message}`)
      : problem;
  }
  decodeModelFile(contents, path);
  return { name: basename(path), url, bytes: contents.length, role, contents };
}

/** The file under `root` a relative URL path names, or null for anything outside it. */
function fileUnder(root: string, urlPath: string): string | null {
  let relative: string;
  try {
    relative = normalize(decodeURIComponent(urlPath)).replace(/^[/\\]+/, '');
  } catch {
    return null; // malformed %-escapes
  }
  if (relative.split(sep).includes('..')) return null;
  return join(root, relative === '' ? 'index.html' : relative);
}

/** The installed @mediapipe/hands package's folder, or null when it is not installed. */
function trackerRoot(): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve('@mediapipe/hands/package.json'));
  } catch {
    return null;
  }
}

/** The page with the models it is served with, as JSON the page reads without a request. */
function withModels(html: Uint8Array, models: readonly ServedModel[]): Uint8Array {
  const entries: ServedModelEntry[] = models.map(({ name, url, bytes, role }) => ({
    name,
    url,
    bytes,
    role,
  }));
  // '<' escaped, so no file name can close the script element.
  const json = JSON.stringify(entries).replace(/</g, '\\u003c');
  const block = `<script type="application/json" id="served-models">${json}</script>\n  </head>`;
  return new TextEncoder().encode(new TextDecoder().decode(html).replace('</head>', block));
}

type Encoding = 'br' | 'gzip';
const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** Bodies smaller than this go out as they are. */
const MIN_COMPRESS = 1024;

/** Compressed bodies and ETags, computed once per body. */
class BodyCache {
  private readonly compressed = new Map<string, Promise<Uint8Array>>();
  private readonly tags = new WeakMap<Uint8Array, string>();

  etag(body: Uint8Array): string {
    let tag = this.tags.get(body);
    if (!tag) {
      tag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      this.tags.set(body, tag);
    }
    return tag;
  }

  encoded(key: string, body: Uint8Array, encoding: Encoding): Promise<Uint8Array> {
    const id = `${encoding}:${key}:${this.etag(body)}`;
    let result = this.compressed.get(id);
    if (!result) {
      // Quality 9 compresses the page's script in ~70 ms; the tracker's 6 MB wasm takes quality 5.
      const quality = body.length > 2_000_000 ? 5 : 9;
      result =
        encoding === 'br'
          ? brotli(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: quality } })
          : gzipAsync(body, { level: 9 });
      this.compressed.set(id, result);
    }
    return result;
  }
}

/** The best encoding the request accepts (brotli, else gzip), or null. */
function acceptedEncoding(request: IncomingMessage): Encoding | null {
  const accepted = String(request.headers['accept-encoding'] ?? '')
    .split(',')
    .map((part) => part.trim().split(';'))
    .filter(([, q]) => !q || Number(q.trim().replace(/^q=/, '')) > 0)
    .map(([name]) => name.trim());
  if (accepted.includes('br')) return 'br';
  if (accepted.includes('gzip')) return 'gzip';
  return null;
}

interface Site {
  models: ServedModel[];
  tracker: string | null;
  cache: BodyCache;
}

/** Sends a body with its type and caching, compressed where the browser accepts it, or a 304. */
async function sendBody(
  request: IncomingMessage,
  response: ServerResponse,
  site: Site,
  { key, body, type, cache }: { key: string; body: Uint8Array; type: string; cache: string },
): Promise<void> {
  const etag = site.cache.etag(body);
  const headers: Record<string, string> = {
    ...HEADERS,
    'Content-Type': type,
    'Cache-Control': cache,
    ETag: etag,
    Vary: 'Accept-Encoding',
  };
  if (request.headers['if-none-match'] === etag) {
    response.writeHead(304, headers).end();
    return;
  }
  const encoding =
    body.length >= MIN_COMPRESS && type !== CONTENT_TYPES['.png'] ? acceptedEncoding(request) : null;
  const payload = encoding ? await site.cache.encoded(key, body, encoding) : body;
  if (encoding) headers['Content-Encoding'] = encoding;
  headers['Content-Length'] = String(payload.length);
  response.writeHead(200, headers).end(request.method === 'HEAD' ? undefined : payload);
}

async function respond(request: IncomingMessage, response: ServerResponse, site: Site): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const fail = (status: number, text: string) => {
    response.writeHead(status, { ...HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end(text);
  };
  if (request.method !== 'GET' && request.method !== 'HEAD') return fail(405, 'GET only');
  const { models } = site;
  if (path === '/models/index.json') {
    const index = models.map(({ name, url, bytes, role }) => ({ name, url, bytes, role }));
    const body = new TextEncoder().encode(JSON.stringify(index));
    return sendBody(request, response, site, {
      key: path,
      body,
      type: CONTENT_TYPES['.json'],
      cache: REVALIDATE,
    });
  }
  const model = models.find((m) => `/${m.url}` === path);
  if (model) {
    const type = CONTENT_TYPES['.skp'];
    return sendBody(request, response, site, { key: path, body: model.contents, type, cache: REVALIDATE });
  }
  if (path.startsWith(TRACKER_PREFIX)) {
    const name = path.slice(TRACKER_PREFIX.length);
    // Only the package's own files, by plain name.
    const file = site.tracker && /^[\w.-]+$/.test(name) ? join(site.tracker, name) : null;
    const body = file ? await readFile(file).catch(() => null) : null;
    if (!file || !body) {
      return fail(
        404,
        site.tracker ? `not found: ${path}` : 'the hand tracker (@mediapipe/hands) is not installed',
      );
    }
    const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
    return sendBody(request, response, site, { key: file, body, type, cache: 'public, max-age=86400' });
  }
  const file = fileUnder(WEB_ROOT, path);
  const contents = file ? await readFile(file).catch(() => null) : null;
  if (!file || !contents) return fail(404, `not found: ${path}`);
  const isPage = basename(file) === 'index.html';
  const body = isPage ? withModels(contents, models) : contents;
  const cache = path.startsWith('/assets/') ? IMMUTABLE : REVALIDATE;
  const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
  return sendBody(request, response, site, { key: file, body, type, cache });
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, port, host)));
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/** Why the server cannot listen, naming the flag to change. */
function listenError(error: NodeJS.ErrnoException, port: number, host: string): unknown {
  switch (error.code) {
    case 'EADDRINUSE':
      return new SkelpruneError(`port ${port} is in use: choose another with --port (0 picks a free one)`);
    case 'EACCES':
      return new SkelpruneError(`port ${port} needs privileges: choose one above 1023 with --port`);
    case 'EADDRNOTAVAIL':
      return new SkelpruneError(
        `--host ${host} is not an address of this machine: use 127.0.0.1, 0.0.0.0 (every address) or one of its own`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new SkelpruneError(
        `--host ${host}: no such host name (it does not resolve): use an address such as 127.0.0.1`,
      );
    default:
      return error;
  }
}

async function serveCommand(options: { model?: string; dense?: string; port: number; host: string }) {
  if (!existsSync(join(WEB_ROOT, 'index.html')))
    throw new SkelpruneError(`the demo page is not built (no ${WEB_ROOT}index.html): run npm run build`);
  if (options.dense && !options.model)
    throw new SkelpruneError('--dense needs --model: the dense model is compared with the one --model gives');
  const models: ServedModel[] = [];
  if (options.model) models.push(await readModel(options.model, 'models/model.skp', 'model'));
  if (options.dense) models.push(await readModel(options.dense, 'models/dense.skp', 'dense'));
  const site: Site = { models, tracker: trackerRoot(), cache: new BodyCache() };
  const server = createServer((request, response) => {
    respond(request, response, site).catch((error: Error) => {
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'text/plain' });
      response.end(error.message);
    });
  });
  const port = await listen(server, options.port, options.host);
  const host = options.host === '127.0.0.1' ? 'localhost' : options.host;
  const served =
    models.length > 0 ? models.map((m) => m.name).join(', ') : 'no model: drop a .skp file on the page';
  console.log(`skelprune demo: http://${host}:${port}/ (${served})`);
  if (!site.tracker)
    console.log('the hand tracker (@mediapipe/hands) is not installed: the camera mode is off');
  console.log('press Ctrl+C to stop');
}

function parsePort(text: string): number {
  const port = Number(text);
  if (text.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new SkelpruneError(
      `--port expects a port number (0 to 65535; 0 picks a free one), found '${text}'`,
    );
  return port;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'serve the browser demo (recorded sequences and live webcam hands) with .skp models on localhost',
    )
    .option(
      '--model <file>',
      '.skp model file the page classifies with (usually the pruned one); without it, drop one on the page',
    )
    .option(
      '--dense <file>',
      '.skp model file of the unpruned model, to run side by side (loaded when the page asks)',
    )
    .option('--port <n>', 'port to listen on (0 picks a free one)', parsePort, 8080)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .action(serveCommand);
}
