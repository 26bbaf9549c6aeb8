import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { SpeedRuntime } from './speed-runtime';
import { SPEED_RUNTIME } from './speed.tokens';

const PING_TIMEOUT_MS = 3_000;

/** Health of the speed layer: PostgreSQL answers, Kafka answers, the consumer runs. */
@Injectable()
export class SpeedHealthIndicator {
  constructor(
    @Inject(SPEED_RUNTIME) private readonly runtime: SpeedRuntime,
    private readonly health: HealthIndicatorService,
  ) {}

  async postgres() {
    const check = this.health.check('postgres');
    try {
      await withTimeout(this.runtime.dependencies.db.pool.query('SELECT 1'), PING_TIMEOUT_MS);
      return check.up();
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }

  async log() {
    const check = this.health.check(this.runtime.dependencies.log.kind === 'kafka' ? 'kafka' : 'log');
    return (await this.runtime.dependencies.log.ping()) ? check.up() : check.down({ message: 'no broker answered' });
  }

  consumer() {
    const check = this.health.check('consumer');
    const status = this.runtime.layer.status();
    const details = { state: status.state, partitions: status.partitions.length, lastCommitAt: status.lastCommitAt ?? null };
    return status.state === 'running' ? check.up(details) : check.down(details);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
