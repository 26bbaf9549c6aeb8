import { Controller, Get, Header, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { SpeedHealthIndicator } from './speed-health.indicator';
import type { SpeedRuntime } from './speed-runtime';
import { SPEED_RUNTIME } from './speed.tokens';

/** GET /health (terminus: 200 when up, 503 otherwise), GET /metrics (Prometheus), GET /status. */
@Controller()
export class SpeedHttpController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: SpeedHealthIndicator,
    @Inject(SPEED_RUNTIME) private readonly runtime: SpeedRuntime,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.indicator.postgres(), () => this.indicator.log(), () => this.indicator.consumer()]);
  }

  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  async metrics(): Promise<string> {
    return this.runtime.layer.registry.metrics();
  }

  @Get('status')
  status() {
    return this.runtime.layer.status();
  }
}
