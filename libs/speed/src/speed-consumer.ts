import { decodeEvent, DEFAULT_MAX_EVENT_BYTES } from '@tandem/contracts';
import { type BatchContext, type LogBatch, partitionKey, type TopicPartition } from '@tandem/platform';
import type { DeadLetterPublisher, Rejection } from './dead-letter-publisher';
import { BatchAbandonedError, type GroupCommit } from './group-commit';
import { accumulatePartition, type CountedView, countedView, type DecodedEvent } from './partition-delta';
import type { PartitionOutcome, RealtimeViewWriter } from './realtime-view-writer';
import type { StreamBinding } from './stream-binding';

/**
 * The speed layer's batch handler: decode each record against its stream's contract,
 * dead-letter what fails, fold the rest through the views, and hand the deltas to the group
 * commit; return only once they are committed.
 *
 * It keeps the position it expects per partition (from the store at assignment, then from
 * its own commits) to fold the right records before the transaction; the transaction checks
 * the store again and refolds if another member moved the partition meanwhile.
 */
export interface SpeedConsumerOptions {
  readonly bindings: readonly StreamBinding[];
  readonly writer: RealtimeViewWriter;
  readonly commits: GroupCommit;
  readonly deadLetters: DeadLetterPublisher;
  readonly chunkSize: number;
  readonly maxEventBytes?: number;
  /** Observes each committed batch (metrics, status). */
  readonly onBatch?: (report: BatchReport) => void;
  /** Observes dead letters once they are sent. */
  readonly onDeadLetters?: (binding: StreamBinding | undefined, topic: string, rejections: readonly Rejection[]) => void;
}

export interface BatchReport {
  readonly topic: string;
  readonly partition: number;
  /** Records of the batch at or above the committed position before it (valid or not). */
  readonly records: number;
  readonly outcome: PartitionOutcome;
  readonly highWatermark: number;
  readonly lastLogTime: number;
}

/** Heartbeat period while a batch waits for its transaction; the log rate-limits beyond this. */
const HEARTBEAT_WHILE_WAITING_MS = 1_000;

/** Keeps the group membership alive while a long transaction runs. */
async function withHeartbeats<T>(work: Promise<T>, context: BatchContext): Promise<T> {
  const timer = setInterval(() => void context.heartbeat().catch(() => undefined), HEARTBEAT_WHILE_WAITING_MS);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

interface BoundStream {
  readonly binding: StreamBinding;
  readonly views: readonly CountedView[];
}

export class SpeedConsumer {
  private readonly streams: Map<string, BoundStream>;
  private readonly positions = new Map<string, number>();
  private readonly maxEventBytes: number;

  constructor(private readonly options: SpeedConsumerOptions) {
    this.streams = new Map(options.bindings.map((binding) => [binding.topic, { binding, views: binding.views.map(countedView) }]));
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  }

  get topics(): string[] {
    return [...this.streams.keys()];
  }

  /** Stored positions of newly assigned partitions (never Kafka's group offsets). */
  startOffsets = async (assigned: readonly TopicPartition[]): Promise<ReadonlyMap<string, number>> => {
    const offsets = await this.options.writer.storedOffsets(assigned);
    for (const [key, offset] of offsets) this.positions.set(key, offset);
    return offsets;
  };

  /** Positions this member last knew, by `topic:partition`. */
  knownPositions(): ReadonlyMap<string, number> {
    return this.positions;
  }

  eachBatch = async (batch: LogBatch, context: BatchContext): Promise<void> => {
    const { records } = batch;
    if (records.length === 0) return;
    const key = partitionKey(batch);
    const from = this.positions.get(key) ?? records[0].offset;
    const stream = this.streams.get(batch.topic);

    const events: DecodedEvent[] = [];
    const rejections: Rejection[] = [];
    let lastLogTime = 0;
    let considered = 0;
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      if (record.timestamp > lastLogTime) lastLogTime = record.timestamp;
      if (record.offset < from) continue;
      considered++;
      if (stream === undefined) {
        rejections.push({ record, reason: 'unknown-stream', detail: `no stream of this deployment is published on topic ${batch.topic}` });
        continue;
      }
      const decoded = decodeEvent(stream.binding.contract, record.value, { maxBytes: this.maxEventBytes });
      if (decoded.ok) events.push({ offset: record.offset, event: decoded.value });
      else rejections.push({ record, reason: decoded.reason, detail: decoded.detail });
    }
    const lastOffset = records[records.length - 1].offset;
    if (considered === 0) return; // all below the known position: nothing to commit

    await context.heartbeat();
    if (rejections.length > 0) {
      // Without a contract there is no dead-letter topic: such records are only counted.
      if (stream) await this.options.deadLetters.publish(stream.binding.deadLetterTopic, rejections);
      this.options.onDeadLetters?.(stream?.binding, batch.topic, rejections);
    }
    if (!context.isRunning()) throw new BatchAbandonedError(key);

    const views = stream?.views ?? [];
    const work = {
      topic: batch.topic,
      partition: batch.partition,
      views,
      events,
      lastOffset,
      lastLogTime,
      delta: accumulatePartition(views, events, from, this.options.chunkSize),
    };
    const outcome = await withHeartbeats(this.options.commits.submit(work, () => context.isRunning()), context);
    this.positions.set(key, outcome.nextOffset);
    this.options.onBatch?.({ topic: batch.topic, partition: batch.partition, records: considered, outcome, highWatermark: batch.highWatermark, lastLogTime });
  };

  /** Forgets positions of partitions this member no longer owns. */
  forget(keep: readonly TopicPartition[]): void {
    const kept = new Set(keep.map(partitionKey));
    for (const key of [...this.positions.keys()]) if (!kept.has(key)) this.positions.delete(key);
  }
}
