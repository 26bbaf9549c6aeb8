import { Controller, Get, Header, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { BatchHealthIndicator } from './batch-health.indicator';
import type { BatchRuntime } from './batch-runtime';
import { BATCH_RUNTIME } from './batch.tokens';

/** GET /health (terminus: 200 when up, 503 otherwise), GET /metrics (Prometheus), GET /status. */
@Controller()
export class BatchHttpController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: BatchHealthIndicator,
    @Inject(BATCH_RUNTIME) private readonly runtime: BatchRuntime,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.indicator.postgres(), () => this.indicator.lake(), () => this.indicator.runs(), () => this.indicator.archiver()]);
  }

  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async metrics(): Promise<string> {
    return this.runtime.dependencies.runner.registry.metrics();
  }

  @Get('status')
  status() {
    return { schedule: this.runtime.schedule.status(), archiver: this.runtime.archiver?.status() ?? null };
  }
}
