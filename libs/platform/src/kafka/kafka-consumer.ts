import { type Consumer, type EachBatchPayload, Kafka, logLevel } from 'kafkajs';
import { TandemError } from '../errors/tandem-error';
import { type BatchContext, type ConsumeOptions, type LogBatch, type LogConsumer, partitionKey, type TopicPartition } from '../log/log-port';
import { planBatch } from './batch-plan';
import { fromKafkaError } from './kafka-errors';
import type { ResolvedKafkaOptions } from './kafka-options';
import { KafkaRecord } from './kafka-record';
import { kafkaLogCreator } from './kafka-logging';

/**
 * The consumer side of the Kafka log: a kafkajs consumer group driving `eachBatch` itself
 * (eachBatchAutoResolve: false), so an offset is resolved, and committed to Kafka, only after
 * the caller's `eachBatch` has resolved, i.e. after the caller's own store reflects it.
 *
 * Positions come from the caller's store, never from Kafka's group offsets: on every
 * assignment the stored positions are loaded and each partition is sought there (see
 * batch-plan.ts for the cases kafkajs makes subtle). Kafka's group offsets are still
 * committed, after the store, so standard tools can show the group's lag.
 *
 * A failed batch is not skipped: the partition is re-read from the stored position after a
 * backoff that follows the kafkajs retry policy, heartbeating meanwhile.
 */
interface PartitionPosition {
  /** Next offset to process, once known. */
  value?: number;
  loading?: Promise<number>;
  /** Last offset we sought the partition to in this generation. */
  soughtTo?: number;
  /** Consecutive failed batches, for the backoff. */
  failures: number;
}

const isRebalancing = (error: unknown): boolean => {
  const type = (error as { type?: unknown } | null)?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'ILLEGAL_GENERATION';
};

export class KafkaLogConsumer implements LogConsumer {
  private consumer: Consumer | undefined;
  private options: ConsumeOptions | undefined;
  private running = false;
  private generation = 0;
  private positions = new Map<string, PartitionPosition>();
  private assigned: readonly TopicPartition[] = [];
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: ResolvedKafkaOptions,
    private readonly clientId: string,
  ) {}

  async start(options: ConsumeOptions): Promise<void> {
    if (this.running) throw new TandemError('kafka consumer: already started');
    if (options.topics.length === 0) throw new TandemError('kafka consumer: no topics to consume');
    if (options.maxBatchRecords !== undefined && !(Number.isInteger(options.maxBatchRecords) && options.maxBatchRecords > 0)) {
      throw new TandemError(`kafka consumer: maxBatchRecords must be a positive integer, got ${options.maxBatchRecords}`);
    }
    this.options = options;
    this.running = true;
    try {
      await this.launch();
    } catch (error) {
      this.running = false;
      await this.consumer?.disconnect().catch(() => undefined);
      throw fromKafkaError(error, `join group ${options.groupId}`);
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.restartTimer);
    // kafkajs' stop waits for the batches in flight; each either resolves (its store
    // transaction committed) or is abandoned before committing, never half of it.
    await this.consumer?.disconnect().catch((error) => this.config.logger.warn('kafka consumer: disconnect failed', { error: String(error) }));
    this.consumer = undefined;
    this.assigned = [];
    this.positions = new Map();
  }

  assignment(): readonly TopicPartition[] {
    return this.assigned;
  }

  private async launch(): Promise<void> {
    const options = this.options!;
    const tuning = this.config.consumer;
    const kafka = new Kafka({ ...this.config.client, clientId: this.clientId, logLevel: logLevel.WARN, logCreator: kafkaLogCreator(this.config.logger) });
    const consumer = kafka.consumer({
      groupId: options.groupId,
      maxBytesPerPartition: tuning.maxBytesPerPartition,
      maxBytes: tuning.maxBytes,
      minBytes: tuning.minBytes,
      maxWaitTimeInMs: tuning.maxWaitTimeInMs,
      sessionTimeout: tuning.sessionTimeout,
      rebalanceTimeout: tuning.rebalanceTimeout,
      heartbeatInterval: tuning.heartbeatInterval,
      retry: this.config.retry,
    });
    this.consumer = consumer;
    // Emitted synchronously inside the join, before the first fetch of the new generation.
    consumer.on(consumer.events.GROUP_JOIN, (event) => this.onAssignment(consumer, event.payload.memberAssignment));
    consumer.on(consumer.events.CRASH, (event) => {
      if (event.payload.restart || !this.running || this.consumer !== consumer) return;
      // kafkajs gives up on a non-retriable error; this consumer must not silently stop.
      const delay = this.config.retry.maxRetryTime;
      this.config.logger.error(`kafka consumer crashed; restarting in ${delay} ms`, { groupId: options.groupId, error: String(event.payload.error) });
      this.restartTimer = setTimeout(() => void this.relaunch(), delay);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      autoCommit: true,
      partitionsConsumedConcurrently: tuning.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.onBatch(consumer, payload),
    });
  }

  private async relaunch(): Promise<void> {
    if (!this.running) return;
    await this.consumer?.disconnect().catch(() => undefined);
    this.positions = new Map();
    this.assigned = [];
    try {
      await this.launch();
    } catch (error) {
      if (!this.running) return;
      this.config.logger.error('kafka consumer restart failed; trying again', { error: String(error) });
      this.restartTimer = setTimeout(() => void this.relaunch(), this.config.retry.maxRetryTime);
    }
  }

  private onAssignment(consumer: Consumer, memberAssignment: Record<string, number[]>): void {
    const generation = ++this.generation;
    const assigned: TopicPartition[] = [];
    for (const [topic, partitions] of Object.entries(memberAssignment)) {
      for (const partition of partitions) assigned.push({ topic, partition });
    }
    this.assigned = assigned;
    this.positions = new Map(assigned.map((tp) => [partitionKey(tp), { failures: 0 }]));
    if (assigned.length === 0) return;
    const loading = this.options!.startOffsets(assigned);
    for (const tp of assigned) {
      const entry = this.positions.get(partitionKey(tp))!;
      entry.loading = loading.then((offsets) => offsets.get(partitionKey(tp)) ?? 0);
      entry.loading.then(
        (offset) => {
          entry.value = offset;
          entry.loading = undefined;
          if (this.running && generation === this.generation && this.consumer === consumer) this.seek(consumer, tp, entry, offset);
        },
        () => {
          // Retried from the first batch of the partition, which loads the position again.
          entry.loading = undefined;
        },
      );
    }
  }

  private seek(consumer: Consumer, tp: TopicPartition, entry: PartitionPosition, offset: number): void {
    consumer.seek({ topic: tp.topic, partition: tp.partition, offset: String(offset) });
    entry.soughtTo = offset;
  }

  private positionOf(tp: TopicPartition, entry: PartitionPosition): Promise<number> {
    if (entry.value !== undefined) return Promise.resolve(entry.value);
    if (!entry.loading) {
      entry.loading = this.options!.startOffsets([tp]).then((offsets) => offsets.get(partitionKey(tp)) ?? 0);
      entry.loading.then(
        (offset) => {
          entry.value = offset;
          entry.loading = undefined;
        },
        () => (entry.loading = undefined),
      );
    }
    return entry.loading;
  }

  private async onBatch(consumer: Consumer, payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const tp: TopicPartition = { topic: batch.topic, partition: batch.partition };
    const generation = this.generation;
    const entry = this.positions.get(partitionKey(tp));
    // Not (or no longer) ours: a batch fetched just before a rebalance.
    if (!entry || !this.running || this.consumer !== consumer) return;
    const owned = () => this.running && generation === this.generation && this.consumer === consumer;
    let revoked = false;
    const context: BatchContext = {
      heartbeat: async () => {
        try {
          await payload.heartbeat();
        } catch (error) {
          // The group is rebalancing: this member may lose the partition, so the caller must
          // not commit work it has not committed yet. kafkajs rejoins after the batch.
          if (isRebalancing(error)) revoked = true;
          else throw fromKafkaError(error, `heartbeat of group ${this.options!.groupId}`);
        }
      },
      isRunning: () => !revoked && owned() && payload.isRunning() && !payload.isStale(),
    };
    const first = batch.messages[0]?.offset;
    try {
      const position = await this.positionOf(tp, entry);
      if (!owned()) return;
      const plan = planBatch({ fetchedOffset: fetchedOffsetOf(batch), position, soughtTo: entry.soughtTo, stale: payload.isStale() });
      if (plan.kind === 'drop') return;
      if (plan.kind === 'seek') {
        this.seek(consumer, tp, entry, plan.to);
        return;
      }
      if (plan.gap) {
        this.config.logger.warn('offsets missing from the log (retention, compaction or transaction markers); continuing after them', {
          topic: tp.topic,
          partition: tp.partition,
          from: plan.gap.from,
          to: plan.gap.to,
        });
      }
      await this.deliver(payload, tp, entry, plan.from, context);
      entry.failures = 0;
      await payload.commitOffsetsIfNecessary();
    } catch (error) {
      // Stopping, or the partition is being revoked: the batch was abandoned, not failed.
      if (!owned() || !context.isRunning()) return;
      await this.recover(consumer, payload, tp, entry, first, error);
    }
  }

  /** Hands the batch to the caller, in slices of at most maxBatchRecords, resolving each after it returns. */
  private async deliver(payload: EachBatchPayload, tp: TopicPartition, entry: PartitionPosition, from: number, context: BatchContext): Promise<void> {
    const { batch } = payload;
    const messages = batch.messages;
    const lastFetched = Number(batch.lastOffset());
    let start = 0;
    while (start < messages.length && Number(messages[start].offset) < from) start++;
    if (start === messages.length) {
      // Nothing new in this batch: move kafkajs past it.
      if (messages.length > 0) {
        payload.resolveOffset(messages[messages.length - 1].offset);
        entry.value = Math.max(entry.value ?? 0, lastFetched + 1);
      }
      return;
    }
    const sliceSize = this.options!.maxBatchRecords ?? messages.length;
    const highWatermark = Number(batch.highWatermark);
    for (let i = start; i < messages.length; i += sliceSize) {
      if (!context.isRunning()) return;
      const end = Math.min(messages.length, i + sliceSize);
      const records: KafkaRecord[] = new Array(end - i);
      for (let j = i; j < end; j++) records[j - i] = new KafkaRecord(tp.topic, tp.partition, messages[j]);
      const logBatch: LogBatch = { topic: tp.topic, partition: tp.partition, records, highWatermark };
      await this.options!.eachBatch(logBatch, context);
      const last = messages[end - 1].offset;
      // kafkajs maps the last message's offset to the batch's last offset (past trailing
      // control records), which is where it fetches next.
      payload.resolveOffset(last);
      entry.value = end === messages.length ? lastFetched + 1 : Number(last) + 1;
    }
  }

  private async recover(
    consumer: Consumer,
    payload: EachBatchPayload,
    tp: TopicPartition,
    entry: PartitionPosition,
    first: string | undefined,
    error: unknown,
  ): Promise<void> {
    entry.failures++;
    const retry = this.config.retry;
    const delay = Math.min(retry.maxRetryTime, retry.initialRetryTime * retry.multiplier ** (entry.failures - 1)) * (1 + retry.factor * Math.random());
    this.config.logger.error('batch failed; re-reading the partition from the stored position', {
      topic: tp.topic,
      partition: tp.partition,
      offset: first,
      attempt: entry.failures,
      retryInMs: Math.round(delay),
      retriable: (error as { retriable?: unknown })?.retriable === true,
      error: error instanceof Error ? error.message : String(error),
    });
    const until = Date.now() + delay;
    while (this.running && Date.now() < until && !payload.isStale()) {
      await sleep(Math.min(1000, until - Date.now()));
      try {
        await payload.heartbeat();
      } catch {
        return; // rebalancing: the next assignment loads positions afresh
      }
    }
    if (!this.running || this.consumer !== consumer) return;
    // The store is the truth; it may have moved (another member, a partial success).
    entry.value = undefined;
    entry.soughtTo = undefined;
    try {
      const position = await this.positionOf(tp, entry);
      this.seek(consumer, tp, entry, position);
    } catch (loadError) {
      this.config.logger.error('cannot load the stored position; will retry with the next fetch', {
        topic: tp.topic,
        partition: tp.partition,
        error: String(loadError),
      });
    }
  }
}

/**
 * The offset kafkajs requested for this batch. kafkajs' Batch class has the property
 * (src/consumer/batch.js) but its typings do not declare it.
 */
function fetchedOffsetOf(batch: EachBatchPayload['batch']): number {
  const fetched = (batch as unknown as { fetchedOffset?: string }).fetchedOffset;
  if (fetched === undefined) throw new TandemError('kafka consumer: this kafkajs version does not report the fetched offset of a batch');
  return Number(fetched);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
