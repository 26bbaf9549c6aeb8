import { type Static, Type } from '@sinclair/typebox';
import { DEFAULT_MAX_EVENT_BYTES } from '@tandem/contracts';
import {
  ConfigError,
  DEFAULT_CHUNK_SIZE,
  KAFKA_SETTINGS,
  type KafkaOptions,
  kafkaOptionsFromSettings,
  loadConfig,
  resolveKafkaOptions,
  Setting,
  splitList,
} from '@tandem/platform';
import { type AnyView, catalog, selectViews } from '@tandem/transforms';

/**
 * The speed service's settings, from the environment, checked at start-up: a bad value stops
 * the process with a message naming the variable.
 */
export const SPEED_SETTINGS = Type.Object({
  ...KAFKA_SETTINGS,
  SPEED_GROUP_ID: Type.String({ minLength: 1, default: 'tandem-speed', description: 'Kafka consumer group, also the owner of the stored offsets' }),
  TANDEM_VIEWS: Setting.list('Views to maintain, comma-separated names, or * for all', '*'),
  TANDEM_TOPIC_PREFIX: Type.String({ default: '', pattern: '^[A-Za-z0-9._-]*$', description: 'Prefix of every topic name (isolates deployments sharing a cluster)' }),
  DATABASE_URL: Setting.url('PostgreSQL connection string'),
  DATABASE_SCHEMA: Type.String({ default: 'public', pattern: '^[a-z_][a-z0-9_]{0,62}$', description: 'PostgreSQL schema' }),
  TANDEM_CHUNK_SIZE: Setting.int(DEFAULT_CHUNK_SIZE, 1, 1_000_000_000, 'Offsets per chunk; must match every other service'),
  SPEED_MAX_BATCH_BYTES: Setting.int(4 * 1024 * 1024, 1024, 256 * 1024 * 1024, 'Bytes fetched per partition per batch'),
  SPEED_MAX_EVENT_BYTES: Setting.int(DEFAULT_MAX_EVENT_BYTES, 64, 64 * 1024 * 1024, 'Largest event accepted; larger records are dead-lettered'),
  SPEED_MAX_BATCH_RECORDS: Setting.int(0, 0, 10_000_000, 'Upper bound of records per transaction and partition; 0 for no bound'),
  SPEED_SESSION_TIMEOUT_MS: Setting.int(30_000, 1_000, 3_600_000, 'Consumer group session timeout (the broker may impose a minimum)'),
  SPEED_HEARTBEAT_INTERVAL_MS: Setting.int(3_000, 100, 600_000, 'Consumer group heartbeat period; below the session timeout'),
  SPEED_PARTITIONS_CONCURRENTLY: Setting.int(4, 1, 256, 'Partition batches processed (and committed) together'),
  SPEED_TRANSACTION_RECORDS: Setting.int(10_000, 1, 10_000_000, 'Records of a fetched batch folded into one piece (to the next chunk boundary); the next piece folds while one commits'),
  SPEED_CLEANUP_INTERVAL_MS: Setting.int(60_000, 1_000, 86_400_000, 'How often realtime rows below the batch cut are deleted'),
  SPEED_COMMIT_DELAY_MS: Setting.int(0, 0, 60_000, 'Test aid: pause inside each transaction before COMMIT (0 in production)'),
  PORT: Setting.port(3002, 'HTTP port of /health and /metrics'),
});

export type SpeedSettings = Static<typeof SPEED_SETTINGS>;

/** The settings resolved into what the layer needs. */
export interface SpeedConfig {
  readonly kafka: KafkaOptions;
  readonly groupId: string;
  readonly views: readonly AnyView[];
  readonly topicPrefix: string;
  readonly database: { readonly url: string; readonly schema: string };
  readonly chunkSize: number;
  readonly maxBatchBytes: number;
  readonly maxEventBytes: number;
  /** Undefined for no bound. */
  readonly maxBatchRecords: number | undefined;
  readonly partitionsConcurrently: number;
  readonly transactionRecords: number;
  readonly cleanupIntervalMs: number;
  readonly commitDelayMs: number;
  readonly port: number;
}

/** Reads and checks the speed settings; throws a ConfigError naming every bad setting. */
export function loadSpeedConfig(env: NodeJS.ProcessEnv = process.env): SpeedConfig {
  const s = loadConfig(SPEED_SETTINGS, env);
  let views: AnyView[];
  try {
    views = selectViews(splitList(s.TANDEM_VIEWS), catalog);
  } catch (error) {
    throw new ConfigError([`TANDEM_VIEWS: ${(error as Error).message} (got ${JSON.stringify(s.TANDEM_VIEWS)})`]);
  }
  if (s.SPEED_HEARTBEAT_INTERVAL_MS >= s.SPEED_SESSION_TIMEOUT_MS) {
    throw new ConfigError([
      `SPEED_HEARTBEAT_INTERVAL_MS: must be below SPEED_SESSION_TIMEOUT_MS (${s.SPEED_SESSION_TIMEOUT_MS}) (got ${s.SPEED_HEARTBEAT_INTERVAL_MS})`,
    ]);
  }
  const config: SpeedConfig = {
    kafka: {
      ...kafkaOptionsFromSettings(s),
      consumer: {
        maxBytesPerPartition: s.SPEED_MAX_BATCH_BYTES,
        maxBytes: Math.max(s.SPEED_MAX_BATCH_BYTES, 16 * 1024 * 1024),
        partitionsConsumedConcurrently: s.SPEED_PARTITIONS_CONCURRENTLY,
        sessionTimeout: s.SPEED_SESSION_TIMEOUT_MS,
        heartbeatInterval: s.SPEED_HEARTBEAT_INTERVAL_MS,
      },
    },
    groupId: s.SPEED_GROUP_ID,
    views,
    topicPrefix: s.TANDEM_TOPIC_PREFIX,
    database: { url: s.DATABASE_URL, schema: s.DATABASE_SCHEMA },
    chunkSize: s.TANDEM_CHUNK_SIZE,
    maxBatchBytes: s.SPEED_MAX_BATCH_BYTES,
    maxEventBytes: s.SPEED_MAX_EVENT_BYTES,
    maxBatchRecords: s.SPEED_MAX_BATCH_RECORDS === 0 ? undefined : s.SPEED_MAX_BATCH_RECORDS,
    partitionsConcurrently: s.SPEED_PARTITIONS_CONCURRENTLY,
    transactionRecords: s.SPEED_TRANSACTION_RECORDS,
    cleanupIntervalMs: s.SPEED_CLEANUP_INTERVAL_MS,
    commitDelayMs: s.SPEED_COMMIT_DELAY_MS,
    port: s.PORT,
  };
  // Checks the client options as the log will, so a bad combination fails here, before start-up.
  resolveKafkaOptions(config.kafka);
  return config;
}
