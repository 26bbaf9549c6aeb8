import { type ColumnData, parquetMetadata, parquetRead } from 'hyparquet';
import { type LakeColumn, eventColumnsOf, type LakeStreamSchema } from './lake-columns';
import { arrayBufferOf, LakeFileError, lakeFileInfoOf } from './lake-file';

/**
 * A lake data file read column by column, for scans that fold millions of records: the
 * record columns a scan does not need (log time, key) are not decoded, no object is built
 * per row, and INT64 columns become doubles without a `bigint` per value.
 *
 * `readLakeFile` remains the reader for code that wants records as objects (the archiver,
 * audits, tests); both give the same events (a test compares them).
 */
export interface LakeFileColumns {
  /** The file's partition (every record of a lake file is of one partition). */
  readonly partition: number;
  readonly rows: number;
  /** Log offsets, in file (offset) order. */
  readonly offsets: ArrayLike<number>;
  /** The event columns, in the contract's order. */
  readonly columns: readonly LakeColumnValues[];
}

export interface LakeColumnValues {
  readonly column: LakeColumn;
  /** One value per row; null (or undefined) where an optional field is absent. */
  readonly values: ArrayLike<unknown>;
}

/** Reads the offsets and event columns of a lake file. */
export async function readLakeFileColumns(contract: LakeStreamSchema, bytes: Uint8Array): Promise<LakeFileColumns> {
  const file = arrayBufferOf(bytes);
  const metadata = parquetMetadata(file);
  const { partition } = lakeFileInfoOf(metadata);
  const rows = Number(metadata.num_rows);
  const eventColumns = eventColumnsOf(contract);
  const names = ['offset', ...eventColumns.map((c) => c.name)];
  const chunks = new Map<string, ColumnData[]>(names.map((n) => [n, []]));
  await parquetRead({
    file,
    metadata,
    columns: names,
    onChunk: (chunk) => chunks.get(chunk.columnName)?.push(chunk),
  });
  const column = (name: string) => wholeColumn(name, chunks.get(name) ?? [], rows);
  const offsets = int64AsNumbers('offset', column('offset'));
  for (let i = 0; i < rows; i++) if (offsets[i] === null) throw new LakeFileError(`lake file of ${contract.name}: offset is null at row ${i}`);
  return {
    partition,
    rows,
    offsets: offsets as ArrayLike<number>,
    columns: eventColumns.map((c) => ({ column: c, values: c.type === 'INT64' ? int64AsNumbers(c.name, column(c.name)) : column(c.name) })),
  };
}

/**
 * Calls `visit` with each record's offset and event, in file order, the event shaped as
 * `readLakeFile` shapes it (an optional field that is null is absent).
 *
 * The event object is REUSED from one record to the next: it is valid during the call only.
 * Aggregators keep values taken from an event, never the event itself, which is what makes
 * this safe for folding; anything that keeps events must copy them.
 */
export function visitLakeEvents<E>(contract: LakeStreamSchema, file: LakeFileColumns, visit: (offset: number, event: E) => void): void {
  const { columns, offsets, rows } = file;
  const width = columns.length;
  const names = columns.map((c) => c.column.name);
  const values = columns.map((c) => c.values);
  // Rows with an absent optional field get an object of their own without that property;
  // a required field that is null is a corrupt file.
  let sparse = false;
  for (let c = 0; c < width; c++) {
    const v = values[c];
    for (let i = 0; i < rows; i++) {
      if (v[i] !== null && v[i] !== undefined) continue;
      if (!columns[c].column.nullable) {
        throw new LakeFileError(`lake file of ${contract.name}: required column ${names[c]} is null at offset ${offsets[i]}`);
      }
      sparse = true;
      break;
    }
  }
  const event: Record<string, unknown> = {};
  for (let c = 0; c < width; c++) event[names[c]] = undefined;
  for (let i = 0; i < rows; i++) {
    if (sparse && hasAbsent(values, i)) {
      const own: Record<string, unknown> = {};
      for (let c = 0; c < width; c++) {
        const value = values[c][i];
        if (value !== null && value !== undefined) own[names[c]] = value;
      }
      visit(offsets[i], own as E);
      continue;
    }
    for (let c = 0; c < width; c++) event[names[c]] = values[c][i];
    visit(offsets[i], event as E);
  }
}

function hasAbsent(values: readonly ArrayLike<unknown>[], row: number): boolean {
  for (const v of values) if (v[row] === null || v[row] === undefined) return true;
  return false;
}

/** A column's values over all rows (hyparquet hands them over page by page). */
function wholeColumn(name: string, chunks: readonly ColumnData[], rows: number): ArrayLike<unknown> {
  if (chunks.length === 1 && chunks[0].rowStart === 0 && chunks[0].columnData.length === rows) return chunks[0].columnData as ArrayLike<unknown>;
  const first = chunks[0]?.columnData as unknown;
  const out: { [i: number]: unknown; length: number } = ArrayBuffer.isView(first)
    ? new (first.constructor as new (length: number) => { [i: number]: unknown; length: number })(rows)
    : new Array(rows);
  let filled = 0;
  for (const chunk of chunks) {
    const data = chunk.columnData as ArrayLike<unknown>;
    for (let i = 0; i < data.length; i++) {
      const row = chunk.rowStart + i;
      if (row < rows) out[row] = data[i];
    }
    filled += data.length;
  }
  if (filled < rows) throw new LakeFileError(`lake file: column ${name} has ${filled} values for ${rows} rows`);
  return out as ArrayLike<unknown>;
}

// The two 32-bit halves of a little- or big-endian 64-bit integer, read without a bigint.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LOW = LITTLE_ENDIAN ? 0 : 1;
const HIGH = LITTLE_ENDIAN ? 1 : 0;
const TWO_32 = 2 ** 32;
// |value| < 2^53 exactly when the high word is within [-2^21, 2^21).
const HIGH_LIMIT = 2 ** 21;

/** INT64 values as numbers; a value beyond 2^53 is an error, as in `readLakeFileRows`. */
function int64AsNumbers(name: string, values: ArrayLike<unknown>): ArrayLike<number | null> {
  if (values instanceof BigInt64Array) {
    const out = new Float64Array(values.length);
    const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
    const lows = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
    for (let i = 0; i < values.length; i++) {
      const high = words[2 * i + HIGH];
      if (high >= HIGH_LIMIT || high < -HIGH_LIMIT) throw new LakeFileError(`lake file: column ${name} holds ${values[i]}, beyond 2^53`);
      out[i] = high * TWO_32 + lows[2 * i + LOW];
    }
    return out;
  }
  // An optional column with nulls (or a reader's other representation): value by value.
  const out = new Array<number | null>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      out[i] = null;
      continue;
    }
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new LakeFileError(`lake file: column ${name} holds ${String(v)}, beyond 2^53`);
    out[i] = n;
  }
  return out;
}
