/** `skelprune combine`: reproduce runs repeated with other seeds, averaged into one report. */
import type { Command } from 'commander';
import { combine } from '../../api/reproduce.js';
import { printReport } from '../report-output.js';

export function registerCombineCommand(program: Command): void {
  program
    .command('combine')
    .description(
      'average reproduce runs that repeat one protocol with different --seed (each with its own dense models) into one report: tables show mean ± standard deviation over the repetitions',
    )
    .argument('<dirs...>', 'output folders of `skelprune reproduce` (two or more)')
    .requiredOption('--out <dir>', 'output directory of the combined report')
    .addHelpText(
      'after',
      '\nExample:\n  skelprune reproduce --dataset sbu --path /data/SBU --seed 1 --out runs/sbu-seed1\n  skelprune combine runs/sbu-seed0 runs/sbu-seed1 runs/sbu-seed2 --out runs/sbu-3-seeds',
    )
    .action(async (dirs: string[], flags: { out: string }) => {
      const command = `skelprune ${process.argv.slice(2).join(' ')}`;
      const report = await combine({ runs: dirs, out: flags.out, command });
      if (report.leftOut.length > 0)
        console.warn(`left out (not in every run combined): ${report.leftOut.join(', ')}`);
      printReport(report);
    });
}
