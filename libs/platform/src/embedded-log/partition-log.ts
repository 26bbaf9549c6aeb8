import { TandemError } from '../errors/tandem-error';
import type { LogRecord } from '../log/log-port';
import type { SegmentFile, StoredRecord } from './segment-file';

/**
 * One partition of an embedded topic: records in offset order from 0, kept in memory and,
 * when the log has a directory, in a segment file.
 *
 * Like a Kafka leader with acks=all, a record becomes visible to consumers only once it is
 * durable: a consumer never sees a record that a crash could take back. Offsets are
 * assigned in call order, so concurrent sends to one partition keep their order.
 */
export class PartitionLog {
  private readonly records: LogRecord[] = [];
  private assigned: number;
  private tail: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    stored: readonly StoredRecord[],
    private readonly segment: SegmentFile | undefined,
    private readonly onAppend: () => void,
  ) {
    for (const r of stored) this.records.push(this.toLogRecord(this.records.length, r));
    this.assigned = this.records.length;
  }

  /** Offset the next visible record will get: the high watermark. */
  get end(): number {
    return this.records.length;
  }

  /** Appends records; resolves with the first offset once all are durable and visible. */
  append(batch: readonly StoredRecord[]): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    const first = this.assigned;
    this.assigned += batch.length;
    const done = this.tail.then(async () => {
      if (this.failure) throw this.failure;
      try {
        await this.segment?.append(batch);
      } catch (error) {
        // Offsets after this batch were promised to later sends: the partition cannot go on.
        this.failure = new TandemError(`embedded log ${this.topic}[${this.partition}]: write failed: ${(error as Error).message}`, false, { cause: error });
        throw this.failure;
      }
      for (const r of batch) this.records.push(this.toLogRecord(this.records.length, r));
      this.onAppend();
      return first;
    });
    this.tail = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  /** Up to `max` visible records from `offset` on. */
  read(offset: number, max: number): LogRecord[] {
    return this.records.slice(Math.max(0, offset), Math.max(0, offset) + max);
  }

  /** Waits for appends in flight (closing). */
  async settle(): Promise<void> {
    await this.tail;
  }

  private toLogRecord(offset: number, r: StoredRecord): LogRecord {
    return Object.freeze({ topic: this.topic, partition: this.partition, offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: Object.freeze({ ...r.headers }) });
  }
}
