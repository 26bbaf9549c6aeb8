import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { runService } from '@tandem/platform';
import { loadSpeedConfig } from '@tandem/speed';
import { AppModule } from './app.module';

/**
 * The speed service. Settings come from the environment (see SPEED_SETTINGS in @tandem/speed);
 * a bad one stops the process before anything connects. SIGTERM/SIGINT (Nest's shutdown
 * hooks) stop the consumer at a commit boundary (each piece commits its rows and offsets
 * together) and close the connections.
 */
runService('speed', () => loadSpeedConfig(process.env), async (config) => {
  const app = await NestFactory.create(AppModule.with(config), { logger: ['error', 'warn', 'log'] });
  app.enableShutdownHooks();
  await app.listen(config.port);
});
