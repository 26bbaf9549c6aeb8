import type { LakeRecord } from '@tandem/platform';

/** A contiguous piece of a partition's log, ready to become one lake file and one manifest entry. */
export interface ArchiveRange {
  /** The previous range's nextOffset: where reading this one began. */
  readonly fromOffset: number;
  /** Last consumed offset + 1. */
  readonly nextOffset: number;
  /** Records that passed the contract, in offset order. */
  readonly records: readonly LakeRecord[];
  /** Offsets of the records that failed it. */
  readonly skippedOffsets: readonly number[];
}

/**
 * The records of one partition consumed since the last durable range, in memory until they
 * are flushed. Flushes are cut at record counts from `fromOffset`, so a restart that re-reads
 * the same records cuts the same ranges (and rewrites byte-identical files), unless a
 * time-based flush came first.
 */
export class PartitionBuffer {
  private records: LakeRecord[] = [];
  private skipped: number[] = [];
  private consumed: number;
  /** When the oldest buffered record was consumed (epoch ms), if any. */
  oldestAt: number | undefined;

  constructor(private from: number) {
    this.consumed = from;
  }

  /** Where the next range starts: the durable end of the partition in the lake. */
  get fromOffset(): number {
    return this.from;
  }

  /** Offset after the last consumed record. */
  get consumedUntil(): number {
    return this.consumed;
  }

  /** Consumed records (archived or skipped) waiting for a flush. */
  get size(): number {
    return this.records.length + this.skipped.length;
  }

  add(record: LakeRecord, now: number): void {
    this.note(record.offset, now);
    this.records.push(record);
  }

  skip(offset: number, now: number): void {
    this.note(offset, now);
    this.skipped.push(offset);
  }

  /** The first `count` consumed records (all if fewer or no count) as a range; undefined when empty. */
  take(count = Infinity): ArchiveRange | undefined {
    if (this.size === 0) return undefined;
    const nextOffset = count >= this.size ? this.consumed : this.offsetAt(count - 1) + 1;
    return {
      fromOffset: this.from,
      nextOffset,
      records: this.records.slice(0, countBelow(this.records, nextOffset, (r) => r.offset)),
      skippedOffsets: this.skipped.slice(0, countBelow(this.skipped, nextOffset, (o) => o)),
    };
  }

  /** Drops a range returned by `take` once it is durable. */
  commit(range: ArchiveRange, now: number): void {
    if (range.fromOffset !== this.from) throw new Error(`PartitionBuffer.commit: range starts at ${range.fromOffset}, buffer at ${this.from}`);
    this.records = this.records.slice(countBelow(this.records, range.nextOffset, (r) => r.offset));
    this.skipped = this.skipped.slice(countBelow(this.skipped, range.nextOffset, (o) => o));
    this.from = range.nextOffset;
    this.oldestAt = this.size > 0 ? now : undefined;
  }

  private note(offset: number, now: number): void {
    if (offset < this.consumed) throw new Error(`offset ${offset} consumed twice (buffer is at ${this.consumed})`);
    this.consumed = offset + 1;
    this.oldestAt ??= now;
  }

  /** Offset of the i-th consumed record in offset order (archived and skipped merged). */
  private offsetAt(i: number): number {
    let r = 0;
    let s = 0;
    for (let k = 0; ; k++) {
      const record = r < this.records.length ? this.records[r].offset : Infinity;
      const skipped = s < this.skipped.length ? this.skipped[s] : Infinity;
      if (k === i) return Math.min(record, skipped);
      if (record < skipped) r++;
      else s++;
    }
  }
}

/** How many leading items have an offset below `offset` (items are in offset order). */
function countBelow<T>(items: readonly T[], offset: number, offsetOf: (item: T) => number): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (offsetOf(items[mid]) < offset) low = mid + 1;
    else high = mid;
  }
  return low;
}
