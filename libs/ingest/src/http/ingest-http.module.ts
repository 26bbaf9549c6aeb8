import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { ApiKeys } from '@tandem/platform';
import { DEPENDENCY_PROBE, type DependencyProbe, EdgeHealthController, EdgeMetrics } from '@tandem/platform';
import type { RateLimit } from '@tandem/platform';
import { IngestService } from '../ingest-service';
import { ApiKeyGuard } from '@tandem/platform';
import { IngestErrorFilter } from './ingest-error.filter';
import { StreamsController } from './streams.controller';

export interface IngestHttpOptions {
  readonly ingest: IngestService;
  readonly apiKeys: ApiKeys;
  readonly metrics: EdgeMetrics;
  readonly rateLimit: RateLimit;
}

/** The ingest REST API as a Nest module, for the ingest app and the quickstart. */
@Module({})
export class IngestHttpModule {
  static register(options: IngestHttpOptions): DynamicModule {
    const limited = options.rateLimit.limit > 0;
    const guards: Provider[] = [
      // Throttle before checking keys: guessing keys costs a request like any other.
      ...(limited ? [{ provide: APP_GUARD, useClass: ThrottlerGuard }] : []),
      { provide: APP_GUARD, useClass: ApiKeyGuard },
    ];
    return {
      module: IngestHttpModule,
      imports: [
        TerminusModule.forRoot({ logger: false }),
        ...(limited ? [ThrottlerModule.forRoot({ throttlers: [{ ttl: options.rateLimit.windowMs, limit: options.rateLimit.limit }] })] : []),
      ],
      controllers: [StreamsController, EdgeHealthController],
      providers: [
        { provide: IngestService, useValue: options.ingest },
        { provide: ApiKeys, useValue: options.apiKeys },
        { provide: EdgeMetrics, useValue: options.metrics },
        {
          provide: DEPENDENCY_PROBE,
          useValue: {
            name: 'log',
            check: async () => {
              if (!(await options.ingest.ping())) throw new Error('the log (Kafka) does not answer');
            },
          } satisfies DependencyProbe,
        },
        { provide: APP_FILTER, useClass: IngestErrorFilter },
        ...guards,
      ],
    };
  }
}
