import {
  type DynamicModule,
  Inject,
  Injectable,
  type InjectionToken,
  Module,
  type ModuleMetadata,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OptionalFactoryDependency,
} from '@nestjs/common';
import { type Archiver, createArchiver } from './archiver';
import type { ArchiverOptions } from './archiver-options';

/** Injection token of the running Archiver (start/stop/status). */
export const ARCHIVER = Symbol.for('tandem.batch.archiver');
const ARCHIVER_OPTIONS = Symbol.for('tandem.batch.archiver-options');

export interface ArchiverModuleOptions {
  readonly imports?: ModuleMetadata['imports'];
  /** Builds the archiver's options from injected providers (the log, the lake, a registry). */
  readonly useFactory: (...deps: never[]) => ArchiverOptions | Promise<ArchiverOptions>;
  readonly inject?: (InjectionToken | OptionalFactoryDependency)[];
}

/** Starts the archiver when the application has started, and stops it (flushing) on shutdown. */
@Injectable()
export class ArchiverLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(ARCHIVER) private readonly archiver: Archiver) {}

  onApplicationBootstrap(): Promise<void> {
    return this.archiver.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.archiver.stop();
  }
}

/**
 * The archiver as a Nest module, for apps/batch and the quickstart:
 *
 *   ArchiverModule.forRootAsync({
 *     imports: [PlatformModule],
 *     inject: [LOG, LAKE_STORAGE, METRICS_REGISTRY],
 *     useFactory: (log, storage, registry) => archiverOptionsFromSettings(settings, { log, storage, registry }),
 *   })
 *
 * Enable shutdown hooks (`app.enableShutdownHooks()`) so SIGTERM flushes the buffers.
 */
@Module({})
export class ArchiverModule {
  static forRootAsync(options: ArchiverModuleOptions): DynamicModule {
    return {
      module: ArchiverModule,
      imports: options.imports ?? [],
      providers: [
        { provide: ARCHIVER_OPTIONS, useFactory: options.useFactory as (...deps: unknown[]) => ArchiverOptions | Promise<ArchiverOptions>, inject: options.inject ?? [] },
        { provide: ARCHIVER, useFactory: (archiverOptions: ArchiverOptions) => createArchiver(archiverOptions), inject: [ARCHIVER_OPTIONS] },
        ArchiverLifecycle,
      ],
      exports: [ARCHIVER],
    };
  }
}
