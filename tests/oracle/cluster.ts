import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePort, ServiceProcess } from './service-process';

export interface ClusterOptions {
  readonly brokers: readonly string[];
  readonly databaseUrl: string;
  /** Unique per run: isolates topics (TANDEM_TOPIC_PREFIX). */
  readonly topicPrefix: string;
  /** Unique per run: isolates tables (DATABASE_SCHEMA). */
  readonly schema: string;
  readonly chunkSize: number;
  /** Views every service maintains (TANDEM_VIEWS). */
  readonly views: readonly string[];
  /** Time between scheduled batch runs. */
  readonly batchIntervalMs: number;
  /** Where logs of the services go; a temporary directory when absent. */
  readonly workDir?: string;
}

export type ChaosTarget = 'speed' | 'archiver' | 'batch';

/**
 * The cluster, one process per service as in production: ingest, speed, the archiver and the
 * batch schedule (two processes of apps/batch, so either can be killed alone), serving.
 */
export class Cluster {
  readonly services: Record<ChaosTarget | 'ingest' | 'serving', ServiceProcess>;
  readonly speedGroup: string;
  private constructor(
    readonly options: ClusterOptions,
    /** The settings every service shares (what an operator's command needs too). */
    readonly commonEnv: Record<string, string>,
    readonly workDir: string,
    readonly lakeDir: string,
    readonly ingestUrl: string,
    readonly servingUrl: string,
    readonly servingGrpc: string,
    services: Cluster['services'],
    speedGroup: string,
  ) {
    this.services = services;
    this.speedGroup = speedGroup;
  }

  static async create(options: ClusterOptions): Promise<Cluster> {
    const workDir = options.workDir ?? (await mkdtemp(path.join(tmpdir(), 'tandem-oracle-')));
    const lakeDir = path.join(workDir, 'lake');
    const speedGroup = `${options.schema}_speed`;
    const common = {
      KAFKA_BROKERS: options.brokers.join(','),
      DATABASE_URL: options.databaseUrl,
      DATABASE_SCHEMA: options.schema,
      TANDEM_TOPIC_PREFIX: options.topicPrefix,
      TANDEM_CHUNK_SIZE: String(options.chunkSize),
      TANDEM_VIEWS: options.views.join(','),
      SPEED_GROUP_ID: speedGroup,
      LAKE_DIR: lakeDir,
      NODE_ENV: 'test',
    };
    const [ingestPort, ingestGrpc, speedPort, archiverPort, batchPort, servingPort, servingGrpcPort] = await Promise.all(Array.from({ length: 7 }, freePort));
    const log = (name: string) => path.join(workDir, `${name}.log`);
    const health = (port: number) => `http://127.0.0.1:${port}/health`;
    const services: Cluster['services'] = {
      ingest: new ServiceProcess({
        name: 'ingest',
        entry: 'apps/ingest/src/main.ts',
        env: () => ({ ...common, HOST: '127.0.0.1', PORT: String(ingestPort), GRPC_PORT: String(ingestGrpc), INGEST_RATE_LIMIT: '0' }),
        healthUrl: health(ingestPort),
        logFile: log('ingest'),
      }),
      speed: new ServiceProcess({
        name: 'speed',
        entry: 'apps/speed/src/main.ts',
        env: () => ({
          ...common,
          PORT: String(speedPort),
          // The broker's minimum: a killed member's partitions come back within seconds.
          SPEED_SESSION_TIMEOUT_MS: '6000',
          SPEED_HEARTBEAT_INTERVAL_MS: '1000',
          SPEED_CLEANUP_INTERVAL_MS: '2000',
          SPEED_PARTITIONS_CONCURRENTLY: '4',
        }),
        healthUrl: health(speedPort),
        logFile: log('speed'),
      }),
      // The archiver resumes from its manifest, not from the group's offsets, so each
      // incarnation may take a fresh group: it need not wait for the killed member's session
      // to expire before it gets the partitions.
      archiver: new ServiceProcess({
        name: 'archiver',
        entry: 'apps/batch/src/main.ts',
        env: (incarnation) => ({
          ...common,
          PORT: String(archiverPort),
          BATCH_INTERVAL_MS: '0',
          ARCHIVER_ENABLED: 'true',
          ARCHIVER_GROUP_ID: `${options.schema}_archiver_${incarnation}`,
          ARCHIVER_MAX_AGE_MS: '300',
          ARCHIVER_MAX_RECORDS: '2000',
          BATCH_WORKERS: '0',
        }),
        healthUrl: health(archiverPort),
        logFile: log('archiver'),
      }),
      batch: new ServiceProcess({
        name: 'batch',
        entry: 'apps/batch/src/main.ts',
        env: () => ({
          ...common,
          PORT: String(batchPort),
          BATCH_INTERVAL_MS: String(options.batchIntervalMs),
          ARCHIVER_ENABLED: 'false',
          BATCH_WORKERS: '0',
        }),
        healthUrl: health(batchPort),
        logFile: log('batch'),
      }),
      serving: new ServiceProcess({
        name: 'serving',
        entry: 'apps/serving/src/main.ts',
        env: () => ({
          ...common,
          HOST: '127.0.0.1',
          PORT: String(servingPort),
          GRPC_PORT: String(servingGrpcPort),
          SERVING_RATE_LIMIT: '0',
          SERVING_MAX_TOP_N: '1000000',
        }),
        healthUrl: health(servingPort),
        logFile: log('serving'),
      }),
    };
    return new Cluster(
      options,
      common,
      workDir,
      lakeDir,
      `http://127.0.0.1:${ingestPort}`,
      `http://127.0.0.1:${servingPort}`,
      `127.0.0.1:${servingGrpcPort}`,
      services,
      speedGroup,
    );
  }

  /** Starts every service, one at a time (start-up is CPU-bound on a small machine). */
  async start(order: readonly (keyof Cluster['services'])[] = ['ingest', 'serving', 'speed', 'archiver', 'batch']): Promise<void> {
    for (const name of order) await this.services[name].start();
  }

  unexpectedExits(): string[] {
    return Object.values(this.services).flatMap((s) => s.unexpectedExits);
  }

  async close(options: { readonly keepWorkDir?: boolean } = {}): Promise<void> {
    await Promise.all(Object.values(this.services).map((s) => s.close()));
    if (!options.keepWorkDir && !this.options.workDir) await rm(this.workDir, { recursive: true, force: true });
  }
}
