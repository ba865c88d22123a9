/**
 * Builds the browser demo (web/) into dist/web: one static folder that `skelprune serve` or any
 * static file server can serve. The library modules it imports from src/ are pure (no Node built-ins);
 * the wasm kernels travel inside the bundle as base64.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: webRoot,
  // Relative asset URLs, so the folder works under any path prefix.
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // three.js alone is ~500 kB minified: one chunk is fine for a demo loaded once.
    chunkSizeWarningLimit: 1500,
  },
});
