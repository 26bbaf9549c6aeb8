import type { Command } from 'commander';
import { registerBatchCommands } from './batch.command';
import { registerLakeCommands } from './lake.command';
import { registerRebuildCommand } from './rebuild.command';
import { registerReplayCommand } from './replay.command';
import { registerStartCommand } from './start.command';

/** Every command group of the CLI. */
export function registerCommands(program: Command): void {
  registerStartCommand(program);
  registerBatchCommands(program);
  registerLakeCommands(program);
  registerRebuildCommand(program);
  registerReplayCommand(program);
}
