/** The fuzz worker: runs the cases the main thread sends, one at a time, in its own copy of the bases. */
import { parentPort, workerData } from 'node:worker_threads';
import { CaseRunner } from './cases.js';

const { baseDir, workDir, masterSeed } = workerData as {
  baseDir: string;
  workDir: string;
  masterSeed: number;
};
const port = parentPort!;
let current: number | undefined;

// A rejection the loaders leave behind after their case ended is a failure of whichever case runs.
process.on('unhandledRejection', (reason) => {
  port.postMessage({ type: 'stray', index: current, message: String((reason as Error)?.stack ?? reason) });
});

const runner = new CaseRunner(baseDir, workDir, masterSeed);
await runner.init();
port.on('message', async (message: { index: number }) => {
  current = message.index;
  try {
    port.postMessage({ type: 'result', result: await runner.run(message.index) });
  } catch (error) {
    port.postMessage({
      type: 'broken',
      index: message.index,
      message: String((error as Error)?.stack ?? error),
    });
  }
});
port.postMessage({ type: 'ready' });
