/**
 * `skelprune serve`: the browser demo (dist/web, built by `npm run build`) and the given model files
 * on a local HTTP server. The page asks for models/index.json and loads every model listed there.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { basename, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { SkelpruneError, userError } from '../../errors.js';
import { decodeModelFile } from '../../runtime/model-file.js';

/** dist/web, next to dist/src where this module is compiled to. */
const WEB_ROOT = fileURLToPath(new URL('../../../web/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.skp': 'application/octet-stream',
};

/**
 * Cross-origin isolation gives the page a 5 µs clock instead of 100 µs (latencies are ~0.1 ms); the
 * page loads nothing from other origins, so it costs nothing.
 */
const HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cache-Control': 'no-cache',
};

interface ServedModel {
  /** The file's own name, shown on the page. */
  name: string;
  /** Path on the server, relative to the page. */
  url: string;
  bytes: Uint8Array;
}

/** Reads and checks a model file, so a bad one fails here with its path rather than in the page. */
async function readModel(path: string, url: string): Promise<ServedModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const problem = userError(error, path);
    throw problem instanceof SkelpruneError
      ? new SkelpruneError(`cannot read model file ${problem.message}`)
      : problem;
  }
  decodeModelFile(bytes, path);
  return { name: basename(path), url, bytes };
}

/** The file under WEB_ROOT a URL path names, or null for anything outside it. */
function staticFile(urlPath: string): string | null {
  let relative: string;
  try {
    relative = normalize(decodeURIComponent(urlPath)).replace(/^[/\\]+/, '');
  } catch {
    return null; // malformed %-escapes
  }
  if (relative.split(sep).includes('..')) return null;
  return join(WEB_ROOT, relative === '' ? 'index.html' : relative);
}

async function respond(request: IncomingMessage, response: ServerResponse, models: ServedModel[]) {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const send = (status: number, type: string, body: string | Uint8Array) => {
    response.writeHead(status, { ...HEADERS, 'Content-Type': type }).end(body);
  };
  if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'text/plain', 'GET only');
  if (path === '/models/index.json') {
    const index = models.map(({ name, url }) => ({ name, url }));
    return send(200, CONTENT_TYPES['.json'], JSON.stringify(index));
  }
  const model = models.find((m) => `/${m.url}` === path);
  if (model) return send(200, CONTENT_TYPES['.skp'], model.bytes);
  const file = staticFile(path);
  const bytes = file ? await readFile(file).catch(() => null) : null;
  if (!file || !bytes) return send(404, 'text/plain', `not found: ${path}`);
  send(200, CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', bytes);
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

async function serveCommand(options: { model: string; dense?: string; port: number; host: string }) {
  if (!existsSync(join(WEB_ROOT, 'index.html')))
    throw new SkelpruneError(`the demo page is not built (no ${WEB_ROOT}index.html): run npm run build`);
  const models = [await readModel(options.model, 'models/model.skp')];
  if (options.dense) models.push(await readModel(options.dense, 'models/dense.skp'));
  const server = createServer((request, response) => {
    respond(request, response, models).catch((error: Error) => {
      response.writeHead(500, { 'Content-Type': 'text/plain' }).end(error.message);
    });
  });
  const port = await listen(server, options.port, options.host);
  const host = options.host === '127.0.0.1' ? 'localhost' : options.host;
  console.log(`skelprune demo: http://${host}:${port}/ (${models.map((m) => m.name).join(', ')})`);
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
    .description('serve the browser demo with a .skp model on localhost (and a dense one to compare)')
    .requiredOption('--model <file>', '.skp model file the page classifies with (usually the pruned one)')
    .option('--dense <file>', '.skp model file of the unpruned model, to run side by side')
    .option('--port <n>', 'port to listen on (0 picks a free one)', parsePort, 8080)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .action(serveCommand);
}
