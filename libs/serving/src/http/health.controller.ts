import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { EdgeMetrics } from '@tandem/platform';
import { QueryService } from '../query-service';
import { PublicRoute } from '@tandem/platform';

/** Liveness/readiness (PostgreSQL reachable) and Prometheus metrics; open, not rate limited. */
@ApiExcludeController()
@PublicRoute()
@SkipThrottle()
@Controller()
export class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(QueryService) private readonly queries: QueryService,
    @Inject(EdgeMetrics) private readonly metrics: EdgeMetrics,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([
      async () => {
        const indicator = this.indicators.check('postgres');
        try {
          await this.queries.ping();
          return indicator.up();
        } catch (error) {
          return indicator.down({ message: (error as Error).message });
        }
      },
    ]);
  }

  /** Liveness: the process answers. Readiness (/health) also needs the dependency; a liveness probe must not restart pods while it is down. */
  @Get('health/live')
  live() {
    return { status: 'ok' };
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  prometheus(): Promise<string> {
    return this.metrics.text();
  }
}
