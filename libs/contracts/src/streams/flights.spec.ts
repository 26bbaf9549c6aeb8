import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { FLIGHT_COLUMNS, flightEventFromRow, flights, type FlightRow } from './flights';

// The package's `exports` hide its files from require.resolve; it is a root devDependency.
const PACKAGE = path.resolve(__dirname, '../../../../node_modules/vega-datasets');
const PARQUET = path.join(PACKAGE, 'data', 'flights-3m.parquet');

/**
 * Rows 0-9, 1,500,000 and 2,999,999 of flights-3m.parquet, in the shapes hyparquet returns
 * (TIMESTAMP(MICROS) -> Date, INT64 -> bigint). Read with DuckDB:
 *   SELECT file_row_number, epoch_us(date), delay, distance, origin, destination
 *   FROM read_parquet('flights-3m.parquet', file_row_number = true)
 * The file's zstd pages cannot be decoded by hyparquet on Node 20 without an extra
 * codec, and contracts must not depend on a Parquet reader, so the rows are pinned here
 * and the file itself is pinned by its hash below.
 */
const row = (micros: bigint, delay: bigint, distance: bigint, origin: string, destination: string): FlightRow => ({
  date: new Date(Number(micros / 1000n)),
  delay,
  distance,
  origin,
  destination,
});
const FIRST_ROWS: readonly FlightRow[] = [
  row(978307260000000n, 33n, 2176n, 'LAS', 'PHL'),
  row(978307260000000n, 19n, 215n, 'ATL', 'SAV'),
  row(978307260000000n, 14n, 405n, 'MCI', 'MDW'),
  row(978307260000000n, -13n, 2345n, 'ANC', 'LAX'),
  row(978307260000000n, 1n, 75n, 'RIC', 'ORF'),
  row(978307260000000n, 18n, 406n, 'ATL', 'TPA'),
  row(978307320000000n, 22n, 1979n, 'DTW', 'LAX'),
  row(978307320000000n, 39n, 1750n, 'LAS', 'DTW'),
  row(978307380000000n, -20n, 1946n, 'LAX', 'ATL'),
  row(978307380000000n, 28n, 581n, 'ATL', 'FLL'),
];
const ROW_1_500_000 = row(986208780000000n, -10n, 166n, 'HPN', 'BOS');
const LAST_ROW = row(993945600000000n, 33n, 373n, 'ATL', 'CVG');

describe('the flights-3m.parquet file the fixture rows come from', () => {
  const bytes = readFileSync(PARQUET);

  it('is the file vega-datasets describes (git blob hash from its datapackage.json)', () => {
    const datapackage = JSON.parse(readFileSync(path.join(PACKAGE, 'datapackage.json'), 'utf8'));
    const resource = datapackage.resources.find((r: { path: string }) => r.path === 'flights-3m.parquet');
    const blob = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
    expect(resource.hash).toBe(`sha1:${blob}`);
    expect(resource.hash).toBe('sha1:9c4e0b480a1a60954a7e5c6bcc43e1c91a73caaa');
    expect(resource.schema.fields.map((f: { name: string }) => f.name)).toEqual([...FLIGHT_COLUMNS]);
  });

  it('names the columns in FLIGHT_COLUMNS order in its footer schema', () => {
    expect(bytes.subarray(bytes.length - 4).toString('latin1')).toBe('PAR1');
    const footerLength = bytes.readUInt32LE(bytes.length - 8);
    const footer = bytes.subarray(bytes.length - 8 - footerLength, bytes.length - 8);
    const positions = FLIGHT_COLUMNS.map((name) => footer.indexOf(name));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });
});

describe('flightEventFromRow', () => {
  it('maps the first row: 2001-01-01 00:01 LAS -> PHL, 33 min late, 2176 miles', () => {
    expect(flightEventFromRow(FIRST_ROWS[0])).toEqual({
      ts: Date.UTC(2001, 0, 1, 0, 1),
      delay: 33,
      distance: 2176,
      origin: 'LAS',
      destination: 'PHL',
    });
    expect(Date.UTC(2001, 0, 1, 0, 1)).toBe(978_307_260_000);
  });

  it('maps the first ten rows to valid events, keyed by origin, in file order', () => {
    const events = FIRST_ROWS.map(flightEventFromRow);
    for (const e of events) expect(flights.validate(e)).toEqual({ ok: true, value: e });
    expect(events.map(flights.key)).toEqual(['LAS', 'ATL', 'MCI', 'ANC', 'RIC', 'ATL', 'DTW', 'LAS', 'LAX', 'ATL']);
    expect(events.map((e) => new Date(flights.eventTime(e)).toISOString().slice(11, 16))).toEqual([
      '00:01', '00:01', '00:01', '00:01', '00:01', '00:01', '00:02', '00:02', '00:03', '00:03',
    ]);
    expect(events[3].delay).toBe(-13);
  });

  it('maps a middle and the last row', () => {
    expect(flightEventFromRow(ROW_1_500_000)).toEqual({
      ts: Date.parse('2001-04-02T10:53:00Z'), delay: -10, distance: 166, origin: 'HPN', destination: 'BOS',
    });
    expect(flightEventFromRow(LAST_ROW).ts).toBe(Date.parse('2001-07-01T00:00:00Z'));
  });

  it('reads raw TIMESTAMP(MICROS) values and wall-clock text the same way as a Date', () => {
    const expected = flightEventFromRow(FIRST_ROWS[0]);
    expect(flightEventFromRow({ ...FIRST_ROWS[0], date: 978307260000000n })).toEqual(expected);
    expect(flightEventFromRow({ ...FIRST_ROWS[0], date: '2001-01-01 00:01:00' })).toEqual(expected);
    expect(flightEventFromRow({ ...FIRST_ROWS[0], date: '2001/01/01 00:01' })).toEqual(expected);
    expect(flightEventFromRow({ ...FIRST_ROWS[0], delay: 33, distance: 2176 })).toEqual(expected);
  });

  it('throws a TypeError naming the column of an unconvertible value', () => {
    const bad = (patch: object) => () => flightEventFromRow({ ...FIRST_ROWS[0], ...patch } as FlightRow);
    expect(bad({ date: null })).toThrow(new TypeError('flights row: date null is not a timestamp'));
    expect(bad({ date: new Date(Number.NaN) })).toThrow(/date .* is not a timestamp/);
    expect(bad({ date: '2001-01-01T00:01:00Z' })).toThrow(/date "2001-01-01T00:01:00Z" is not a timestamp/);
    expect(bad({ delay: null })).toThrow('flights row: delay null is not an integer');
    expect(bad({ delay: 1.5 })).toThrow('flights row: delay 1.5 is not an integer');
    expect(bad({ distance: 2n ** 60n })).toThrow(`flights row: distance ${2n ** 60n}n is not an integer`);
    expect(bad({ origin: undefined })).toThrow('flights row: origin undefined is not a string');
    expect(bad({ destination: 7 })).toThrow('flights row: destination 7 is not a string');
  });
});

describe('the flights contract', () => {
  const valid = flightEventFromRow(FIRST_ROWS[0]);

  it('is topic tandem.flights.v1 with 4 partitions', () => {
    expect([flights.name, flights.topic, flights.deadLetterTopic, flights.partitions]).toEqual([
      'flights', 'tandem.flights.v1', 'tandem.flights.dlq', 4,
    ]);
  });

  it.each([
    ['a lower-case airport', { origin: 'las' }, '/origin'],
    ['a four-letter airport', { destination: 'KLAX' }, '/destination'],
    ['a fractional delay', { delay: 1.5 }, '/delay'],
    ['a delay over a week', { delay: 10_081 }, '/delay'],
    ['a zero distance', { distance: 0 }, '/distance'],
    ['a fractional ts', { ts: 0.5 }, '/ts'],
    ['an extra field', { carrier: 'AA' }, '/carrier'],
  ])('rejects %s, naming the field', (_what, patch, field) => {
    const result = flights.validate({ ...valid, ...patch });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.some((e) => e.startsWith(`${field}:`))).toBe(true);
  });

  it('accepts the extremes of the dataset (delay -1116 to 1688, distance 21 to 4962)', () => {
    for (const patch of [{ delay: -1116 }, { delay: 1688 }, { distance: 21 }, { distance: 4962 }]) {
      expect(flights.validate({ ...valid, ...patch }).ok).toBe(true);
    }
  });
});
