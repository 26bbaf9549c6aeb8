import type { LakeStreamSchema } from './lake-columns';
import { type LakeRecord, readLakeFile } from './lake-file';
import { type LakeFileColumns, readLakeFileColumns } from './lake-file-columns';
import type { LakeStorage } from './lake-storage';
import { type ManifestEntry, ManifestError, sha256Hex } from './manifest-entry';

/** Offsets `[fromOffset, toOffset)` of one partition. */
export interface OffsetSpan {
  readonly fromOffset: number;
  readonly toOffset: number;
}

export interface ReadLakeRecordsOptions {
  /**
   * Offsets to read per partition; partitions absent from the map are not read. Without
   * it, every record of the entries is read.
   */
  readonly ranges?: ReadonlyMap<number, OffsetSpan> | Readonly<Record<number, OffsetSpan>>;
  /** Checks each file against its entry's SHA-256 and row count (default true). */
  readonly verify?: boolean;
}

/** Whether an entry's file holds any record in the ranges (or any at all without ranges). */
export function entryOverlaps(entry: ManifestEntry, ranges: ReadLakeRecordsOptions['ranges']): boolean {
  if (entry.rows === 0 || entry.file === null) return false;
  if (ranges === undefined) return true;
  const span = spanOf(ranges, entry.partition);
  return span !== undefined && entry.firstOffset < span.toOffset && entry.lastOffset >= span.fromOffset;
}

/**
 * Reads the records of one manifest entry's file, checked against the entry: the file's
 * SHA-256 and row count must match, so a replaced or truncated file is an error, not data.
 */
export async function readLakeEntry<E = unknown>(
  storage: LakeStorage,
  contract: LakeStreamSchema,
  entry: ManifestEntry,
  options: { readonly verify?: boolean } = {},
): Promise<LakeRecord<E>[]> {
  if (entry.file === null) return [];
  const records = await readLakeFile<E>(contract, await entryBytes(storage, entry, options));
  if (records.length !== entry.rows) {
    throw new ManifestError(`lake file ${entry.file} has ${records.length} rows, its manifest entry says ${entry.rows}`);
  }
  return records;
}

/**
 * Reads one manifest entry's file column by column (`readLakeFileColumns`), checked against
 * the entry as `readLakeEntry` checks it; undefined for an entry without a file.
 */
export async function readLakeEntryColumns(
  storage: LakeStorage,
  contract: LakeStreamSchema,
  entry: ManifestEntry,
  options: { readonly verify?: boolean } = {},
): Promise<LakeFileColumns | undefined> {
  if (entry.file === null) return undefined;
  const columns = await readLakeFileColumns(contract, await entryBytes(storage, entry, options));
  if (columns.rows !== entry.rows) {
    throw new ManifestError(`lake file ${entry.file} has ${columns.rows} rows, its manifest entry says ${entry.rows}`);
  }
  if (columns.partition !== entry.partition) {
    throw new ManifestError(`lake file ${entry.file} holds partition ${columns.partition}, its manifest entry says ${entry.partition}`);
  }
  return columns;
}

async function entryBytes(storage: LakeStorage, entry: ManifestEntry, options: { readonly verify?: boolean }): Promise<Uint8Array> {
  const bytes = await storage.get(entry.file as string);
  if (options.verify !== false && (bytes.byteLength !== entry.bytes || sha256Hex(bytes) !== entry.sha256)) {
    throw new ManifestError(`lake file ${entry.file} does not match its manifest entry (size or SHA-256 differ): it was changed after archiving`);
  }
  return bytes;
}

/**
 * The lake's records of the given entries (a manifest snapshot) within the given offset
 * ranges, file by file in the entries' order and by offset within a file.
 */
export async function* readLakeRecords<E = unknown>(
  storage: LakeStorage,
  contract: LakeStreamSchema,
  entries: readonly ManifestEntry[],
  options: ReadLakeRecordsOptions = {},
): AsyncGenerator<LakeRecord<E>> {
  for (const entry of entries) {
    if (!entryOverlaps(entry, options.ranges)) continue;
    const span = options.ranges === undefined ? undefined : spanOf(options.ranges, entry.partition);
    for (const record of await readLakeEntry<E>(storage, contract, entry, options)) {
      if (span === undefined || (record.offset >= span.fromOffset && record.offset < span.toOffset)) yield record;
    }
  }
}

function spanOf(ranges: NonNullable<ReadLakeRecordsOptions['ranges']>, partition: number): OffsetSpan | undefined {
  return ranges instanceof Map ? ranges.get(partition) : (ranges as Readonly<Record<number, OffsetSpan>>)[partition];
}
