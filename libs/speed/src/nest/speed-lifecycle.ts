import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { SpeedRuntime } from './speed-runtime';
import { SPEED_RUNTIME } from './speed.tokens';

/**
 * Starts the layer once the application is up and stops it on shutdown: the consumer leaves
 * the group after its in-flight batch committed or was abandoned, then the log and database
 * close.
 */
@Injectable()
export class SpeedLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(@Inject(SPEED_RUNTIME) private readonly runtime: SpeedRuntime) {}

  onApplicationBootstrap(): Promise<void> {
    return this.runtime.layer.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.runtime.layer.stop();
  }

  onApplicationShutdown(): Promise<void> {
    return this.runtime.close();
  }
}
