import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { BatchRuntime } from './batch-runtime';
import { BATCH_RUNTIME } from './batch.tokens';

/**
 * Starts the archiver and the schedule once the application is up; on shutdown stops the
 * schedule (a run in progress finishes or fails as a whole: nothing it did is visible before
 * its flip), flushes and stops the archiver, then closes the connections.
 */
@Injectable()
export class BatchLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(@Inject(BATCH_RUNTIME) private readonly runtime: BatchRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.runtime.archiver?.start();
    this.runtime.schedule.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.runtime.schedule.stop();
    await this.runtime.archiver?.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runtime.runner.close();
    await this.runtime.dependencies.close?.();
  }
}
