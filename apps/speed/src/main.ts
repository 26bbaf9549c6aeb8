import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError } from '@tandem/platform';
import { loadSpeedConfig } from '@tandem/speed';
import { AppModule } from './app.module';

/**
 * The speed service. Settings come from the environment (see SPEED_SETTINGS in @tandem/speed);
 * a bad one stops the process before anything connects. SIGTERM/SIGINT stop the consumer
 * (the in-flight batch commits whole or not at all) and close the connections.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadSpeedConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tandem speed: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const app = await NestFactory.create(AppModule.with(config), { logger: ['error', 'warn', 'log'] });
  app.enableShutdownHooks();
  await app.listen(config.port);
}

main().catch((error) => {
  process.stderr.write(`tandem speed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
