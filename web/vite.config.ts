/**
 * Builds the browser demo (web/) into dist/web: one static folder that `skelprune serve` or any
 * static file server can serve. The library modules it imports from src/ are pure (no Node built-ins);
 * the wasm kernels travel inside the bundle as base64, once.
 *
 * The hand tracker (@mediapipe/hands: a classic script, its wasm and its models, ~12 MB) is not
 * bundled: the page loads it from `mediapipe/hands/` when the camera starts. `skelprune serve` answers
 * that path from the installed package, and so does the dev server below (`npx vite --config
 * web/vite.config.ts`), with the cross-origin isolation headers `serve` sends.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** Serves /mediapipe/hands/<file> from the installed package during development. */
function handTracker(): Plugin {
  const root = dirname(createRequire(import.meta.url).resolve('@mediapipe/hands/package.json'));
  const types: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm' };
  return {
    name: 'skelprune-hand-tracker',
    configureServer(server) {
      server.middlewares.use('/mediapipe/hands/', (request, response, next) => {
        const name = (request.url ?? '').split('?')[0].replace(/^\//, '');
        if (!/^[\w.-]+$/.test(name)) return next();
        readFile(join(root, name)).then(
          (body) => {
            response.writeHead(200, {
              ...ISOLATION,
              'Content-Type': types[extname(name)] ?? 'application/octet-stream',
            });
            response.end(body);
          },
          () => next(),
        );
      });
    },
  };
}

export default defineConfig({
  root: webRoot,
  // Relative asset URLs, so the folder works under any path prefix.
  base: './',
  logLevel: 'warn',
  plugins: [handTracker()],
  server: { headers: ISOLATION },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // three.js alone is ~560 kB minified: one chunk is fine for a demo loaded once (~190 kB compressed).
    chunkSizeWarningLimit: 1500,
  },
});
