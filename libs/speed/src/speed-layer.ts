import {
  agreeOnSetting,
  CHUNK_SIZE_SETTING,
  type Database,
  DEFAULT_CHUNK_SIZE,
  type Log,
  type LogAdmin,
  type LogConsumer,
  partitionKey,
  type TopicPartition,
} from '@tandem/platform';
import type { AnyView } from '@tandem/transforms';
import { Registry } from 'prom-client';
import { DeadLetterPublisher } from './dead-letter-publisher';
import { GroupCommit } from './group-commit';
import { RealtimeCleanup } from './realtime-cleanup';
import { RealtimeViewWriter } from './realtime-view-writer';
import { SpeedConsumer } from './speed-consumer';
import { SpeedMetrics } from './speed-metrics';
import { bindStreams, type StreamBinding } from './stream-binding';

/**
 * The speed layer as a plain object: give it a log (Kafka or embedded), a database and the
 * views; `start()` joins the consumer group and keeps the realtime rows of those views up to
 * date, exactly once per record, until `stop()`.
 *
 * The caller owns the log and the database (the all-in-one process shares them between
 * layers); the layer owns its consumer, its dead-letter producer and its timers.
 */
export interface SpeedLayerOptions {
  readonly log: Log;
  readonly db: Database;
  readonly views: readonly AnyView[];
  /** Consumer group; also the owner of the stored offsets. Default `tandem-speed`. */
  readonly groupId?: string;
  /** Client id of the consumer. Default: the group id. */
  readonly clientId?: string;
  /** Offsets per chunk; checked against the deployment's recorded value. Default DEFAULT_CHUNK_SIZE. */
  readonly chunkSize?: number;
  /** Prefix of every topic name (see StreamBinding). Default none. */
  readonly topicPrefix?: string;
  /** Largest accepted event in bytes; larger ones are dead-lettered. Default 1 MiB. */
  readonly maxEventBytes?: number;
  /**
   * Records of a partition per transaction, at least; a transaction then runs on to the next
   * chunk boundary. A fetched batch is written in such pieces, each folded while the one
   * before it commits. Default 10,000.
   */
  readonly transactionRecords?: number;
  /** Upper bound of records per batch, passed to the log. */
  readonly maxBatchRecords?: number;
  /** Period of the clean-up of rows below the batch cut; 0 turns it off. Default 60 s. */
  readonly cleanupIntervalMs?: number;
  /** Test aid: pause inside each transaction before COMMIT. Default 0. */
  readonly commitDelayMs?: number;
  /** Prometheus registry for the layer's metrics. Default: a new one. */
  readonly registry?: Registry;
  readonly logger?: SpeedLogger;
}

export interface SpeedLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type SpeedState = 'stopped' | 'starting' | 'running' | 'stopping' | 'failed';

export interface PartitionStatus {
  readonly topic: string;
  readonly partition: number;
  /** Next offset this member knows is committed. */
  readonly nextOffset: number;
  /** End of the partition at the last batch (undefined before the first). */
  readonly highWatermark?: number;
}

export interface SpeedStatus {
  readonly state: SpeedState;
  readonly groupId: string;
  readonly views: readonly string[];
  readonly topics: readonly string[];
  readonly partitions: readonly PartitionStatus[];
  readonly recordsCommitted: number;
  readonly eventsApplied: number;
  readonly rowsWritten: number;
  readonly transactions: number;
  /** Dead letters sent by this process, per stream (or per topic for records of no stream). */
  readonly deadLetters: Readonly<Record<string, number>>;
  readonly lastCommitAt?: string;
  readonly lastError?: { readonly message: string; readonly at: string };
}

export interface SpeedLayer {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): SpeedStatus;
  /** Deletes realtime rows below the current batch cuts now; returns how many. */
  cleanup(): Promise<number>;
  readonly registry: Registry;
  readonly bindings: readonly StreamBinding[];
}

export function createSpeedLayer(options: SpeedLayerOptions): SpeedLayer {
  return new SpeedLayerRuntime(options);
}

class SpeedLayerRuntime implements SpeedLayer {
  readonly registry: Registry;
  readonly bindings: readonly StreamBinding[];
  private readonly groupId: string;
  private readonly chunkSize: number;
  private readonly metrics: SpeedMetrics;
  private readonly logger: SpeedLogger;
  private readonly writer: RealtimeViewWriter;
  private readonly deadLetterPublisher: DeadLetterPublisher;
  private readonly speedConsumer: SpeedConsumer;
  private readonly cleaner: RealtimeCleanup;
  private consumer: LogConsumer | undefined;
  private cleanupTimer: NodeJS.Timeout | undefined;
  private state: SpeedState = 'stopped';
  private readonly highWatermarks = new Map<string, number>();
  private readonly counters = { recordsCommitted: 0, eventsApplied: 0, rowsWritten: 0, transactions: 0 };
  private readonly deadLetters: Record<string, number> = {};
  private lastCommitAt: string | undefined;
  private lastError: { message: string; at: string } | undefined;

  constructor(private readonly options: SpeedLayerOptions) {
    this.groupId = options.groupId ?? 'tandem-speed';
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1) throw new RangeError(`speed layer: chunkSize must be a positive integer, got ${this.chunkSize}`);
    this.bindings = bindStreams(options.views, options.topicPrefix ?? '');
    this.registry = options.registry ?? new Registry();
    this.metrics = new SpeedMetrics(this.registry);
    this.logger = options.logger ?? stderrLogger;
    this.writer = new RealtimeViewWriter({ pool: options.db.pool, consumer: this.groupId, chunkSize: this.chunkSize, commitDelayMs: options.commitDelayMs });
    this.deadLetterPublisher = new DeadLetterPublisher(options.log);
    this.cleaner = new RealtimeCleanup(options.db.pool, options.views, this.chunkSize);
    const commits = new GroupCommit(this.writer, {
      committed: (works, outcomes, seconds) => {
        this.metrics.transactions.inc({ outcome: 'committed' });
        this.metrics.transactionSeconds.observe(seconds);
        this.counters.transactions++;
        this.lastCommitAt = new Date().toISOString();
        let newest = 0;
        works.forEach((work, i) => {
          if (outcomes[i].applied && work.lastLogTime > newest) newest = work.lastLogTime;
        });
        if (newest > 0) this.metrics.freshness.set(Date.now() - newest);
      },
      failed: (works, error) => {
        this.metrics.transactions.inc({ outcome: 'failed' });
        this.noteError(`transaction over ${works.map(partitionKey).join(', ')} failed`, error);
      },
    });
    this.speedConsumer = new SpeedConsumer({
      bindings: this.bindings,
      writer: this.writer,
      commits,
      deadLetters: this.deadLetterPublisher,
      chunkSize: this.chunkSize,
      maxEventBytes: options.maxEventBytes,
      transactionRecords: options.transactionRecords,
      onBatch: (report) => {
        const { outcome } = report;
        this.metrics.batchRecords.observe(report.records);
        this.highWatermarks.set(partitionKey(report), report.highWatermark);
        this.metrics.lag.set({ topic: report.topic, partition: String(report.partition) }, Math.max(0, report.highWatermark - outcome.nextOffset));
        if (!outcome.applied) return;
        this.metrics.records.inc({ topic: report.topic }, report.records);
        this.metrics.rowsWritten.inc(outcome.rows);
        this.counters.recordsCommitted += report.records;
        this.counters.eventsApplied += outcome.events;
        this.counters.rowsWritten += outcome.rows;
      },
      onDeadLetters: (binding, topic, rejections) => {
        const stream = binding?.contract.name ?? topic;
        for (const { reason, record } of rejections) {
          this.metrics.deadLetters.inc({ stream, reason });
          this.logger.warn('record dead-lettered', { stream, reason, topic: record.topic, partition: record.partition, offset: record.offset });
        }
        this.deadLetters[stream] = (this.deadLetters[stream] ?? 0) + rejections.length;
      },
    });
  }

  async start(): Promise<void> {
    if (this.state === 'running' || this.state === 'starting') return;
    this.state = 'starting';
    try {
      await agreeOnSetting(this.options.db, CHUNK_SIZE_SETTING, String(this.chunkSize));
      await this.ensureTopics();
      const consumer = this.options.log.consumer(this.options.clientId ?? this.groupId);
      this.consumer = consumer;
      await consumer.start({
        groupId: this.groupId,
        topics: this.speedConsumer.topics,
        startOffsets: async (assigned) => {
          this.speedConsumer.forget(consumer.assignment());
          return this.speedConsumer.startOffsets(assigned);
        },
        eachBatch: this.speedConsumer.eachBatch,
        ...(this.options.maxBatchRecords === undefined ? {} : { maxBatchRecords: this.options.maxBatchRecords }),
      });
      this.scheduleCleanup();
      this.state = 'running';
      this.logger.info('speed layer running', { groupId: this.groupId, topics: this.speedConsumer.topics, views: this.options.views.map((v) => v.name) });
    } catch (error) {
      this.state = 'failed';
      this.noteError('speed layer failed to start', error);
      await this.consumer?.stop().catch(() => undefined);
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    clearTimeout(this.cleanupTimer);
    this.cleanupTimer = undefined;
    try {
      await this.consumer?.stop();
    } finally {
      this.consumer = undefined;
      await this.deadLetterPublisher.close();
      this.state = 'stopped';
      this.logger.info('speed layer stopped', { groupId: this.groupId });
    }
  }

  status(): SpeedStatus {
    const assigned = this.consumer?.assignment() ?? [];
    const known = this.speedConsumer.knownPositions();
    const partitions = assigned.map((tp: TopicPartition) => {
      const key = partitionKey(tp);
      const highWatermark = this.highWatermarks.get(key);
      return { topic: tp.topic, partition: tp.partition, nextOffset: known.get(key) ?? 0, ...(highWatermark === undefined ? {} : { highWatermark }) };
    });
    return {
      state: this.state,
      groupId: this.groupId,
      views: this.options.views.map((v) => v.name),
      topics: this.speedConsumer.topics,
      partitions,
      ...this.counters,
      deadLetters: { ...this.deadLetters },
      ...(this.lastCommitAt ? { lastCommitAt: this.lastCommitAt } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  async cleanup(): Promise<number> {
    const deleted = await this.cleaner.run();
    if (deleted > 0) this.logger.info('realtime rows below the batch cut deleted', { rows: deleted });
    return deleted;
  }

  private scheduleCleanup(): void {
    const interval = this.options.cleanupIntervalMs ?? 60_000;
    if (interval <= 0) return;
    this.cleanupTimer = setTimeout(async () => {
      try {
        await this.cleanup();
      } catch (error) {
        this.noteError('clean-up of realtime rows failed', error);
      }
      if (this.state === 'running') this.scheduleCleanup();
    }, interval);
    this.cleanupTimer.unref();
  }

  /** Creates missing stream and dead-letter topics (a topic that exists is left as it is). */
  private async ensureTopics(): Promise<void> {
    const admin = await this.options.log.admin();
    try {
      for (const binding of this.bindings) {
        await ensureTopic(admin, binding.topic, binding.contract.partitions, this.logger);
        await ensureTopic(admin, binding.deadLetterTopic, binding.contract.partitions, this.logger);
      }
    } finally {
      await admin.close();
    }
  }

  private noteError(message: string, error: unknown): void {
    const detail = error instanceof Error ? error.message : String(error);
    this.lastError = { message: `${message}: ${detail}`, at: new Date().toISOString() };
    this.logger.error(message, { error: detail });
  }
}

async function ensureTopic(admin: LogAdmin, topic: string, partitions: number, logger: SpeedLogger): Promise<void> {
  try {
    await admin.ensureTopic(topic, partitions);
  } catch (error) {
    // A topic created elsewhere with another partition count still works for this layer.
    const existing = await admin.endOffsets(topic).catch(() => new Map<number, number>());
    if (existing.size === 0) throw error;
    logger.warn('topic exists with another partition count; using it as it is', { topic, partitions: existing.size, expected: partitions });
  }
}

const stderrLogger: SpeedLogger = {
  info: (message, fields) => write('info', message, fields),
  warn: (message, fields) => write('warn', message, fields),
  error: (message, fields) => write('error', message, fields),
};

function write(level: string, message: string, fields?: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, source: 'speed', message, ...fields })}\n`);
}
