import { availableParallelism } from 'node:os';
import { type Static, Type } from '@sinclair/typebox';
import {
  ConfigError,
  DEFAULT_CHUNK_SIZE,
  KAFKA_SETTINGS,
  type KafkaOptions,
  kafkaOptionsFromSettings,
  LAKE_SETTINGS,
  type LakeSettings,
  loadConfig,
  Setting,
  splitList,
} from '@tandem/platform';
import { type AnyView, catalog, selectViews } from '@tandem/transforms';
import { ARCHIVER_DEFAULTS } from '../archiver';
import type { BatchRunnerOptions } from './batch-runner';

/**
 * Settings of the batch layer, from the environment, checked at start-up (a bad value stops
 * the process with a message naming the variable). The service and the CLI share them.
 */
export const BATCH_SETTINGS = Type.Object({
  ...KAFKA_SETTINGS,
  // Optional here: the CLI runs without a broker (it then publishes no BatchCompleted);
  // the service requires it (loadBatchConfig with requireKafka).
  KAFKA_BROKERS: Type.Optional(Setting.list('Kafka bootstrap brokers, comma-separated host:port')),
  ...LAKE_SETTINGS,
  DATABASE_URL: Setting.url('PostgreSQL connection string'),
  DATABASE_SCHEMA: Type.String({ default: 'public', pattern: '^[a-z_][a-z0-9_]{0,62}$', description: 'PostgreSQL schema' }),
  TANDEM_CHUNK_SIZE: Setting.int(DEFAULT_CHUNK_SIZE, 1, 1_000_000_000, 'Offsets per chunk; must match every other service'),
  TANDEM_VIEWS: Setting.list('Views to compute, comma-separated names, or * for all', '*'),
  TANDEM_TOPIC_PREFIX: Type.String({ default: '', pattern: '^[A-Za-z0-9._-]*$', description: 'Prefix of every topic name (isolates deployments sharing a cluster)' }),
  SPEED_GROUP_ID: Type.String({ minLength: 1, default: 'tandem-speed', description: 'Consumer id of the speed layer, whose offsets bound the conformity check' }),
  BATCH_INTERVAL_MS: Setting.int(300_000, 0, 7 * 86_400_000, 'Time between scheduled incremental runs; 0 disables the schedule'),
  BATCH_RETENTION: Setting.int(3, 1, 1000, 'Batch versions kept per view, the current one included'),
  BATCH_COMPACT_PERCENT: Setting.int(20, 0, 10_000, 'An incremental version is a delta over its base while the delta holds at most this percentage of the base rows'),
  BATCH_WORKERS: Setting.int(Math.max(1, availableParallelism()), 0, 256, 'Threads scanning the lake, the calling one included; 0 or 1 scans in the calling thread alone'),
  BATCH_MIN_ROWS_PER_WORKER: Setting.int(200_000, 1, 1_000_000_000, 'Lake rows per worker below which fewer workers are started'),
  BATCH_VERIFY_FILES: Setting.bool(true, 'Check every lake file against the SHA-256 and size in its manifest entry'),
  ARCHIVER_ENABLED: Setting.bool(true, 'Run the archiver (log -> lake) in this process'),
  ARCHIVER_GROUP_ID: Type.String({ minLength: 1, default: ARCHIVER_DEFAULTS.groupId, description: 'Consumer group of the archiver' }),
  ARCHIVER_MAX_RECORDS: Setting.int(ARCHIVER_DEFAULTS.maxRecords, 1, 10_000_000, 'Records per lake file at most'),
  ARCHIVER_MAX_AGE_MS: Setting.int(ARCHIVER_DEFAULTS.maxAgeMs, 1, 86_400_000, 'A partition flushes a file when its oldest buffered record is this old'),
  PORT: Setting.port(3003, 'HTTP port of /health, /metrics and /status'),
});

export type BatchSettings = Static<typeof BATCH_SETTINGS>;

export interface BatchConfig {
  readonly settings: BatchSettings;
  /** Undefined when no broker is configured (CLI only). */
  readonly kafka: KafkaOptions | undefined;
  readonly lake: LakeSettings;
  readonly database: { readonly url: string; readonly schema: string };
  readonly views: readonly AnyView[];
  readonly chunkSize: number;
  readonly topicPrefix: string;
  readonly speedConsumer: string;
  readonly intervalMs: number;
  readonly retention: number;
  readonly compactRatio: number;
  readonly workers: number;
  readonly minRowsPerWorker: number;
  readonly verifyFiles: boolean;
  readonly archiver: { readonly enabled: boolean; readonly groupId: string; readonly maxRecords: number; readonly maxAgeMs: number };
  readonly port: number;
}

export function loadBatchConfig(env: NodeJS.ProcessEnv = process.env, options: { readonly requireKafka?: boolean } = {}): BatchConfig {
  const s = loadConfig(BATCH_SETTINGS, env);
  const problems: string[] = [];
  let views: AnyView[] = [];
  try {
    views = selectViews(splitList(s.TANDEM_VIEWS), catalog);
  } catch (error) {
    problems.push(`TANDEM_VIEWS: ${(error as Error).message} (got ${JSON.stringify(s.TANDEM_VIEWS)})`);
  }
  if (options.requireKafka && s.KAFKA_BROKERS === undefined) problems.push('KAFKA_BROKERS: required by the batch service (not set)');
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    settings: s,
    kafka: s.KAFKA_BROKERS === undefined ? undefined : kafkaOptionsFromSettings({ ...s, KAFKA_BROKERS: s.KAFKA_BROKERS }),
    lake: { LAKE_DIR: s.LAKE_DIR, LAKE_AZURE_CONNECTION_STRING: s.LAKE_AZURE_CONNECTION_STRING, LAKE_AZURE_CONTAINER: s.LAKE_AZURE_CONTAINER, LAKE_AZURE_PREFIX: s.LAKE_AZURE_PREFIX },
    database: { url: s.DATABASE_URL, schema: s.DATABASE_SCHEMA },
    views,
    chunkSize: s.TANDEM_CHUNK_SIZE,
    topicPrefix: s.TANDEM_TOPIC_PREFIX,
    speedConsumer: s.SPEED_GROUP_ID,
    intervalMs: s.BATCH_INTERVAL_MS,
    retention: s.BATCH_RETENTION,
    compactRatio: s.BATCH_COMPACT_PERCENT / 100,
    workers: s.BATCH_WORKERS,
    minRowsPerWorker: s.BATCH_MIN_ROWS_PER_WORKER,
    verifyFiles: s.BATCH_VERIFY_FILES,
    archiver: { enabled: s.ARCHIVER_ENABLED, groupId: s.ARCHIVER_GROUP_ID, maxRecords: s.ARCHIVER_MAX_RECORDS, maxAgeMs: s.ARCHIVER_MAX_AGE_MS },
    port: s.PORT,
  };
}

/** The runner options that come from the settings; the caller adds the connections (database, lake, log, metrics). */
export function runnerSettings(config: BatchConfig) {
  return {
    lakeSettings: config.lake,
    views: config.views,
    chunkSize: config.chunkSize,
    workers: config.workers,
    minRowsPerWorker: config.minRowsPerWorker,
    retention: config.retention,
    compactRatio: config.compactRatio,
    topicPrefix: config.topicPrefix,
    speedConsumer: config.speedConsumer,
    verifyFiles: config.verifyFiles,
  } satisfies Partial<BatchRunnerOptions>;
}
