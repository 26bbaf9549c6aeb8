import { type DynamicModule, Module } from '@nestjs/common';
import { type BatchConfig, BatchModule, runnerSettings } from '@tandem/batch';
import { KafkaLog, lakeStorageFromSettings, openDatabase } from '@tandem/platform';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** The stand-alone batch service over Kafka, PostgreSQL and the configured lake. */
@Module({})
export class AppModule {
  static with(config: BatchConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        BatchModule.forRoot({
          useFactory: async () => {
            const registry = new Registry();
            collectDefaultMetrics({ register: registry });
            const log = new KafkaLog(config.kafka!);
            const db = await openDatabase({ ...config.database, applicationName: 'tandem-batch' });
            const storage = lakeStorageFromSettings(config.lake);
            const streams = [...new Map(config.views.map((v) => [v.stream.name, v.stream])).values()];
            return {
              runner: { ...runnerSettings(config), db, storage, log, registry },
              intervalMs: config.intervalMs,
              archiver: config.archiver.enabled
                ? {
                    log,
                    storage,
                    streams,
                    groupId: config.archiver.groupId,
                    maxRecords: config.archiver.maxRecords,
                    maxAgeMs: config.archiver.maxAgeMs,
                    registry,
                    topicOf: (stream) => `${config.topicPrefix}${stream.topic}`,
                  }
                : undefined,
              close: async () => {
                await log.close();
                await db.close();
              },
            };
          },
        }),
      ],
    };
  }
}
