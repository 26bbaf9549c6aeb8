import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import { EdgeMetrics } from './edge-metrics';
import { PublicRoute } from './route-access';

/**
 * What a service edge depends on to answer (PostgreSQL for serving, the log for ingest): a
 * name and a check that resolves when it answers and rejects with the reason when not.
 */
export interface DependencyProbe {
  readonly name: string;
  check(): Promise<void>;
}

export const DEPENDENCY_PROBE = Symbol('DEPENDENCY_PROBE');

/** Readiness (the dependency answers), liveness and Prometheus metrics; open, not rate limited. */
@ApiExcludeController()
@PublicRoute()
@SkipThrottle()
@Controller()
export class EdgeHealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(DEPENDENCY_PROBE) private readonly probe: DependencyProbe,
    @Inject(EdgeMetrics) private readonly metrics: EdgeMetrics,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([
      async () => {
        const indicator = this.indicators.check(this.probe.name);
        try {
          await this.probe.check();
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
