import { type Static, Type } from '@sinclair/typebox';
import { DEFAULT_MAX_EVENT_BYTES } from '@tandem/contracts';
import { KAFKA_SETTINGS, type KafkaOptions, kafkaOptionsFromSettings, loadConfig, Setting, splitList } from '@tandem/platform';
import { DEFAULT_INGEST_MAX_EVENT_BYTES } from './ingest-service';

/**
 * The ingest service's settings, from the environment, checked at start-up: a bad value
 * stops the process with a message naming the variable.
 */
export const INGEST_SETTINGS = Type.Object({
  ...KAFKA_SETTINGS,
  TANDEM_TOPIC_PREFIX: Type.String({ default: '', pattern: '^[A-Za-z0-9._-]*$', description: 'Prefix of every topic name (isolates deployments sharing a cluster)' }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0', description: 'Address the REST and gRPC listeners bind' }),
  PORT: Setting.port(3001, 'REST port (also /docs, /health, /metrics)'),
  GRPC_PORT: Setting.port(50052, 'gRPC port'),
  INGEST_API_KEYS: Type.Optional(Setting.list('Write API keys, comma-separated; unset for an open API')),
  INGEST_RATE_LIMIT: Setting.int(6_000, 0, 100_000_000, 'Requests per client per window; 0 disables rate limiting'),
  INGEST_RATE_WINDOW_MS: Setting.int(60_000, 100, 3_600_000, 'Rate limit window'),
  INGEST_MAX_BODY_BYTES: Setting.int(5 * 1024 * 1024, 1024, 256 * 1024 * 1024, 'Largest REST body or gRPC message; larger ones get 413 / RESOURCE_EXHAUSTED'),
  INGEST_MAX_EVENT_BYTES: Setting.int(DEFAULT_INGEST_MAX_EVENT_BYTES, 64, DEFAULT_MAX_EVENT_BYTES, 'Largest event; larger ones are rejected as oversized'),
  INGEST_MAX_EVENTS_PER_REQUEST: Setting.int(10_000, 1, 1_000_000, 'Most events in one request'),
  INGEST_SEND_TIMEOUT_MS: Setting.int(5_000, 100, 300_000, 'How long a publish waits for Kafka before answering 503'),
  INGEST_DEAD_LETTERS: Setting.bool(true, 'Also write rejected events to the stream\'s dead-letter topic'),
});

export type IngestSettings = Static<typeof INGEST_SETTINGS>;

export interface IngestConfig {
  readonly kafka: KafkaOptions;
  readonly topicPrefix: string;
  readonly host: string;
  readonly port: number;
  readonly grpcPort: number;
  readonly apiKeys: readonly string[];
  readonly rateLimit: { readonly limit: number; readonly windowMs: number };
  readonly maxBodyBytes: number;
  readonly maxEventBytes: number;
  readonly maxEventsPerRequest: number;
  readonly sendTimeoutMs: number;
  readonly deadLetters: boolean;
}

/** Reads and checks the ingest settings; throws a ConfigError naming every bad setting. */
export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const s = loadConfig(INGEST_SETTINGS, env);
  return {
    kafka: kafkaOptionsFromSettings(s),
    topicPrefix: s.TANDEM_TOPIC_PREFIX,
    host: s.HOST,
    port: s.PORT,
    grpcPort: s.GRPC_PORT,
    apiKeys: splitList(s.INGEST_API_KEYS),
    rateLimit: { limit: s.INGEST_RATE_LIMIT, windowMs: s.INGEST_RATE_WINDOW_MS },
    maxBodyBytes: s.INGEST_MAX_BODY_BYTES,
    maxEventBytes: s.INGEST_MAX_EVENT_BYTES,
    maxEventsPerRequest: s.INGEST_MAX_EVENTS_PER_REQUEST,
    sendTimeoutMs: s.INGEST_SEND_TIMEOUT_MS,
    deadLetters: s.INGEST_DEAD_LETTERS,
  };
}
