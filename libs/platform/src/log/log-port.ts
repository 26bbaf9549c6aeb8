/**
 * The log port: what the speed layer, the archiver and ingest need from a partitioned,
 * offset-addressed log. Kafka (kafkajs) implements it in cluster mode; an in-process log with
 * the same partition/offset/consumer-group semantics implements it in embedded mode.
 *
 * Offsets are JavaScript numbers (exact below 2^53, i.e. for any realistic log).
 */

export interface LogRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Log append (or create) time, epoch ms. */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface LogBatch extends TopicPartition {
  /** Consecutive records of one partition, in offset order (offsets may skip: compaction, transaction markers). */
  readonly records: readonly LogRecord[];
  /** Offset the next record appended to this partition will get (end of log when fetched). */
  readonly highWatermark: number;
}

export interface BatchContext {
  /** Keeps the group membership alive during long work. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the partition was revoked: do not commit then. */
  isRunning(): boolean;
}

export interface ConsumeOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /**
   * Start position of each newly assigned partition, from the consumer's own durable store
   * (never the group's committed offsets). Partitions absent from the map start at 0.
   */
  startOffsets(assigned: readonly TopicPartition[]): Promise<ReadonlyMap<string, number>>;
  /**
   * Processes one batch. When the returned promise resolves, the batch is durably reflected
   * in the consumer's store and the consumer moves past it; when it rejects, the consumer
   * re-reads the partition from `startOffsets` (nothing is skipped).
   */
  eachBatch(batch: LogBatch, context: BatchContext): Promise<void>;
  /** Upper bound of records per batch, if the adapter supports it. */
  readonly maxBatchRecords?: number;
}

export interface LogConsumer {
  /** Joins the group and consumes until `stop()`; resolves once consuming has started. */
  start(options: ConsumeOptions): Promise<void>;
  /**
   * Stops consuming. Work on the in-flight batch is finished or abandoned at a commit
   * boundary of the consumer's store (a batch may commit in several pieces, each with its
   * offsets): what committed stays, the rest is read again by whoever gets the partition.
   */
  stop(): Promise<void>;
  /** Partitions currently assigned to this member. */
  assignment(): readonly TopicPartition[];
}

export interface ProduceMessage {
  readonly key: string | Buffer | null;
  readonly value: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  /** Explicit partition; otherwise chosen from the key. */
  readonly partition?: number;
  readonly timestamp?: number;
}

export interface ProducedPosition {
  readonly partition: number;
  readonly offset: number;
}

export interface LogProducer {
  /** Appends messages durably (acks=all, idempotent) and returns where each landed, in order. */
  send(topic: string, messages: readonly ProduceMessage[]): Promise<readonly ProducedPosition[]>;
  close(): Promise<void>;
}

export interface LogAdmin {
  /** Creates the topic if missing; checks the partition count if it exists. */
  ensureTopic(topic: string, partitions: number): Promise<void>;
  /** End offset (next offset to be written) of every partition of a topic. */
  endOffsets(topic: string): Promise<ReadonlyMap<number, number>>;
  close(): Promise<void>;
}

/** A log: the factory the layers receive (Kafka or embedded). */
export interface Log {
  readonly kind: 'kafka' | 'embedded';
  consumer(clientId?: string): LogConsumer;
  producer(): Promise<LogProducer>;
  admin(): Promise<LogAdmin>;
  /** Whether the log is reachable right now (health checks). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const partitionKey = (tp: TopicPartition): string => `${tp.topic}:${tp.partition}`;
