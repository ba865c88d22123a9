#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

main(process.argv).catch((error) => {
  process.stderr.write(`skelprune: internal error (please report): ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
