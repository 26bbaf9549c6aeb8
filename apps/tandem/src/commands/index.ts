import type { Command } from 'commander';
import { registerStartCommand } from './start.command';

/** Every command group of the CLI. */
export function registerCommands(program: Command): void {
  registerStartCommand(program);
}
