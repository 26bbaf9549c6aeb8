import { type DynamicModule, Module } from '@nestjs/common';
import { KafkaLog, openDatabase } from '@tandem/platform';
import { type SpeedConfig, SpeedModule } from '@tandem/speed';
import { collectDefaultMetrics, Registry } from 'prom-client';

/** The stand-alone speed service: the speed layer over Kafka and PostgreSQL. */
@Module({})
export class AppModule {
  static with(config: SpeedConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        SpeedModule.forRoot({
          useFactory: async () => {
            const registry = new Registry();
            collectDefaultMetrics({ register: registry });
            const log = new KafkaLog(config.kafka);
            const db = await openDatabase({ ...config.database, applicationName: 'tandem-speed' });
            return {
              layer: {
                log,
                db,
                views: config.views,
                groupId: config.groupId,
                chunkSize: config.chunkSize,
                topicPrefix: config.topicPrefix,
                maxEventBytes: config.maxEventBytes,
                maxBatchRecords: config.maxBatchRecords,
                transactionRecords: config.transactionRecords,
                cleanupIntervalMs: config.cleanupIntervalMs,
                commitDelayMs: config.commitDelayMs,
                registry,
              },
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
