import { decodeEvent, type StreamContract } from '@tandem/contracts';
import {
  type BatchContext,
  LakeManifest,
  type LogBatch,
  type LogConsumer,
  partitionKey,
  TandemError,
  type TopicPartition,
} from '@tandem/platform';
import { ArchiverMetrics } from './archiver-metrics';
import { type AnyStreamContract, type ArchiverOptions, resolveArchiverOptions, type ResolvedArchiverOptions } from './archiver-options';
import { type ArchivePartition, ArchiveWriter } from './archive-writer';
import { PartitionBuffer } from './partition-buffer';

export interface PartitionStatus {
  readonly stream: string;
  readonly topic: string;
  readonly partition: number;
  /** First offset not yet durable in the lake (the manifest's coverage as this member knows it). */
  readonly archivedUntil: number;
  /** Offset after the last consumed record. */
  readonly consumedUntil: number;
  readonly buffered: number;
  /** End of the partition's log as of the last batch. */
  readonly highWatermark: number;
  readonly lag: number;
  /** True after another member took the partition over, until it is re-read. */
  readonly fenced: boolean;
}

export interface ArchiverStatus {
  readonly running: boolean;
  readonly groupId: string;
  readonly lake: string;
  readonly partitions: readonly PartitionStatus[];
  /** Last flush error, if the last flush of some partition failed. */
  readonly lastError?: string;
}

export interface Archiver {
  /** Joins the consumer group and starts archiving; resolves once consuming has started. */
  start(): Promise<void>;
  /** Flushes what is buffered, then leaves the group. */
  stop(): Promise<void>;
  status(): ArchiverStatus;
}

/** A partition that another member moved on in the lake: its batches fail until it is re-read. */
export class PartitionFencedError extends TandemError {
  override readonly name = 'PartitionFencedError';
  constructor(stream: string, partition: number) {
    super(`archiver: ${stream} p${partition} was moved on in the lake by another writer; re-reading it from the manifest`, true);
  }
}

interface PartitionState extends ArchivePartition {
  readonly key: string;
  readonly buffer: PartitionBuffer;
  readonly lock: Lock;
  fenced: boolean;
  highWatermark: number;
}

/**
 * Creates the archiver (DESIGN.md section 5): it copies every contract-valid record of its
 * streams from the log into the lake, in its own consumer group.
 *
 * Position: the lake's manifest is the archiver's only store. On every assignment each
 * partition resumes at the end of its manifest chain, never at the group's committed offset,
 * and records consumed but not yet flushed live only in memory. `eachBatch` therefore
 * resolves as soon as a batch is buffered: resolving lets the log adapter commit the group
 * offset, which only feeds lag dashboards, and after a crash, a restart or a rebalance
 * whatever was buffered is read again from the manifest's position. Nothing is lost (no
 * record is dropped from the buffer before it is durable) and nothing is duplicated (each
 * partition's ranges chain from offset 0 without overlap).
 */
export function createArchiver(options: ArchiverOptions): Archiver {
  return new LakeArchiver(resolveArchiverOptions(options));
}

class LakeArchiver implements Archiver {
  private readonly metrics: ArchiverMetrics;
  private readonly manifest: LakeManifest;
  private readonly writer: ArchiveWriter;
  private readonly partitions = new Map<string, PartitionState>();
  private consumer: LogConsumer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopping = false;
  private lastError: string | undefined;

  constructor(private readonly config: ResolvedArchiverOptions) {
    this.metrics = new ArchiverMetrics(config.registry);
    this.manifest = new LakeManifest(config.storage);
    this.writer = new ArchiveWriter(config.storage, this.manifest, config.logger);
  }

  async start(): Promise<void> {
    if (this.running || this.consumer) throw new TandemError('archiver: already started', false);
    this.running = true;
    this.stopping = false;
    const consumer = this.config.log.consumer(this.config.clientId);
    this.consumer = consumer;
    const tick = Math.max(50, Math.min(1_000, Math.floor(this.config.maxAgeMs / 4)));
    this.timer = setInterval(() => void this.flushAged(), tick);
    this.timer.unref();
    try {
      await consumer.start({
        groupId: this.config.groupId,
        topics: [...this.config.streamsByTopic.keys()],
        maxBatchRecords: this.config.maxBatchRecords,
        startOffsets: (assigned) => this.startOffsets(assigned),
        eachBatch: (batch, context) => this.eachBatch(batch, context),
      });
    } catch (error) {
      clearInterval(this.timer);
      this.running = false;
      this.consumer = undefined;
      throw error;
    }
    this.config.logger.info('archiver started', { groupId: this.config.groupId, lake: this.config.storage.location, topics: [...this.config.streamsByTopic.keys()] });
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    // Batches from now on are ignored (their records are read again after a restart), so
    // the final flush leaves nothing consumed behind.
    this.stopping = true;
    clearInterval(this.timer);
    const owned = new Set((this.consumer?.assignment() ?? []).map(partitionKey));
    await Promise.all([...this.partitions.values()].filter((state) => owned.has(state.key)).map((state) => this.flushSafely(state)));
    await this.consumer?.stop();
    this.consumer = undefined;
    this.partitions.clear();
    this.running = false;
    this.config.logger.info('archiver stopped', { groupId: this.config.groupId });
  }

  status(): ArchiverStatus {
    const partitions = [...this.partitions.values()]
      .map((s) => ({
        stream: s.stream.name,
        topic: s.topic,
        partition: s.partition,
        archivedUntil: s.buffer.fromOffset,
        consumedUntil: s.buffer.consumedUntil,
        buffered: s.buffer.size,
        highWatermark: s.highWatermark,
        lag: Math.max(0, s.highWatermark - s.buffer.fromOffset),
        fenced: s.fenced,
      }))
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    return {
      running: this.running,
      groupId: this.config.groupId,
      lake: this.config.storage.location,
      partitions,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  private async startOffsets(assigned: readonly TopicPartition[]): Promise<Map<string, number>> {
    // Partitions this member no longer has: their buffers go (the new owner re-reads them).
    const keep = new Set([...(this.consumer?.assignment() ?? []), ...assigned].map(partitionKey));
    for (const [key, state] of this.partitions) {
      if (!keep.has(key)) {
        state.fenced = true;
        this.partitions.delete(key);
        this.metrics.buffered.remove(state.stream.name, String(state.partition));
      }
    }
    const offsets = new Map<string, number>();
    for (const tp of assigned) {
      const key = partitionKey(tp);
      const stream = this.config.streamsByTopic.get(tp.topic);
      if (!stream) throw new TandemError(`archiver: assigned ${key}, which is not a topic of its streams`, false);
      const previous = this.partitions.get(key);
      // Let a flush in flight finish before the partition restarts from the manifest.
      await previous?.lock.run(async () => {
        previous.fenced = true;
      });
      const target = { stream, topic: tp.topic, partition: tp.partition };
      const { nextOffset, adopted } = await this.writer.resume(target);
      for (const entry of adopted) this.countWritten(stream, entry.rows, entry.bytes, true);
      this.partitions.set(key, { ...target, key, buffer: new PartitionBuffer(nextOffset), lock: new Lock(), fenced: false, highWatermark: nextOffset });
      offsets.set(key, nextOffset);
    }
    return offsets;
  }

  private async eachBatch(batch: LogBatch, context: BatchContext): Promise<void> {
    if (this.stopping) return;
    const key = partitionKey(batch);
    const state = this.partitions.get(key);
    if (!state) throw new TandemError(`archiver: batch of ${key} before its start offset was loaded`, true);
    await state.lock.run(async () => {
      if (state.fenced) throw new PartitionFencedError(state.stream.name, state.partition);
      const now = Date.now();
      for (const record of batch.records) {
        if (record.offset < state.buffer.consumedUntil) continue; // delivered again: already buffered
        const decoded = decodeEvent(state.stream as unknown as StreamContract, record.value);
        if (decoded.ok) {
          state.buffer.add({ partition: record.partition, offset: record.offset, logTime: record.timestamp, key: record.key?.toString('utf8') ?? null, event: decoded.value }, now);
        } else {
          state.buffer.skip(record.offset, now);
          this.metrics.recordsSkipped.inc({ stream: state.stream.name, reason: decoded.reason });
        }
      }
      state.highWatermark = Math.max(state.highWatermark, batch.highWatermark);
      while (state.buffer.size >= this.config.maxRecords && !state.fenced) {
        await context.heartbeat();
        await this.flush(state, this.config.maxRecords);
      }
      this.updateGauges(state);
    });
  }

  /** Flushes partitions whose oldest buffered record is older than maxAgeMs. */
  private async flushAged(): Promise<void> {
    const now = Date.now();
    const owned = new Set((this.consumer?.assignment() ?? []).map(partitionKey));
    for (const state of this.partitions.values()) {
      if (state.fenced || state.buffer.oldestAt === undefined || now - state.buffer.oldestAt < this.config.maxAgeMs) continue;
      if (!owned.has(state.key)) continue; // being revoked: the next owner re-reads it
      await this.flushSafely(state);
    }
  }

  /** Flushes everything a partition buffers; a failure is logged and retried later. */
  private async flushSafely(state: PartitionState): Promise<void> {
    await state.lock.run(async () => {
      try {
        while (!state.fenced && state.buffer.size > 0) await this.flush(state, this.config.maxRecords);
        this.updateGauges(state);
      } catch (error) {
        this.metrics.flushFailures.inc({ stream: state.stream.name });
        this.lastError = error instanceof Error ? error.message : String(error);
        this.config.logger.error('archiver: flush failed; will retry', {
          stream: state.stream.name,
          topic: state.topic,
          partition: state.partition,
          fromOffset: state.buffer.fromOffset,
          error: this.lastError,
        });
      }
    });
  }

  /** Writes the first `count` buffered records as one range. Call under the partition's lock. */
  private async flush(state: PartitionState, count: number): Promise<void> {
    const range = state.buffer.take(count);
    if (!range) return;
    const stopTimer = this.metrics.flushSeconds.startTimer({ stream: state.stream.name });
    const outcome = await this.writer.write(state, range);
    stopTimer();
    if (outcome.kind === 'fenced') {
      state.fenced = true;
      this.metrics.flushesSuperseded.inc({ stream: state.stream.name });
      return;
    }
    state.buffer.commit(range, Date.now());
    this.lastError = undefined;
    this.countWritten(state.stream, outcome.entry.rows, outcome.bytes, false);
  }

  private countWritten(stream: AnyStreamContract, rows: number, bytes: number, adopted: boolean): void {
    if (rows === 0) return;
    this.metrics.filesWritten.inc({ stream: stream.name });
    this.metrics.recordsArchived.inc({ stream: stream.name }, rows);
    this.metrics.bytesWritten.inc({ stream: stream.name }, bytes);
    if (adopted) this.metrics.filesAdopted.inc({ stream: stream.name });
  }

  private updateGauges(state: PartitionState): void {
    const labels = { stream: state.stream.name, partition: String(state.partition) };
    this.metrics.lag.set(labels, Math.max(0, state.highWatermark - state.buffer.fromOffset));
    this.metrics.buffered.set(labels, state.buffer.size);
  }
}

/** Runs tasks one at a time, in call order. */
class Lock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
