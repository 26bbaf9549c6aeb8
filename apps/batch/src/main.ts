import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadBatchConfig } from '@tandem/batch';
import { runService } from '@tandem/platform';
import { AppModule } from './app.module';

/**
 * The batch service: the archiver (log -> lake) and the scheduled recompute (lake -> batch
 * views). Settings come from the environment (BATCH_SETTINGS in @tandem/batch); a bad one
 * stops the process before anything connects. SIGTERM/SIGINT let a run in progress end (it
 * is invisible until its flip), flush the archiver and close the connections.
 */
runService('batch', () => loadBatchConfig(process.env, { requireKafka: true }), async (config) => {
  const app = await NestFactory.create(AppModule.with(config), { logger: ['error', 'warn', 'log'] });
  app.enableShutdownHooks();
  await app.listen(config.port);
});
