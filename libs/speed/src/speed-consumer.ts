import { setImmediate } from 'node:timers/promises';
import { decodeEvent, type DecodeOptions, DEFAULT_MAX_EVENT_BYTES } from '@tandem/contracts';
import { type BatchContext, chunkOf, type LogBatch, type LogRecord, partitionKey, type TopicPartition } from '@tandem/platform';
import type { DeadLetterPublisher, Rejection } from './dead-letter-publisher';
import { BatchAbandonedError, type GroupCommit } from './group-commit';
import { accumulatePartition, type CountedView, countedView, type DecodedEvent, type PartitionDelta, PartitionDeltaBuilder } from './partition-delta';
import { encodeRows } from './realtime-rows';
import type { PartitionOutcome, PartitionWork, RealtimeViewWriter } from './realtime-view-writer';
import type { StreamBinding } from './stream-binding';

/**
 * The speed layer's batch handler: decode each record against its stream's contract,
 * dead-letter what fails, fold the rest through the views, and hand the deltas to the group
 * commit; return only once they are committed.
 *
 * A fetched batch is handled in pieces that end on chunk boundaries (`transactionRecords`
 * records at least): each piece is folded and encoded, then submitted, and the next piece
 * is folded while it commits. Pieces of a partition commit in order, each in its own
 * transaction with its offsets; one that finds the store short of its start (the piece
 * before it failed) is refused, so nothing is skipped. `eachBatch` returns once every piece
 * committed, and only then does the log resolve the batch's offsets.
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
  /**
   * Records of a partition per transaction, at least (a piece then runs on to the next chunk
   * boundary). Smaller pieces overlap more folding with writing, at more transactions.
   */
  readonly transactionRecords?: number;
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

/** Records decoded and folded between two turns of the event loop (a few milliseconds). */
const RECORDS_PER_TURN = 500;

/** Default of `transactionRecords`. */
export const DEFAULT_TRANSACTION_RECORDS = 10_000;

interface BoundStream {
  readonly binding: StreamBinding;
  readonly views: readonly CountedView[];
}

export class SpeedConsumer {
  private readonly streams: Map<string, BoundStream>;
  private readonly positions = new Map<string, number>();
  private readonly decodeOptions: DecodeOptions;
  private readonly transactionRecords: number;
  /** Resolves when the batch folding now (if any) has submitted its last piece. */
  private folding: Promise<void> = Promise.resolve();

  constructor(private readonly options: SpeedConsumerOptions) {
    this.streams = new Map(options.bindings.map((binding) => [binding.topic, { binding, views: binding.views.map(countedView) }]));
    this.decodeOptions = { maxBytes: options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES };
    this.transactionRecords = options.transactionRecords ?? DEFAULT_TRANSACTION_RECORDS;
    if (!Number.isInteger(this.transactionRecords) || this.transactionRecords < 1) {
      throw new RangeError(`speed layer: transactionRecords must be a positive integer, got ${this.transactionRecords}`);
    }
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
    let from = this.positions.get(key) ?? records[0].offset;
    let start = 0;
    while (start < records.length && records[start].offset < from) start++;
    if (start === records.length) return; // all below the known position: nothing to commit

    const commits: Promise<void>[] = [];
    let failure: { error: unknown } | undefined;
    const heartbeats = setInterval(() => void context.heartbeat().catch(() => undefined), HEARTBEAT_WHILE_WAITING_MS);
    let release: (() => void) | undefined;
    try {
      release = await this.foldingTurn();
      let lastLogTime = 0;
      for (let i = 0; i < start; i++) if (records[i].timestamp > lastLogTime) lastLogTime = records[i].timestamp;
      for (let i = start; i < records.length && failure === undefined; ) {
        const end = this.pieceEnd(records, i);
        const piece = await this.foldPiece(batch, records, i, end, from, lastLogTime, i > start);
        await context.heartbeat();
        if (piece.rejections.length > 0) await this.deadLetter(batch.topic, piece.rejections);
        if (failure !== undefined) break;
        if (!context.isRunning()) throw new BatchAbandonedError(key);
        const work = piece.work;
        const considered = end - i;
        commits.push(
          this.options.commits.submit(work, () => context.isRunning()).then(
            (outcome) => {
              this.positions.set(key, outcome.nextOffset);
              this.options.onBatch?.({ topic: batch.topic, partition: batch.partition, records: considered, outcome, highWatermark: batch.highWatermark, lastLogTime: work.lastLogTime });
            },
            (error: unknown) => {
              failure ??= { error };
            },
          ),
        );
        from = work.lastOffset + 1;
        lastLogTime = 0;
        i = end;
      }
    } finally {
      release?.();
      // Whatever happens, return only once every submitted piece committed or failed.
      await Promise.all(commits);
      clearInterval(heartbeats);
    }
    if (failure !== undefined) throw failure.error;
  };

  /**
   * Waits until no other partition's batch is being folded; returns the release. One batch
   * folds at a time, whole: its pieces reach the writer one after another as early as they
   * can, and while they commit the next partition folds. (Folding several partitions in
   * turns would make all of them finish late, together, leaving the last transaction of a
   * fetch alone with nothing to overlap.)
   */
  private async foldingTurn(): Promise<() => void> {
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    const before = this.folding;
    this.folding = before.then(() => turn);
    await before;
    return release;
  }

  /**
   * Where the piece of the batch starting at `start` ends (exclusive): at least
   * `transactionRecords` records, then on to the next chunk boundary, so that the next piece
   * starts a fresh chunk and its transaction has no stored rows to merge.
   */
  private pieceEnd(records: readonly LogRecord[], start: number): number {
    const { chunkSize } = this.options;
    const boundary = Math.ceil((records[start].offset + this.transactionRecords) / chunkSize) * chunkSize;
    let end = start + 1;
    while (end < records.length && records[end].offset < boundary) end++;
    return end;
  }

  /**
   * Decodes records[start, end) and folds the valid ones from `from` on, yielding to the
   * event loop every few hundred records so that transactions in flight keep moving; then
   * encodes the rows, ready for the writer.
   *
   * The work keeps only the encoded rows (and the states of the open chunk's cells): the
   * events and the folded states are let go at once, so they die young instead of being
   * copied by the garbage collector while the transaction waits. Should the writer need
   * them (the store moved meanwhile), they are decoded and folded again from the records.
   */
  private async foldPiece(batch: LogBatch, records: readonly LogRecord[], start: number, end: number, from: number, lastLogTimeBefore: number, continuation: boolean) {
    const stream = this.streams.get(batch.topic);
    const views = stream?.views ?? [];
    const { chunkSize } = this.options;
    const builder = new PartitionDeltaBuilder(views, from, chunkSize);
    const rejections: Rejection[] = [];
    let lastLogTime = lastLogTimeBefore;
    for (let i = start; i < end; i++) {
      if (i > start && (i - start) % RECORDS_PER_TURN === 0) await setImmediate();
      const record = records[i];
      if (record.timestamp > lastLogTime) lastLogTime = record.timestamp;
      if (stream === undefined) {
        rejections.push({ record, reason: 'unknown-stream', detail: `no stream of this deployment is published on topic ${batch.topic}` });
        continue;
      }
      const decoded = decodeEvent(stream.binding.contract, record.value, this.decodeOptions);
      if (decoded.ok) builder.add(record.offset, decoded.value);
      else rejections.push({ record, reason: decoded.reason, detail: decoded.detail });
    }
    const lastOffset = records[end - 1].offset;
    const rows = encodeRows(builder.delta(), batch.partition, chunkOf(lastOffset, chunkSize), from % chunkSize === 0 ? -1 : chunkOf(from, chunkSize));
    const decodeOptions = this.decodeOptions;
    let events: DecodedEvent[] | undefined;
    let delta: PartitionDelta | undefined;
    const work: PartitionWork = {
      topic: batch.topic,
      partition: batch.partition,
      views,
      lastOffset,
      lastLogTime,
      rows,
      continuation,
      get events(): DecodedEvent[] {
        if (events === undefined) {
          events = [];
          for (let i = start; i < end && stream !== undefined; i++) {
            const decoded = decodeEvent(stream.binding.contract, records[i].value, decodeOptions);
            if (decoded.ok) events.push({ offset: records[i].offset, event: decoded.value });
          }
        }
        return events;
      },
      get delta(): PartitionDelta {
        return (delta ??= accumulatePartition(views, this.events, from, chunkSize));
      },
    };
    return { work, rejections };
  }

  private async deadLetter(topic: string, rejections: readonly Rejection[]): Promise<void> {
    const stream = this.streams.get(topic);
    // Without a contract there is no dead-letter topic: such records are only counted.
    if (stream) await this.options.deadLetters.publish(stream.binding.deadLetterTopic, rejections);
    this.options.onDeadLetters?.(stream?.binding, topic, rejections);
  }

  /** Forgets positions of partitions this member no longer owns. */
  forget(keep: readonly TopicPartition[]): void {
    const kept = new Set(keep.map(partitionKey));
    for (const key of [...this.positions.keys()]) if (!kept.has(key)) this.positions.delete(key);
  }
}
