#!/usr/bin/env node
import { main } from '../dist/src/cli/main.js';

// A closed pipe (e.g. `skelprune ... | head`) ends the command quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

main(process.argv).catch((error) => {
  process.stderr.write(`skelprune: internal error (please report): ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
