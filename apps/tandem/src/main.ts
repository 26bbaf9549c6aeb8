/**
 * The `tandem` command line: the quickstart (`tandem start`, what `npm start` runs) and the
 * operator commands. Each command group lives in ./commands and registers itself here.
 */
import 'reflect-metadata';
import { Command } from 'commander';
import { registerCommands } from './commands';

async function main(argv: string[]): Promise<void> {
  const program = new Command('tandem')
    .description('Tandem: one definition of every view, computed by batch and speed, served merged.')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  registerCommands(program);
  await program.parseAsync(argv);
}

main(process.argv).catch((err: Error) => {
  console.error(`tandem: ${err.message}`);
  process.exitCode = 1;
});
