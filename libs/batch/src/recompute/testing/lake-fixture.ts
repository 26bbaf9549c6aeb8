import type { AnyStreamContract } from '../../archiver';
import { LakeManifest, type LakeRecord, type LakeStorage, type ManifestEntry } from '@tandem/platform';
import { ArchiveWriter } from '../../archiver/archive-writer';

/**
 * Builds a lake for tests and benchmarks the way the archiver does (ArchiveWriter: data file,
 * then manifest entry), from events given directly instead of consumed from a log. Offsets
 * continue per partition from where the lake ends.
 */
export class LakeFixture {
  private readonly writer: ArchiveWriter;
  private readonly manifest: LakeManifest;
  private readonly next = new Map<number, number>();

  constructor(
    readonly storage: LakeStorage,
    readonly stream: AnyStreamContract,
    readonly topic: string = stream.topic,
  ) {
    this.manifest = new LakeManifest(storage);
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    this.writer = new ArchiveWriter(storage, this.manifest, quiet);
  }

  /** Next offset of a partition (where its next appended event lands). */
  async nextOffset(partition: number): Promise<number> {
    const known = this.next.get(partition);
    if (known !== undefined) return known;
    const chain = await this.manifest.partition(this.stream.name, partition);
    this.next.set(partition, chain.nextOffset);
    return chain.nextOffset;
  }

  /**
   * Appends events to one partition as files of at most `fileRows` records; returns the
   * records with their offsets. Log time is the event time (any value works for the batch).
   */
  async append(partition: number, events: readonly unknown[], fileRows = 10_000): Promise<LakeRecord[]> {
    const start = await this.nextOffset(partition);
    const records: LakeRecord[] = events.map((event, i) => ({
      partition,
      offset: start + i,
      logTime: this.stream.eventTime(event as never),
      key: this.stream.key(event as never),
      event,
    }));
    for (let i = 0; i < records.length; i += fileRows) {
      const part = records.slice(i, i + fileRows);
      const fromOffset = part[0].offset;
      const outcome = await this.writer.write(
        { stream: this.stream, topic: this.topic, partition },
        { fromOffset, nextOffset: part[part.length - 1].offset + 1, records: part, skippedOffsets: [] },
      );
      if (outcome.kind !== 'written') throw new Error(`lake fixture: partition ${partition} was written by someone else`);
    }
    this.next.set(partition, start + records.length);
    return records;
  }

  /** Spreads events over partitions by the stream's key, as a producer's partitioner would. */
  async appendByKey(events: readonly unknown[], fileRows = 10_000): Promise<LakeRecord[]> {
    const parts = new Map<number, unknown[]>();
    for (const e of events) {
      const p = partitionOf(this.stream.key(e as never), this.stream.partitions);
      const list = parts.get(p) ?? [];
      list.push(e);
      parts.set(p, list);
    }
    const out: LakeRecord[] = [];
    for (const [p, list] of [...parts].sort((a, b) => a[0] - b[0])) out.push(...(await this.append(p, list, fileRows)));
    return out;
  }

  async entries(): Promise<ManifestEntry[]> {
    return this.manifest.load(this.stream.name);
  }
}

/** A stable partition of a key (FNV-1a); any deterministic spread serves the tests. */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
