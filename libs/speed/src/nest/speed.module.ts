import { type DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { createSpeedLayer } from '../speed-layer';
import { SpeedHealthIndicator } from './speed-health.indicator';
import { SpeedHttpController } from './speed-http.controller';
import { SpeedLifecycle } from './speed-lifecycle';
import type { SpeedDependencies, SpeedRuntime } from './speed-runtime';
import { SPEED_RUNTIME } from './speed.tokens';

export interface SpeedModuleOptions {
  /** Builds the layer's dependencies once, when the module initialises. */
  readonly useFactory: () => SpeedDependencies | Promise<SpeedDependencies>;
  /**
   * Serve GET /health, /metrics and /status from this module. Default true; a host that
   * composes several layers turns it off and uses SpeedHealthIndicator in its own checks.
   */
  readonly http?: boolean;
}

/** The speed layer as a Nest module: the layer, its lifecycle, health and metrics. */
@Module({})
export class SpeedModule {
  static forRoot(options: SpeedModuleOptions): DynamicModule {
    return {
      module: SpeedModule,
      imports: [TerminusModule],
      providers: [
        {
          provide: SPEED_RUNTIME,
          useFactory: async (): Promise<SpeedRuntime> => {
            const dependencies = await options.useFactory();
            return { layer: createSpeedLayer(dependencies.layer), dependencies: dependencies.layer, close: dependencies.close ?? (async () => undefined) };
          },
        },
        SpeedHealthIndicator,
        SpeedLifecycle,
      ],
      controllers: options.http === false ? [] : [SpeedHttpController],
      exports: [SPEED_RUNTIME, SpeedHealthIndicator],
    };
  }
}
