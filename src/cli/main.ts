/**
 * The `skelprune` command: a thin shell over the library. Each subcommand lives in its own module
 * under ./commands and registers itself on the program.
 */
import { Command, CommanderError } from 'commander';
import { SkelpruneError } from '../errors.js';
import { skelpruneVersion } from '../util/version.js';
import { registerCombineCommand } from './commands/combine.js';
import { registerDataCommands } from './commands/data.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDeployCommands } from './commands/deploy.js';
import { registerEvalCommand, registerModelCommands } from './commands/model.js';
import { registerPruneCommand } from './commands/prune.js';
import { registerReproduceCommand } from './commands/reproduce.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTrainCommand } from './commands/train.js';

export function buildProgram(): Command {
  const program = new Command('skelprune')
    .description('Train, coarse-to-fine prune and deploy GCNs for skeleton-based action recognition.')
    .version(skelpruneVersion(), '-v, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: true, showGlobalOptions: true });
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
  return program;
}

/** Runs the CLI. User errors print one line; other errors keep their stack for bug reports. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof SkelpruneError && !process.env.SKELPRUNE_DEBUG) {
      process.stderr.write(`skelprune: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}
