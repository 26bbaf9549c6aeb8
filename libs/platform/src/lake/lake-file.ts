import { type FileMetaData, parquetMetadata, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer, type SchemaElement } from 'hyparquet-writer';
import { canonicalJson, type Json } from '@tandem/transforms';
import { TandemError } from '../errors/tandem-error';
import { type LakeColumn, lakeColumnsOf, eventColumnsOf, type LakeStreamSchema, RECORD_COLUMNS } from './lake-columns';

/**
 * Lake data files: Parquet, one row per log record, written with hyparquet-writer and read
 * with hyparquet (DuckDB, Spark and Databricks read them too).
 *
 * The bytes are a pure function of the records and the file's metadata: no clock, no host,
 * no random id, so a file rewritten after a crash is byte-identical to the first attempt.
 */

/** One record of the lake: its log position and metadata, and the decoded event. */
export interface LakeRecord<E = unknown> {
  readonly partition: number;
  readonly offset: number;
  /** Log append (or create) time, epoch ms. */
  readonly logTime: number;
  readonly key: string | null;
  readonly event: E;
}

/**
 * What a file says about itself (Parquet key-value metadata, `tandem.*`): enough to rebuild
 * its manifest entry from the file alone, which the archiver does when a crash fell between
 * writing a file and recording it.
 */
export interface LakeFileInfo {
  readonly stream: string;
  readonly streamVersion: number;
  readonly topic: string;
  readonly partition: number;
  /** Where reading the range began: the previous range's `nextOffset` (0 for the first). */
  readonly fromOffset: number;
  /** Where the next range begins: the last consumed offset + 1. */
  readonly nextOffset: number;
  /** Records of the range that failed the contract and are not in the file. */
  readonly skipped: number;
}

export const LAKE_FORMAT_VERSION = 1;
const CREATED_BY = `tandem lake format ${LAKE_FORMAT_VERSION}`;
const ROW_GROUP_ROWS = 100_000;

export class LakeFileError extends TandemError {
  override readonly name = 'LakeFileError';
}

/** Encodes records (of one partition, in offset order) as a lake data file. */
export function encodeLakeFile(contract: LakeStreamSchema, info: LakeFileInfo, records: readonly LakeRecord[]): Uint8Array {
  if (records.length === 0) throw new LakeFileError(`lake file of ${info.stream} p${info.partition}: no records`);
  const columns = lakeColumnsOf(contract);
  const data: unknown[][] = columns.map(() => new Array(records.length));
  const eventColumns = eventColumnsOf(contract);
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (r.partition !== info.partition) throw new LakeFileError(`lake file of p${info.partition}: record of partition ${r.partition}`);
    if (i > 0 && r.offset <= records[i - 1].offset) throw new LakeFileError(`lake file: offsets not increasing at ${r.offset}`);
    data[0][i] = r.partition;
    data[1][i] = BigInt(r.offset);
    data[2][i] = BigInt(r.logTime);
    data[3][i] = r.key;
    const event = r.event as Record<string, unknown>;
    for (let c = 0; c < eventColumns.length; c++) data[RECORD_COLUMNS.length + c][i] = toColumnValue(eventColumns[c], event[eventColumns[c].name]);
  }
  const schema: SchemaElement[] = [{ name: 'root', num_children: columns.length }, ...columns.map(schemaElementOf)];
  const buffer = parquetWriteBuffer({
    schema,
    columnData: columns.map((c, i) => ({ name: c.name, data: data[i] as never })),
    rowGroupSize: ROW_GROUP_ROWS,
    createdBy: CREATED_BY,
    kvMetadata: [
      { key: 'tandem.lake_format', value: String(LAKE_FORMAT_VERSION) },
      { key: 'tandem.stream', value: info.stream },
      { key: 'tandem.stream_version', value: String(info.streamVersion) },
      { key: 'tandem.topic', value: info.topic },
      { key: 'tandem.partition', value: String(info.partition) },
      { key: 'tandem.from_offset', value: String(info.fromOffset) },
      { key: 'tandem.next_offset', value: String(info.nextOffset) },
      { key: 'tandem.skipped', value: String(info.skipped) },
    ],
  });
  return new Uint8Array(buffer);
}

/** The `tandem.*` metadata of a lake file. */
export function lakeFileInfo(bytes: Uint8Array): LakeFileInfo {
  return lakeFileInfoOf(parquetMetadata(arrayBufferOf(bytes)));
}

/** The `tandem.*` metadata of a lake file, from its parsed Parquet metadata. */
export function lakeFileInfoOf(meta: FileMetaData): LakeFileInfo {
  const kv = new Map((meta.key_value_metadata ?? []).map((e) => [e.key, e.value ?? '']));
  const text = (key: string): string => {
    const value = kv.get(`tandem.${key}`);
    if (value === undefined) throw new LakeFileError(`not a tandem lake file: no tandem.${key} metadata`);
    return value;
  };
  const int = (key: string): number => {
    const value = Number(text(key));
    if (!Number.isSafeInteger(value) || value < 0) throw new LakeFileError(`lake file metadata tandem.${key} is not a count: ${text(key)}`);
    return value;
  };
  return {
    stream: text('stream'),
    streamVersion: int('stream_version'),
    topic: text('topic'),
    partition: int('partition'),
    fromOffset: int('from_offset'),
    nextOffset: int('next_offset'),
    skipped: int('skipped'),
  };
}

/**
 * Reads a lake file's rows as plain objects, one property per column, with INT64 values as
 * numbers (offsets and epoch times are far below 2^53) and JSON columns parsed.
 */
export async function readLakeFileRows(bytes: Uint8Array): Promise<Record<string, unknown>[]> {
  const rows = await parquetReadObjects({ file: arrayBufferOf(bytes) });
  for (const row of rows) {
    for (const name of Object.keys(row)) {
      const value = row[name];
      if (typeof value === 'bigint') row[name] = safeNumber(name, value);
    }
  }
  return rows;
}

/** Reads a lake file's records, rebuilding each event as the contract's schema shapes it. */
export async function readLakeFile<E = unknown>(contract: LakeStreamSchema, bytes: Uint8Array): Promise<LakeRecord<E>[]> {
  const rows = await readLakeFileRows(bytes);
  const eventColumns = eventColumnsOf(contract);
  return rows.map((row) => {
    const event: Record<string, unknown> = {};
    for (const c of eventColumns) {
      const value = row[c.name];
      if (value === null || value === undefined) {
        if (c.nullable) continue;
        throw new LakeFileError(`lake file of ${contract.name}: required column ${c.name} is null at offset ${String(row['offset'])}`);
      }
      event[c.name] = value;
    }
    return {
      partition: row['partition'] as number,
      offset: row['offset'] as number,
      logTime: row['log_time'] as number,
      key: (row['key'] as string | null | undefined) ?? null,
      event: event as E,
    };
  });
}

function schemaElementOf(column: LakeColumn): SchemaElement {
  const repetition_type = column.nullable ? 'OPTIONAL' : 'REQUIRED';
  switch (column.type) {
    case 'STRING':
      return { name: column.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type };
    case 'JSON':
      return { name: column.name, type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type };
    default:
      return { name: column.name, type: column.type, repetition_type };
  }
}

function toColumnValue(column: LakeColumn, value: unknown): unknown {
  if (value === undefined || value === null) {
    if (column.nullable) return null;
    throw new LakeFileError(`lake file: required field ${column.name} is missing`);
  }
  // The writer serialises JSON columns itself; a key-sorted copy makes that text canonical.
  if (column.type === 'JSON') return JSON.parse(canonicalJson(value as Json));
  if (column.type === 'INT64') return BigInt(value as number);
  return value;
}

function safeNumber(column: string, value: bigint): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new LakeFileError(`lake file: column ${column} holds ${value}, beyond 2^53`);
  return n;
}

/** The bytes as an ArrayBuffer of their own (what hyparquet reads), without a copy when they are one already. */
export function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
