import type { Command } from 'commander';

export function registerDemoCommand(program: Command): void {
  program.command('demo').description('train a small network on generated data and report its accuracy');
}
