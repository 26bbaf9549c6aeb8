import { createHash } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { TandemError } from '../errors/tandem-error';
import type { LakeFileInfo, LakeRecord } from './lake-file';
import { EMPTY_CHECKSUM, RecordsChecksum } from './records-checksum';

const Offset = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const EpochMs = Type.Union([Type.Integer(), Type.Null()]);

/**
 * One manifest entry: the record of one archived offset range of one partition
 * (docs/lake.md). Entries are immutable and the manifest only grows: an entry is written
 * after its data file is complete, so an entry always points at a whole file.
 *
 * Offsets:
 *   fromOffset <= firstOffset <= lastOffset < nextOffset
 * - `fromOffset`: where reading this range began, the previous entry's `nextOffset` (0 for
 *   a partition's first entry). Ranges chain: an entry continues the one whose `nextOffset`
 *   equals its `fromOffset`.
 * - `firstOffset`, `lastOffset`: first and last record of the data file; for an entry with
 *   no rows (every record of the range failed its contract) the first and last skipped.
 * - `nextOffset`: last consumed offset + 1. It exceeds `lastOffset + 1` when the range ended
 *   with skipped records; `firstOffset` exceeds `fromOffset` when it began with skipped
 *   records or with offsets the log does not have (transaction markers, compaction).
 */
export const ManifestEntrySchema = Type.Object(
  {
    stream: Type.String({ minLength: 1 }),
    streamVersion: Type.Integer({ minimum: 1 }),
    topic: Type.String({ minLength: 1 }),
    partition: Type.Integer({ minimum: 0 }),
    fromOffset: Offset,
    firstOffset: Offset,
    lastOffset: Offset,
    nextOffset: Offset,
    /** Records in the data file (valid records of the range). */
    rows: Type.Integer({ minimum: 0 }),
    /** Records of the range that failed the contract (dead-lettered by the speed layer). */
    skipped: Type.Integer({ minimum: 0 }),
    /** Data file path relative to the lake root; null when `rows` is 0. */
    file: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
    /** Size of the data file in bytes (0 without a file). */
    bytes: Type.Integer({ minimum: 0 }),
    /** SHA-256 of the data file's bytes, hex; null without a file. */
    sha256: Type.Union([Type.String({ pattern: '^[0-9a-f]{64}$' }), Type.Null()]),
    /** Order-independent checksum of the file's records (records-checksum.ts). */
    recordsChecksum: Type.String({ pattern: '^[0-9a-f]{16}$' }),
    minLogTime: EpochMs,
    maxLogTime: EpochMs,
    minEventTime: EpochMs,
    maxEventTime: EpochMs,
    /** When the entry was written (ISO 8601); informational, the only non-deterministic field. */
    writtenAt: Type.String({ minLength: 1 }),
  },
  { additionalProperties: true },
);

export type ManifestEntry = Static<typeof ManifestEntrySchema>;

export class ManifestError extends TandemError {
  override readonly name = 'ManifestError';
}

const checker = TypeCompiler.Compile(ManifestEntrySchema);

/** Parses and checks a manifest entry read from `path`. */
export function parseManifestEntry(path: string, bytes: Uint8Array): ManifestEntry {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new ManifestError(`manifest entry ${path} is not JSON: ${(error as Error).message}`);
  }
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    throw new ManifestError(`manifest entry ${path} is invalid: ${first?.path ?? ''} ${first?.message ?? ''}`.trim());
  }
  checkOffsets(path, value);
  return value;
}

export function serializeManifestEntry(entry: ManifestEntry): Buffer {
  checkOffsets('(new entry)', entry);
  return Buffer.from(`${JSON.stringify(entry, null, 2)}\n`, 'utf8');
}

function checkOffsets(path: string, e: ManifestEntry): void {
  const ordered = e.fromOffset <= e.firstOffset && e.firstOffset <= e.lastOffset && e.lastOffset < e.nextOffset;
  const fileMatches = e.rows > 0 ? e.file !== null && e.sha256 !== null : e.file === null && e.skipped > 0;
  if (!ordered || !fileMatches) {
    throw new ManifestError(
      `manifest entry ${path} is inconsistent: from ${e.fromOffset}, first ${e.firstOffset}, last ${e.lastOffset}, next ${e.nextOffset}, rows ${e.rows}, skipped ${e.skipped}, file ${e.file}`,
    );
  }
}

/** What a range's records sum up to. */
export interface RecordsSummary {
  readonly rows: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly recordsChecksum: string;
  readonly minLogTime: number | null;
  readonly maxLogTime: number | null;
  readonly minEventTime: number | null;
  readonly maxEventTime: number | null;
}

export function summarizeRecords(contract: { readonly eventTime: (event: never) => number }, records: readonly LakeRecord[]): RecordsSummary {
  const checksum = new RecordsChecksum();
  let minLog = Infinity;
  let maxLog = -Infinity;
  let minEvent = Infinity;
  let maxEvent = -Infinity;
  for (const r of records) {
    checksum.add(r.partition, r.offset, r.event);
    if (r.logTime < minLog) minLog = r.logTime;
    if (r.logTime > maxLog) maxLog = r.logTime;
    const eventTime = contract.eventTime(r.event as never);
    if (eventTime < minEvent) minEvent = eventTime;
    if (eventTime > maxEvent) maxEvent = eventTime;
  }
  const any = records.length > 0;
  return {
    rows: records.length,
    firstOffset: any ? records[0].offset : -1,
    lastOffset: any ? records[records.length - 1].offset : -1,
    recordsChecksum: any ? checksum.toString() : EMPTY_CHECKSUM,
    minLogTime: any ? minLog : null,
    maxLogTime: any ? maxLog : null,
    minEventTime: any ? minEvent : null,
    maxEventTime: any ? maxEvent : null,
  };
}

/** The entry of a range with a data file. */
export function entryForFile(
  info: LakeFileInfo,
  summary: RecordsSummary,
  file: { readonly path: string; readonly bytes: Uint8Array },
  writtenAt: Date,
): ManifestEntry {
  return {
    stream: info.stream,
    streamVersion: info.streamVersion,
    topic: info.topic,
    partition: info.partition,
    fromOffset: info.fromOffset,
    firstOffset: summary.firstOffset,
    lastOffset: summary.lastOffset,
    nextOffset: info.nextOffset,
    rows: summary.rows,
    skipped: info.skipped,
    file: file.path,
    bytes: file.bytes.byteLength,
    sha256: sha256Hex(file.bytes),
    recordsChecksum: summary.recordsChecksum,
    minLogTime: summary.minLogTime,
    maxLogTime: summary.maxLogTime,
    minEventTime: summary.minEventTime,
    maxEventTime: summary.maxEventTime,
    writtenAt: writtenAt.toISOString(),
  };
}

/** The entry of a range whose records all failed the contract: it only moves coverage on. */
export function entryForSkippedRange(info: LakeFileInfo, firstSkipped: number, lastSkipped: number, writtenAt: Date): ManifestEntry {
  return {
    stream: info.stream,
    streamVersion: info.streamVersion,
    topic: info.topic,
    partition: info.partition,
    fromOffset: info.fromOffset,
    firstOffset: firstSkipped,
    lastOffset: lastSkipped,
    nextOffset: info.nextOffset,
    rows: 0,
    skipped: info.skipped,
    file: null,
    bytes: 0,
    sha256: null,
    recordsChecksum: EMPTY_CHECKSUM,
    minLogTime: null,
    maxLogTime: null,
    minEventTime: null,
    maxEventTime: null,
    writtenAt: writtenAt.toISOString(),
  };
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
