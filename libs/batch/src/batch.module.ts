import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { createArchiver } from './archiver';
import { createBatchRunner } from './recompute/batch-runner';
import { BatchSchedule } from './recompute/batch-schedule';
import { BatchHealthIndicator } from './recompute/nest/batch-health.indicator';
import { BatchHttpController } from './recompute/nest/batch-http.controller';
import { BatchLifecycle } from './recompute/nest/batch-lifecycle';
import type { BatchDependencies, BatchRuntime } from './recompute/nest/batch-runtime';
import { BATCH_RUNTIME } from './recompute/nest/batch.tokens';

export interface BatchModuleOptions {
  /** Builds the layer's dependencies once, when the module initialises. */
  readonly useFactory: () => BatchDependencies | Promise<BatchDependencies>;
  /**
   * Serve GET /health, /metrics and /status from this module. Default true; a host that
   * composes several layers turns it off and uses BatchHealthIndicator in its own checks.
   */
  readonly http?: boolean;
}

/**
 * The batch layer as a Nest module: the archiver (log -> lake), the scheduled recompute
 * (lake -> batch views), their lifecycle, health and metrics.
 */
@Module({})
export class BatchModule {
  static forRoot(options: BatchModuleOptions): DynamicModule {
    return {
      module: BatchModule,
      imports: [TerminusModule],
      providers: [
        {
          provide: BATCH_RUNTIME,
          useFactory: async (): Promise<BatchRuntime> => {
            const dependencies = await options.useFactory();
            const logger = dependencies.runner.logger ?? new Logger('BatchRunner');
            const runner = createBatchRunner({ ...dependencies.runner, logger });
            const schedule = new BatchSchedule(runner, { intervalMs: dependencies.intervalMs, mode: dependencies.scheduledMode, logger });
            const archiver = dependencies.archiver ? createArchiver(dependencies.archiver) : undefined;
            return { runner, schedule, archiver, dependencies };
          },
        },
        BatchHealthIndicator,
        BatchLifecycle,
      ],
      controllers: options.http === false ? [] : [BatchHttpController],
      exports: [BATCH_RUNTIME, BatchHealthIndicator],
    };
  }
}
