import {
  dataFilePath,
  encodeLakeFile,
  entryForFile,
  entryForSkippedRange,
  type LakeFileInfo,
  lakeFileInfo,
  LakeManifest,
  type LakeStorage,
  type ManifestEntry,
  type PartitionChain,
  manifestEntryPath,
  parseDataFilePath,
  readLakeFile,
  summarizeRecords,
} from '@tandem/platform';
import type { AnyStreamContract, ArchiverLogger } from './archiver-options';
import type { ArchiveRange } from './partition-buffer';

export type WriteOutcome =
  /** The range is durable and ends the partition's chain. */
  | { readonly kind: 'written'; readonly entry: ManifestEntry; readonly bytes: number }
  /**
   * Another writer moved the partition's chain (a member that took the partition over):
   * this writer must stop writing the partition and re-read it from the manifest.
   */
  | { readonly kind: 'fenced'; readonly chainEnd: number };

/** A partition of a stream, as the archiver reads it. */
export interface ArchivePartition {
  readonly stream: AnyStreamContract;
  readonly topic: string;
  readonly partition: number;
}

/**
 * Writes ranges to the lake with the protocol of docs/lake.md: the data file first (an
 * atomic put, byte-identical on a retry), then the manifest entry (create-if-absent), then a
 * check that the entry extended the partition's chain. A crash between the two writes leaves
 * a complete file without an entry; `resume` finds it and records it, so the work is kept and
 * no file is left that the manifest does not know.
 */
export class ArchiveWriter {
  constructor(
    private readonly storage: LakeStorage,
    private readonly manifest: LakeManifest,
    private readonly logger: ArchiverLogger,
  ) {}

  async write(target: ArchivePartition, range: ArchiveRange): Promise<WriteOutcome> {
    const { stream, partition } = target;
    // Only the writer at the end of the chain may write: one that lost the partition finds
    // out here, before it writes anything.
    const before = await this.manifest.partition(stream.name, partition);
    if (before.nextOffset !== range.fromOffset) return this.fenced(target, range, before.nextOffset);

    const info = this.fileInfo(target, range);
    let entry: ManifestEntry;
    let file: string | undefined;
    if (range.records.length > 0) {
      const bytes = encodeLakeFile(stream, info, range.records);
      const summary = summarizeRecords(stream, range.records);
      file = dataFilePath({ stream: stream.name, partition, firstOffset: summary.firstOffset, lastOffset: summary.lastOffset }, range.records[0].logTime);
      // Never overwrite: a file at this path is either this range written before a crash
      // (the same bytes) or another writer's, which must not be replaced.
      if (!(await this.storage.create(file, bytes))) {
        const existing = await this.storage.get(file);
        if (!existing.equals(bytes)) return this.fenced(target, range, before.nextOffset);
      }
      entry = entryForFile(info, summary, { path: file, bytes }, new Date());
    } else {
      const skipped = range.skippedOffsets;
      entry = entryForSkippedRange(info, skipped[0], skipped[skipped.length - 1], new Date());
    }
    await this.manifest.append(entry);

    const chain = await this.manifest.partition(stream.name, partition);
    const path = manifestEntryPath(entry);
    const onChain = chain.entries.some((e) => manifestEntryPath(e) === path && e.fromOffset === entry.fromOffset && e.nextOffset === entry.nextOffset);
    if (onChain && chain.nextOffset === entry.nextOffset) return { kind: 'written', entry, bytes: entry.bytes };
    await this.vacuum(target, chain);
    return this.fenced(target, range, chain.nextOffset);
  }

  private fenced(target: ArchivePartition, range: ArchiveRange, chainEnd: number): WriteOutcome {
    this.logger.warn('another writer moved the partition in the lake; re-reading it from the manifest', {
      stream: target.stream.name,
      partition: target.partition,
      fromOffset: range.fromOffset,
      nextOffset: range.nextOffset,
      chainEnd,
    });
    return { kind: 'fenced', chainEnd };
  }

  /**
   * The offset to resume a partition from: the end of its chain, after recording any data
   * file a crash left without its manifest entry.
   */
  async resume(target: ArchivePartition): Promise<{ nextOffset: number; adopted: ManifestEntry[] }> {
    const { stream, partition } = target;
    let chain = await this.manifest.partition(stream.name, partition);
    const named = new Set([...chain.entries, ...chain.superseded, ...chain.detached].map((e) => e.file));
    const candidates = (await this.storage.list(`${stream.name}/`))
      .map((path) => ({ path, range: parseDataFilePath(path) }))
      .filter(({ path, range }) => range !== undefined && range.stream === stream.name && range.partition === partition && !named.has(path))
      .filter(({ range }) => range!.firstOffset >= chain.nextOffset)
      .sort((a, b) => a.range!.firstOffset - b.range!.firstOffset);
    const adopted: ManifestEntry[] = [];
    for (const { path } of candidates) {
      const bytes = await this.storage.get(path);
      let info: LakeFileInfo;
      try {
        info = lakeFileInfo(bytes);
      } catch (error) {
        this.logger.warn('ignoring a file in the lake that is not a lake data file', { path, error: String(error) });
        continue;
      }
      if (info.stream !== stream.name || info.partition !== partition || info.fromOffset !== chain.nextOffset) continue;
      const records = await readLakeFile(stream, bytes);
      const entry = entryForFile(info, summarizeRecords(stream, records), { path, bytes }, new Date());
      await this.manifest.append(entry);
      chain = await this.manifest.partition(stream.name, partition);
      if (chain.nextOffset === entry.nextOffset) {
        adopted.push(entry);
        this.logger.info('recorded a data file written before a crash', { stream: stream.name, partition, file: path, rows: entry.rows });
      }
    }
    await this.vacuum(target, chain);
    return { nextOffset: chain.nextOffset, adopted };
  }

  /**
   * Removes what two writers racing on one partition can leave below the end of its chain:
   * entries off the chain and data files no chain entry names. Neither is ever read, and
   * neither can join the chain any more: it only grows from its end, and a writer writes only
   * there. Removing an off-chain entry does not change the chain.
   */
  private async vacuum(target: ArchivePartition, chain: PartitionChain): Promise<void> {
    const { stream, partition } = target;
    const dead = [...chain.superseded, ...chain.detached].filter((e) => e.nextOffset <= chain.nextOffset);
    for (const e of dead) await this.manifest.remove(e);
    const named = new Set(chain.entries.map((e) => e.file));
    const stray = (await this.storage.list(`${stream.name}/`)).filter((path) => {
      const range = parseDataFilePath(path);
      return range !== undefined && range.stream === stream.name && range.partition === partition && range.lastOffset < chain.nextOffset && !named.has(path);
    });
    for (const path of stray) await this.storage.delete(path);
    if (dead.length + stray.length > 0) {
      this.logger.warn('removed what a concurrent writer left off the manifest chain', { stream: stream.name, partition, entries: dead.length, files: stray.length });
    }
  }

  private fileInfo(target: ArchivePartition, range: ArchiveRange): LakeFileInfo {
    return {
      stream: target.stream.name,
      streamVersion: target.stream.version,
      topic: target.topic,
      partition: target.partition,
      fromOffset: range.fromOffset,
      nextOffset: range.nextOffset,
      skipped: range.skippedOffsets.length,
    };
  }
}
