import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { BatchRuntime } from './batch-runtime';
import { BATCH_RUNTIME } from './batch.tokens';

const PING_TIMEOUT_MS = 3_000;
/** Scheduled runs failing this many times in a row make the layer unhealthy. */
const FAILURES_BEFORE_DOWN = 3;

/** Health of the batch layer: PostgreSQL and the lake answer, runs succeed, the archiver runs. */
@Injectable()
export class BatchHealthIndicator {
  constructor(
    @Inject(BATCH_RUNTIME) private readonly runtime: BatchRuntime,
    private readonly health: HealthIndicatorService,
  ) {}

  async postgres() {
    const check = this.health.check('postgres');
    try {
      await withTimeout(this.runtime.dependencies.runner.db.pool.query('SELECT 1'), PING_TIMEOUT_MS);
      return check.up();
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }

  async lake() {
    const storage = this.runtime.dependencies.runner.storage;
    const check = this.health.check('lake');
    try {
      // One cheap request (a stat, a HEAD) that fails when the lake is unreachable; listing
      // the manifest would grow with the lake.
      await withTimeout(storage.exists('_manifest/health-probe.json'), PING_TIMEOUT_MS);
      return check.up({ location: storage.location });
    } catch (error) {
      return check.down({ location: storage.location, message: (error as Error).message });
    }
  }

  runs() {
    const check = this.health.check('batch');
    const status = this.runtime.schedule.status();
    const details = { consecutiveFailures: status.consecutiveFailures, lastRun: status.lastRun?.runId ?? null, lastError: status.lastError?.message ?? null };
    return status.consecutiveFailures >= FAILURES_BEFORE_DOWN ? check.down(details) : check.up(details);
  }

  archiver() {
    const check = this.health.check('archiver');
    const archiver = this.runtime.archiver;
    if (!archiver) return check.up({ enabled: false });
    const status = archiver.status();
    const details = { enabled: true, running: status.running, partitions: status.partitions.length, lastError: status.lastError ?? null };
    return status.running ? check.up(details) : check.down(details);
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
