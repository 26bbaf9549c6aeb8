/**
 * Where things live in the lake (docs/lake.md):
 *
 *   <stream>/date=<YYYY-MM-DD>/<stream>-p<partition>-<first>-<last>.parquet     data files
 *   _manifest/<stream>/p<partition>/<first>-<last>.json                          manifest entries
 *
 * Offsets are zero-padded to 20 digits (the width of the largest Kafka offset, 2^63 - 1), so
 * lexicographic order is offset order in every listing. The date is the UTC day of the
 * file's first record's log timestamp.
 */
export const OFFSET_WIDTH = 20;
export const MANIFEST_ROOT = '_manifest';

export const padOffset = (offset: number): string => {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative safe integer, got ${offset}`);
  return String(offset).padStart(OFFSET_WIDTH, '0');
};

/** `YYYY-MM-DD` of an epoch-millisecond instant, in UTC. */
export const utcDateOf = (epochMs: number): string => new Date(epochMs).toISOString().slice(0, 10);

export interface OffsetRange {
  readonly stream: string;
  readonly partition: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
}

export function dataFilePath(range: OffsetRange, firstLogTime: number): string {
  return `${range.stream}/date=${utcDateOf(firstLogTime)}/${range.stream}-p${range.partition}-${padOffset(range.firstOffset)}-${padOffset(range.lastOffset)}.parquet`;
}

export function manifestEntryPath(range: OffsetRange): string {
  return `${manifestPrefix(range.stream, range.partition)}${padOffset(range.firstOffset)}-${padOffset(range.lastOffset)}.json`;
}

/** Prefix of the manifest entries of a stream, or of one partition of it. */
export function manifestPrefix(stream: string, partition?: number): string {
  return partition === undefined ? `${MANIFEST_ROOT}/${stream}/` : `${MANIFEST_ROOT}/${stream}/p${partition}/`;
}

const DATA_FILE = /^([a-z][a-z0-9_]*)\/date=(\d{4}-\d{2}-\d{2})\/([a-z][a-z0-9_]*)-p(\d+)-(\d{20})-(\d{20})\.parquet$/;

/** The range a data file path names, or undefined if the path is not a data file. */
export function parseDataFilePath(path: string): (OffsetRange & { readonly date: string }) | undefined {
  const m = DATA_FILE.exec(path);
  if (!m || m[1] !== m[3]) return undefined;
  return { stream: m[1], date: m[2], partition: Number(m[4]), firstOffset: Number(m[5]), lastOffset: Number(m[6]) };
}
