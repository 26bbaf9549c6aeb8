import { type Static, Type } from '@sinclair/typebox';
import { DEFAULT_CHUNK_SIZE, loadConfig, Setting, splitList } from '@tandem/platform';

/**
 * The serving service's settings, from the environment, checked at start-up: a bad value
 * stops the process with a message naming the variable.
 */
export const SERVING_SETTINGS = Type.Object({
  DATABASE_URL: Setting.url('PostgreSQL connection string'),
  DATABASE_SCHEMA: Type.String({ default: 'public', pattern: '^[a-z_][a-z0-9_]{0,62}$', description: 'PostgreSQL schema' }),
  DATABASE_POOL_SIZE: Setting.int(10, 1, 500, 'Connections in the pool'),
  TANDEM_CHUNK_SIZE: Setting.int(DEFAULT_CHUNK_SIZE, 1, 1_000_000_000, 'Offsets per chunk; must match every other service'),
  TANDEM_TOPIC_PREFIX: Type.String({ default: '', pattern: '^[A-Za-z0-9._-]*$', description: 'Prefix of every topic name (isolates deployments sharing a cluster)' }),
  SPEED_GROUP_ID: Type.String({ minLength: 1, default: 'tandem-speed', description: 'Consumer group of the speed layer, whose progress answers report' }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0', description: 'Address the REST and gRPC listeners bind' }),
  PORT: Setting.port(3003, 'REST port (also /docs, /health, /metrics)'),
  GRPC_PORT: Setting.port(50051, 'gRPC port'),
  SERVING_API_KEYS: Type.Optional(Setting.list('Read API keys, comma-separated; unset for an open API')),
  SERVING_RATE_LIMIT: Setting.int(6_000, 0, 100_000_000, 'Requests per client per window; 0 disables rate limiting'),
  SERVING_RATE_WINDOW_MS: Setting.int(60_000, 100, 3_600_000, 'Rate limit window'),
  SERVING_BATCH_CACHE_ENTRIES: Setting.int(2_000, 0, 10_000_000, 'Decoded batch parts cached; 0 disables the cache'),
  SERVING_BATCH_CACHE_ROWS: Setting.int(1_000_000, 0, 1_000_000_000, 'Stored rows the batch cache may hold'),
  SERVING_CLOSED_CHUNK_CACHE_ROWS: Setting.int(200_000, 0, 100_000_000, 'Realtime rows of closed chunks cached (decoded per row, and folded per query shape); 0 disables'),
  SERVING_STATEMENT_TIMEOUT_MS: Setting.int(10_000, 100, 600_000, 'Longest a query may run in PostgreSQL'),
  SERVING_MAX_SERIES_POINTS: Setting.int(10_000, 1, 10_000_000, 'Most points in one time series'),
  SERVING_MAX_TOP_N: Setting.int(1_000, 1, 1_000_000, 'Largest n of a top-N query'),
});

export type ServingSettings = Static<typeof SERVING_SETTINGS>;

export interface ServingConfig {
  readonly database: { readonly url: string; readonly schema: string; readonly poolSize: number };
  readonly chunkSize: number;
  readonly topicPrefix: string;
  readonly speedConsumer: string;
  readonly host: string;
  readonly port: number;
  readonly grpcPort: number;
  readonly apiKeys: readonly string[];
  readonly rateLimit: { readonly limit: number; readonly windowMs: number };
  readonly batchCacheEntries: number;
  readonly batchCacheRows: number;
  readonly closedChunkCacheRows: number;
  readonly statementTimeoutMs: number;
  readonly maxSeriesPoints: number;
  readonly maxTopN: number;
}

/** Reads and checks the serving settings; throws a ConfigError naming every bad setting. */
export function loadServingConfig(env: NodeJS.ProcessEnv = process.env): ServingConfig {
  const s = loadConfig(SERVING_SETTINGS, env);
  return {
    database: { url: s.DATABASE_URL, schema: s.DATABASE_SCHEMA, poolSize: s.DATABASE_POOL_SIZE },
    chunkSize: s.TANDEM_CHUNK_SIZE,
    topicPrefix: s.TANDEM_TOPIC_PREFIX,
    speedConsumer: s.SPEED_GROUP_ID,
    host: s.HOST,
    port: s.PORT,
    grpcPort: s.GRPC_PORT,
    apiKeys: splitList(s.SERVING_API_KEYS),
    rateLimit: { limit: s.SERVING_RATE_LIMIT, windowMs: s.SERVING_RATE_WINDOW_MS },
    batchCacheEntries: s.SERVING_BATCH_CACHE_ENTRIES,
    batchCacheRows: s.SERVING_BATCH_CACHE_ROWS,
    closedChunkCacheRows: s.SERVING_CLOSED_CHUNK_CACHE_ROWS,
    statementTimeoutMs: s.SERVING_STATEMENT_TIMEOUT_MS,
    maxSeriesPoints: s.SERVING_MAX_SERIES_POINTS,
    maxTopN: s.SERVING_MAX_TOP_N,
  };
}
