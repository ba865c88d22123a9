/**
 * The `skelprune` command: a thin shell over the library. Each subcommand lives in its own module
 * under ./commands and registers itself on the program.
 */
import { Command, CommanderError } from 'commander';
import { SkelpruneError, userError } from '../errors.js';
import { onNote } from '../util/notes.js';
import { skelpruneVersion } from '../util/version.js';
import { registerCombineCommand } from './commands/combine.js';
import { registerDataCommands } from './commands/data.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDeployCommands } from './commands/deploy.js';
import { registerEvalCommand, registerModelCommands } from './commands/model.js';
import { registerPruneCommand } from './commands/prune.js';
import { registerQueueCommands } from './commands/queue.js';
import { registerReproduceCommand } from './commands/reproduce.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTrainCommand } from './commands/train.js';
import { registerWorkerCommand } from './commands/worker.js';

export function buildProgram(): Command {
  const program = new Command('skelprune')
    .description('Train, coarse-to-fine prune and deploy GCNs for skeleton-based action recognition.')
    .version(skelpruneVersion(), '-v, --version', 'print the version')
    // Usage errors on one line, like every other error: "skelprune: unknown option '--x'; see --help".
    .configureOutput({
      outputError: (text, write) =>
        write(
          `skelprune: ${text
            .replace(/^error: /, '')
            .trim()
            .replace(/\s*\n\s*/g, ' ')}; see --help\n`,
        ),
    })
    .configureHelp({ sortSubcommands: true, showGlobalOptions: true })
    .hook('preAction', (_program, command) => refuseEmptyValues(command));
  registerDemoCommand(program);
  registerDataCommands(program);
  registerTrainCommand(program);
  registerEvalCommand(program);
  registerModelCommands(program);
  registerPruneCommand(program);
  registerDeployCommands(program);
  registerReproduceCommand(program);
  registerCombineCommand(program);
  registerServeCommand(program);
  registerWorkerCommand(program);
  registerQueueCommands(program);
  return program;
}

/** An empty string given for an option or argument (`--out ""`) is refused, never taken for a path. */
function refuseEmptyValues(command: Command): void {
  for (const option of command.options) {
    const value = command.getOptionValue(option.attributeName());
    if (value === '' || (Array.isArray(value) && value.includes('')))
      throw new SkelpruneError(`${option.long} needs a value: found an empty string`);
  }
  if (command.args.includes('')) throw new SkelpruneError(`an argument is an empty string`);
}

/**
 * Runs the CLI. User errors, file-system errors among them (turned into one line naming the path by
 * `userError`), print one line; other errors keep their stack for bug reports.
 */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram().exitOverride();
  onNote((text) => process.stderr.write(`skelprune: note: ${text}\n`));
  try {
    await program.parseAsync(argv);
  } catch (caught) {
    if (caught instanceof CommanderError) {
      process.exitCode = caught.exitCode;
      return;
    }
    const error = userError(caught);
    if (error instanceof SkelpruneError && !process.env.SKELPRUNE_DEBUG) {
      process.stderr.write(`skelprune: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw caught;
  }
}
