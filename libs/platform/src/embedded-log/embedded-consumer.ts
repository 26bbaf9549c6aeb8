import { TandemError } from '../errors/tandem-error';
import { type BatchContext, type ConsumeOptions, type LogBatch, type LogConsumer, partitionKey, type TopicPartition } from '../log/log-port';
import type { ConsumerGroup, GroupMember } from './consumer-group';
import type { PartitionLog } from './partition-log';

export interface EmbeddedLogLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What a consumer needs from the embedded log. */
export interface EmbeddedLogRuntime {
  partition(topic: string, partition: number): PartitionLog;
  /** Partition count of a topic; throws if the topic does not exist. */
  partitionCount(topic: string): number;
  group(groupId: string): ConsumerGroup;
  /** Calls `listener` after every append to `topic`; returns the unsubscriber. */
  onAppend(topic: string, listener: () => void): () => void;
  readonly logger: EmbeddedLogLogger;
}

export const DEFAULT_EMBEDDED_BATCH_RECORDS = 1_000;
const RETRY_INITIAL_MS = 100;
const RETRY_MAX_MS = 5_000;

let members = 0;

/**
 * A member of an embedded consumer group. One loop per member delivers one batch at a time,
 * taking its partitions in turn (like kafkajs with partitionsConsumedConcurrently = 1), and
 * sleeps until a record is appended to one of its topics: no polling.
 *
 * Positions live here only: they come from `startOffsets` on every assignment and move past
 * a batch when its `eachBatch` resolves. A rejected batch is retried from `startOffsets`
 * after a backoff (that partition only), so nothing is skipped and the others go on.
 */
export class EmbeddedConsumer implements LogConsumer, GroupMember {
  readonly memberId: string;
  topics: readonly string[] = [];
  private options: ConsumeOptions | undefined;
  private running = false;
  private paused = true;
  private generation = -1;
  private assigned: readonly TopicPartition[] = [];
  private positions = new Map<string, number | undefined>();
  private failures = new Map<string, number>();
  private retryAt = new Map<string, number>();
  private cursor = 0;
  private inFlight: Promise<unknown> | undefined;
  private wakeUp: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private unsubscribe: (() => void)[] = [];
  private group: ConsumerGroup | undefined;

  constructor(
    private readonly runtime: EmbeddedLogRuntime,
    clientId: string,
  ) {
    this.memberId = `${clientId}-${String(++members).padStart(8, '0')}`;
  }

  async start(options: ConsumeOptions): Promise<void> {
    if (this.running || this.loopDone) throw new TandemError('embedded consumer: already started', false);
    if (options.topics.length === 0) throw new TandemError('embedded consumer: no topics to consume', false);
    if (options.maxBatchRecords !== undefined && !(Number.isInteger(options.maxBatchRecords) && options.maxBatchRecords > 0)) {
      throw new TandemError(`embedded consumer: maxBatchRecords must be a positive integer, got ${options.maxBatchRecords}`, false);
    }
    for (const topic of options.topics) this.runtime.partitionCount(topic); // throws for an unknown topic
    this.options = options;
    this.topics = [...new Set(options.topics)];
    this.running = true;
    this.unsubscribe = this.topics.map((t) => this.runtime.onAppend(t, () => this.wake()));
    this.loopDone = this.loop();
    this.group = this.runtime.group(options.groupId);
    await this.group.join(this);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loopDone;
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    await this.group?.leave(this);
    this.assigned = [];
  }

  assignment(): readonly TopicPartition[] {
    return this.assigned;
  }

  async revoke(): Promise<void> {
    this.paused = true;
    this.wake();
    await this.inFlight?.catch(() => undefined);
  }

  assign(generation: number, partitions: readonly TopicPartition[]): void {
    this.generation = generation;
    this.assigned = partitions;
    this.positions = new Map(partitions.map((tp) => [partitionKey(tp), undefined]));
    this.failures.clear();
    this.retryAt.clear();
    this.cursor = 0;
    this.paused = false;
    this.wake();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      if (this.paused || this.assigned.length === 0) {
        await this.sleep();
        continue;
      }
      if (await this.loadPositions()) continue;
      // A rebalance may have begun while awaiting: check again right before delivering.
      if (this.paused || !this.running) continue;
      const next = this.nextPartition();
      if (next === undefined) {
        await this.sleep(this.nextRetryDelay());
        continue;
      }
      await this.deliver(next.tp, next.log, next.position);
    }
  }

  /** Loads the start offsets of partitions that need one; true if it did anything. */
  private async loadPositions(): Promise<boolean> {
    const now = Date.now();
    const needing = this.assigned.filter((tp) => this.positions.get(partitionKey(tp)) === undefined && (this.retryAt.get(partitionKey(tp)) ?? 0) <= now);
    if (needing.length === 0) return false;
    const generation = this.generation;
    try {
      const offsets = await this.options!.startOffsets(needing);
      if (generation !== this.generation || this.paused || !this.running) return true;
      for (const tp of needing) {
        const offset = offsets.get(partitionKey(tp)) ?? 0;
        if (!Number.isSafeInteger(offset) || offset < 0) throw new TandemError(`startOffsets gave ${offset} for ${partitionKey(tp)}`, false);
        this.positions.set(partitionKey(tp), offset);
      }
    } catch (error) {
      if (generation !== this.generation) return true;
      this.runtime.logger.error('embedded consumer: cannot load start offsets; retrying', {
        groupId: this.options!.groupId,
        partitions: needing.map(partitionKey),
        error: String(error),
      });
      for (const tp of needing) this.backOff(partitionKey(tp));
    }
    return true;
  }

  private nextPartition(): { tp: TopicPartition; log: PartitionLog; position: number } | undefined {
    const now = Date.now();
    for (let i = 0; i < this.assigned.length; i++) {
      const tp = this.assigned[(this.cursor + i) % this.assigned.length];
      const key = partitionKey(tp);
      const position = this.positions.get(key);
      if (position === undefined || (this.retryAt.get(key) ?? 0) > now) continue;
      const log = this.runtime.partition(tp.topic, tp.partition);
      if (position < log.end) {
        this.cursor = (this.cursor + i + 1) % this.assigned.length;
        return { tp, log, position };
      }
    }
    return undefined;
  }

  private async deliver(tp: TopicPartition, log: PartitionLog, position: number): Promise<void> {
    const key = partitionKey(tp);
    const generation = this.generation;
    const records = log.read(position, this.options!.maxBatchRecords ?? DEFAULT_EMBEDDED_BATCH_RECORDS);
    const batch: LogBatch = { topic: tp.topic, partition: tp.partition, records, highWatermark: log.end };
    const context: BatchContext = {
      heartbeat: async () => undefined,
      isRunning: () => this.running && !this.paused && generation === this.generation,
    };
    // Set synchronously with the call, so a rebalance that starts now waits for this batch.
    const inFlight = Promise.resolve().then(() => this.options!.eachBatch(batch, context));
    this.inFlight = inFlight;
    try {
      await inFlight;
      if (generation === this.generation) {
        this.positions.set(key, records[records.length - 1].offset + 1);
        this.failures.delete(key);
        this.retryAt.delete(key);
      }
    } catch (error) {
      if (generation !== this.generation) return;
      const delay = this.backOff(key);
      this.positions.set(key, undefined);
      this.runtime.logger.error('batch failed; re-reading the partition from its start offset', {
        groupId: this.options!.groupId,
        topic: tp.topic,
        partition: tp.partition,
        offset: records[0].offset,
        retryInMs: delay,
        error: error instanceof Error ? error.message : String(error),
      });
    } finally {
      if (this.inFlight === inFlight) this.inFlight = undefined;
    }
  }

  private backOff(key: string): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const delay = Math.min(RETRY_MAX_MS, RETRY_INITIAL_MS * 2 ** (failures - 1));
    this.retryAt.set(key, Date.now() + delay);
    return delay;
  }

  /**
   * How long until a partition waiting out its backoff may reload its start offset; 0 when
   * one already may (its time can pass between `loadPositions` and here: sleeping without a
   * timeout then would strand it until the next append).
   */
  private nextRetryDelay(): number | undefined {
    const now = Date.now();
    let soonest: number | undefined;
    for (const [key, at] of this.retryAt) {
      if (this.positions.get(key) !== undefined) continue;
      if (soonest === undefined || at < soonest) soonest = at;
    }
    return soonest === undefined ? undefined : Math.max(0, soonest - now);
  }

  private sleep(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }
}
