import type { Command } from 'commander';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('Run every layer in one process on embedded defaults (the quickstart)')
    .action(() => {
      console.log('tandem start: the all-in-one quickstart is being assembled.');
      console.log('Available now: the test suite (npm test). See README.md.');
    });
}
