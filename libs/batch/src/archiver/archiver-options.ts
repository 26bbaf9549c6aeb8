import type { StreamContract } from '@tandem/contracts';
import { ConfigError, type LakeStorage, type Log } from '@tandem/platform';
import type { Registry } from 'prom-client';

/**
 * A stream contract of any event type. Contracts are generic in their schema, and their
 * `key`/`eventTime` take that event type, so an array of different streams needs the
 * parameter types widened to `never` (which any function accepts).
 */
export type AnyStreamContract = Omit<StreamContract, 'key' | 'eventTime'> & {
  readonly key: (event: never) => string;
  readonly eventTime: (event: never) => number;
};

/**
 * The topic a component reads a stream from. Normally the contract's own topic; tests and
 * multi-tenant deployments map it (a unique test topic, a prefix) the same way for every
 * stream consumer.
 */
export type TopicOf = (contract: AnyStreamContract) => string;
export const contractTopic: TopicOf = (contract) => contract.topic;

export interface ArchiverLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface ArchiverOptions {
  readonly log: Log;
  readonly storage: LakeStorage;
  /** Streams to archive. */
  readonly streams: readonly AnyStreamContract[];
  /** Consumer group (default `tandem-archiver`); members of one group share the partitions. */
  readonly groupId?: string;
  /** Client id of the consumer (default `tandem-archiver`). */
  readonly clientId?: string;
  /** Records (archived or skipped) per file at most; a partition flushes when it has this many (default 50,000). */
  readonly maxRecords?: number;
  /** A partition flushes when its oldest buffered record is this old (default 10 s). */
  readonly maxAgeMs?: number;
  /** Upper bound of records per batch handed to the archiver (default: the log's). */
  readonly maxBatchRecords?: number;
  /** Where the metrics go (default: prom-client's global registry). */
  readonly registry?: Registry;
  /** Topic of each stream (default: the contract's topic). */
  readonly topicOf?: TopicOf;
  readonly logger?: ArchiverLogger;
}

export const ARCHIVER_DEFAULTS = {
  groupId: 'tandem-archiver',
  clientId: 'tandem-archiver',
  maxRecords: 50_000,
  maxAgeMs: 10_000,
} as const;

export interface ResolvedArchiverOptions {
  readonly log: Log;
  readonly storage: LakeStorage;
  readonly groupId: string;
  readonly clientId: string;
  readonly maxRecords: number;
  readonly maxAgeMs: number;
  readonly maxBatchRecords: number | undefined;
  readonly registry: Registry | undefined;
  readonly logger: ArchiverLogger;
  /** Stream of each topic. */
  readonly streamsByTopic: ReadonlyMap<string, AnyStreamContract>;
}

/** Checks the options; a ConfigError lists every problem. */
export function resolveArchiverOptions(options: ArchiverOptions): ResolvedArchiverOptions {
  const problems: string[] = [];
  const positive = (name: string, value: number | undefined, max: number) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= max)) problems.push(`${name}: an integer from 1 to ${max}, got ${value}`);
  };
  positive('maxRecords', options.maxRecords, 10_000_000);
  positive('maxAgeMs', options.maxAgeMs, 24 * 3600 * 1000);
  positive('maxBatchRecords', options.maxBatchRecords, 10_000_000);
  if (options.groupId !== undefined && options.groupId.trim() === '') problems.push('groupId: must not be empty');
  if (options.streams.length === 0) problems.push('streams: at least one stream to archive');
  const topicOf = options.topicOf ?? contractTopic;
  const streamsByTopic = new Map<string, AnyStreamContract>();
  const names = new Set<string>();
  for (const stream of options.streams) {
    if (names.has(stream.name)) problems.push(`streams: ${stream.name} is listed twice`);
    names.add(stream.name);
    const topic = topicOf(stream);
    const other = streamsByTopic.get(topic);
    if (other) problems.push(`streams: ${other.name} and ${stream.name} both map to topic ${topic}`);
    streamsByTopic.set(topic, stream);
  }
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `archiver ${p}`));
  return {
    log: options.log,
    storage: options.storage,
    groupId: options.groupId ?? ARCHIVER_DEFAULTS.groupId,
    clientId: options.clientId ?? ARCHIVER_DEFAULTS.clientId,
    maxRecords: options.maxRecords ?? ARCHIVER_DEFAULTS.maxRecords,
    maxAgeMs: options.maxAgeMs ?? ARCHIVER_DEFAULTS.maxAgeMs,
    maxBatchRecords: options.maxBatchRecords,
    registry: options.registry,
    logger: options.logger ?? stderrLogger,
    streamsByTopic,
  };
}

const stderrLogger: ArchiverLogger = {
  info: (message, fields) => write('info', message, fields),
  warn: (message, fields) => write('warn', message, fields),
  error: (message, fields) => write('error', message, fields),
};

function write(level: string, message: string, fields?: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), component: 'archiver', message, ...fields })}\n`);
}
