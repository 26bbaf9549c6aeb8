import { Type, type Static } from '@sinclair/typebox';
import { defineStream } from '../events/stream-contract';

/**
 * The `flights` stream: U.S. domestic flights (BTS On-Time Performance, January to June
 * 2001) as shipped by the `vega-datasets` package in `data/flights-3m.parquet`
 * (3,000,000 rows, sorted by `date`, no nulls).
 *
 * Columns of that file, in order (Parquet physical / logical type):
 *
 * | column      | Parquet                                          | meaning                              |
 * |-------------|--------------------------------------------------|--------------------------------------|
 * | date        | INT64 TIMESTAMP(MICROS, isAdjustedToUTC = false) | actual departure, origin local time  |
 * | delay       | INT64                                            | arrival delay, minutes (< 0 = early) |
 * | distance    | INT64                                            | miles                                |
 * | origin      | BYTE_ARRAY STRING                                | IATA airport code                    |
 * | destination | BYTE_ARRAY STRING                                | IATA airport code                    |
 *
 * Event time: `date` is a wall-clock time without a zone (vega-datasets' scripts/flights.py
 * builds it as FlightDate + scheduled departure + departure delay, in the origin airport's
 * local time), and the year is stored in the value itself (2001-01-01 00:01 to
 * 2001-07-01 00:00). The contract reads that wall clock as if it were UTC, so `ts` is
 * 2001-01-01T00:01:00Z for the first row and day or hour buckets match the dates printed in
 * the source. It is therefore not a true instant: two flights at 09:00 in New York and
 * 09:00 in Los Angeles share a bucket. Resolving zones would need an airport → zone table
 * that the dataset does not ship.
 */
export const FLIGHT_COLUMNS = ['date', 'delay', 'distance', 'origin', 'destination'] as const;

export type FlightColumn = (typeof FLIGHT_COLUMNS)[number];

const AIRPORT = '^[A-Z]{3}$';

export const FlightEventSchema = Type.Object(
  {
    /** Departure wall-clock time read as UTC, epoch milliseconds (see above). */
    ts: Type.Integer({ minimum: 0 }),
    /** Arrival delay in minutes; negative when early. Bounded by a week to catch unit errors. */
    delay: Type.Integer({ minimum: -10_080, maximum: 10_080 }),
    /** Great-circle miles; no two airports are further apart than half the equator. */
    distance: Type.Integer({ minimum: 1, maximum: 12_500 }),
    origin: Type.String({ pattern: AIRPORT }),
    destination: Type.String({ pattern: AIRPORT }),
  },
  { additionalProperties: false },
);

export type FlightEvent = Static<typeof FlightEventSchema>;

/**
 * One row of the Parquet file, in the shapes readers produce: hyparquet gives a `Date` for
 * the timestamp and `bigint` for INT64; a reader that skips logical types gives the raw
 * microseconds as a `bigint`; CSV or DuckDB text gives `2001-01-01 00:01:00`.
 */
export interface FlightRow {
  readonly date: Date | bigint | string;
  readonly delay: bigint | number;
  readonly distance: bigint | number;
  readonly origin: string;
  readonly destination: string;
}

/**
 * Maps a Parquet row to a `flights` event. Throws a TypeError when a value cannot be
 * converted at all (null, wrong type); range checks are the contract's job (`validate`).
 */
export function flightEventFromRow(row: FlightRow): FlightEvent {
  return {
    ts: epochMillisOf(row.date),
    delay: integerOf('delay', row.delay),
    distance: integerOf('distance', row.distance),
    origin: stringOf('origin', row.origin),
    destination: stringOf('destination', row.destination),
  };
}

/** Keyed by origin airport: per-airport views stay on one partition. */
export const flights = defineStream({
  name: 'flights',
  version: 1,
  schema: FlightEventSchema,
  key: (e) => e.origin,
  eventTime: (e) => e.ts,
  partitions: 4,
});

const WALL_CLOCK = /^(\d{4})[-/](\d{2})[-/](\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/;

function epochMillisOf(date: unknown): number {
  if (date instanceof Date) {
    const ms = date.getTime();
    if (Number.isFinite(ms)) return ms;
  } else if (typeof date === 'bigint') {
    // TIMESTAMP(MICROS): whole milliseconds; the file has minute resolution anyway.
    return Number(date / 1000n);
  } else if (typeof date === 'string') {
    const m = WALL_CLOCK.exec(date);
    if (m) return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], m[6] === undefined ? 0 : +m[6]);
  }
  throw new TypeError(`flights row: date ${describe(date)} is not a timestamp`);
}

function integerOf(column: FlightColumn, value: unknown): number {
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n === 'number' && Number.isSafeInteger(n)) return n;
  throw new TypeError(`flights row: ${column} ${describe(value)} is not an integer`);
}

function stringOf(column: FlightColumn, value: unknown): string {
  if (typeof value === 'string') return value;
  throw new TypeError(`flights row: ${column} ${describe(value)} is not a string`);
}

function describe(value: unknown): string {
  return typeof value === 'bigint' ? `${value}n` : JSON.stringify(value) ?? String(value);
}
