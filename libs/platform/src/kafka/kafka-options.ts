import type { ConnectionOptions } from 'node:tls';
import type { KafkaConfig, RetryOptions, SASLOptions } from 'kafkajs';
import { ConfigError } from '../errors/tandem-error';

/**
 * Options of the Kafka implementation of the log port: one object, defaults filled in,
 * rejected as a whole (naming every bad field) before any connection is attempted.
 *
 * SASL over TLS is what managed Kafka endpoints expect; Azure Event Hubs' Kafka endpoint,
 * for one, takes `ssl: true`, `sasl: { mechanism: 'plain', username: '$ConnectionString',
 * password: '<the namespace connection string>' }` and brokers `<namespace>.servicebus.windows.net:9093`.
 */
export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export const SASL_MECHANISMS: readonly SaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];

export interface KafkaSasl {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: string;
}

/** Fetch and group-membership tuning of consumers; every field has a default. */
export interface KafkaConsumerTuning {
  /** Upper bound of bytes fetched per partition per fetch: the size of one batch. Default 1 MiB. */
  readonly maxBytesPerPartition?: number;
  /** Upper bound of bytes per fetch response. Default 10 MiB. */
  readonly maxBytes?: number;
  /** Smallest response the broker waits for (up to maxWaitTimeInMs). Default 1. */
  readonly minBytes?: number;
  /** How long the broker may hold a fetch to gather minBytes. Default 500 ms. */
  readonly maxWaitTimeInMs?: number;
  /** Group session timeout. Default 30 s. */
  readonly sessionTimeout?: number;
  /** How long the coordinator waits for members to rejoin during a rebalance. Default 60 s. */
  readonly rebalanceTimeout?: number;
  /** Heartbeat period (also how soon a member notices a rebalance). Default 3 s. */
  readonly heartbeatInterval?: number;
  /** Batches of different partitions processed at the same time. Default 1. */
  readonly partitionsConsumedConcurrently?: number;
}

export interface KafkaProducerTuning {
  /**
   * Idempotent producer (acks=all, no duplicates on retry). Default true; set false only for
   * a Kafka-protocol service that does not offer idempotence.
   */
  readonly idempotent?: boolean;
}

export interface KafkaOptions {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  readonly sasl?: KafkaSasl;
  /** TLS: true for the system trust store, or node:tls options (CA, client certificate). */
  readonly ssl?: boolean | ConnectionOptions;
  /** Default 10 s (TLS handshakes to cloud endpoints are slow). */
  readonly connectionTimeout?: number;
  /** Default 30 s. */
  readonly requestTimeout?: number;
  /** kafkajs retry policy for requests, and for re-reading a partition after a failed batch. */
  readonly retry?: RetryOptions;
  readonly consumer?: KafkaConsumerTuning;
  readonly producer?: KafkaProducerTuning;
  /** Receives the client's warnings and errors; default: standard error. */
  readonly logger?: KafkaLogger;
}

export interface KafkaLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const DEFAULT_RETRY: Required<Omit<RetryOptions, 'restartOnFailure'>> = {
  initialRetryTime: 300,
  maxRetryTime: 30_000,
  factor: 0.2,
  multiplier: 2,
  retries: 5,
};

export const DEFAULT_CONSUMER_TUNING: Required<KafkaConsumerTuning> = {
  maxBytesPerPartition: 1024 * 1024,
  maxBytes: 10 * 1024 * 1024,
  minBytes: 1,
  maxWaitTimeInMs: 500,
  sessionTimeout: 30_000,
  rebalanceTimeout: 60_000,
  heartbeatInterval: 3_000,
  partitionsConsumedConcurrently: 1,
};

export interface ResolvedKafkaOptions {
  readonly client: KafkaConfig;
  readonly consumer: Required<KafkaConsumerTuning>;
  readonly producer: Required<KafkaProducerTuning>;
  readonly retry: Required<Omit<RetryOptions, 'restartOnFailure'>>;
  readonly logger: KafkaLogger;
}

const BROKER = /^[^\s:/]+:\d{1,5}$/;

/** Checks the options and builds the kafkajs client configuration; throws a ConfigError listing every problem. */
export function resolveKafkaOptions(options: KafkaOptions): ResolvedKafkaOptions {
  const problems: string[] = [];
  if (options.brokers.length === 0) problems.push('brokers: at least one broker (host:port) is required');
  for (const broker of options.brokers) {
    if (!BROKER.test(broker)) problems.push(`brokers: "${broker}" is not host:port`);
  }
  if (options.sasl) {
    if (!SASL_MECHANISMS.includes(options.sasl.mechanism)) {
      problems.push(`sasl.mechanism: "${options.sasl.mechanism}" is not one of ${SASL_MECHANISMS.join(', ')}`);
    }
    if (!options.sasl.username) problems.push('sasl.username: required with SASL');
    if (!options.sasl.password) problems.push('sasl.password: required with SASL');
  }
  const consumer = { ...DEFAULT_CONSUMER_TUNING, ...definedOnly(options.consumer ?? {}) };
  for (const [name, value] of Object.entries(consumer)) {
    if (!Number.isInteger(value) || value < (name === 'minBytes' ? 0 : 1)) {
      problems.push(`consumer.${name}: expected a positive integer, got ${value}`);
    }
  }
  if (consumer.heartbeatInterval >= consumer.sessionTimeout) {
    problems.push(`consumer.heartbeatInterval (${consumer.heartbeatInterval}) must be below sessionTimeout (${consumer.sessionTimeout})`);
  }
  if (consumer.maxBytesPerPartition > consumer.maxBytes) {
    problems.push(`consumer.maxBytesPerPartition (${consumer.maxBytesPerPartition}) must not exceed maxBytes (${consumer.maxBytes})`);
  }
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `kafka ${p}`));

  const retry = { ...DEFAULT_RETRY, ...definedOnly(options.retry ?? {}) };
  const sasl: SASLOptions | undefined = options.sasl
    ? ({ mechanism: options.sasl.mechanism, username: options.sasl.username, password: options.sasl.password } as SASLOptions)
    : undefined;
  const client: KafkaConfig = {
    brokers: [...options.brokers],
    clientId: options.clientId ?? 'tandem',
    ...(options.ssl === undefined || options.ssl === false ? {} : { ssl: options.ssl }),
    ...(sasl ? { sasl } : {}),
    connectionTimeout: options.connectionTimeout ?? 10_000,
    requestTimeout: options.requestTimeout ?? 30_000,
    retry,
  };
  return {
    client,
    consumer,
    producer: { idempotent: options.producer?.idempotent ?? true },
    retry,
    logger: options.logger ?? stderrLogger,
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const stderrLogger: KafkaLogger = {
  info: (message, fields) => write('info', message, fields),
  warn: (message, fields) => write('warn', message, fields),
  error: (message, fields) => write('error', message, fields),
};

function write(level: string, message: string, fields?: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ level, source: 'kafka', message, ...fields })}\n`);
}
