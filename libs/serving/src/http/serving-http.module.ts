import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { ApiKeys } from '@tandem/platform';
import { DEPENDENCY_PROBE, type DependencyProbe, EdgeHealthController, EdgeMetrics } from '@tandem/platform';
import type { RateLimit } from '@tandem/platform';
import { QueryService } from '../query-service';
import { ApiKeyGuard } from '@tandem/platform';
import { ServingErrorFilter } from './serving-error.filter';
import { ViewsController } from './views.controller';

export interface ServingHttpOptions {
  readonly queries: QueryService;
  readonly apiKeys: ApiKeys;
  readonly metrics: EdgeMetrics;
  readonly rateLimit: RateLimit;
}

/** The serving layer's REST API as a Nest module, for the serving app and the quickstart. */
@Module({})
export class ServingHttpModule {
  static register(options: ServingHttpOptions): DynamicModule {
    const limited = options.rateLimit.limit > 0;
    const guards: Provider[] = [
      // Throttle before checking keys: guessing keys costs a request like any other.
      ...(limited ? [{ provide: APP_GUARD, useClass: ThrottlerGuard }] : []),
      { provide: APP_GUARD, useClass: ApiKeyGuard },
    ];
    return {
      module: ServingHttpModule,
      imports: [
        TerminusModule.forRoot({ logger: false }),
        ...(limited ? [ThrottlerModule.forRoot({ throttlers: [{ ttl: options.rateLimit.windowMs, limit: options.rateLimit.limit }] })] : []),
      ],
      controllers: [ViewsController, EdgeHealthController],
      providers: [
        { provide: QueryService, useValue: options.queries },
        { provide: ApiKeys, useValue: options.apiKeys },
        { provide: EdgeMetrics, useValue: options.metrics },
        { provide: DEPENDENCY_PROBE, useValue: { name: 'postgres', check: () => options.queries.ping() } satisfies DependencyProbe },
        { provide: APP_FILTER, useClass: ServingErrorFilter },
        ...guards,
      ],
    };
  }
}
