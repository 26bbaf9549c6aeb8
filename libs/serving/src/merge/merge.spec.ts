import { ImpossibleStateError } from '@tandem/platform';
import { catalog, flightsPerOriginHour, flightsPerRouteDay, requestsPerUrlMinute, type Json, aggregate } from '@tandem/transforms';
import { alignedRange, rankBy } from '../query-service';
import { aggregateField } from './aggregate-field';
import { parseBatchPointer } from './batch-pointer';
import { notesOf, provenanceOf, type LayerHead } from './provenance';
import { isSettled, settledChunks } from './settled-chunks';
import { checkSpeedRows, decodeStored, StateFold } from './state-fold';
import { resolveKey } from './view-key';
import { sampleFlights } from '../testing/sample-flights';

const HOUR = 3_600_000;
const pointerRow = (cut: unknown) => ({
  transform_version: 'v1-x',
  batch_version: 4,
  table_name: 'batch_flights_v4',
  topic: 'tandem.flights.v1',
  cut,
  run_id: 'r4',
  flipped_at: '2024-01-01T00:00:00.000+00:00',
});

describe('batch pointer', () => {
  it('parses a pointer with a chunk-aligned cut', () => {
    expect(parseBatchPointer('v', pointerRow({ '0': 2000, '3': 0 }), 1000)).toEqual({
      view: 'v',
      transformVersion: 'v1-x',
      batchVersion: 4,
      tableName: 'batch_flights_v4',
      topic: 'tandem.flights.v1',
      cut: { '0': 2000, '3': 0 },
      runId: 'r4',
      flippedAt: '2024-01-01T00:00:00.000Z',
    });
  });

  it.each([
    [{ '0': 1500 }, /not a multiple of the chunk size 1000/],
    [{ '0': -1000 }, /not an offset/],
    [{ x: 1000 }, /not a partition number/],
    [[1000], /not an object/],
  ])('refuses cut %p as an impossible state', (cut, message) => {
    expect(() => parseBatchPointer('v', pointerRow(cut), 1000)).toThrow(ImpossibleStateError);
    expect(() => parseBatchPointer('v', pointerRow(cut), 1000)).toThrow(message);
  });

  it('refuses a table name that is not an identifier', () => {
    expect(() => parseBatchPointer('v', { ...pointerRow({}), table_name: 'x; DROP TABLE y' }, 1000)).toThrow(/not an SQL identifier/);
  });
});

describe('provenance', () => {
  const head: LayerHead = {
    view: 'v',
    codeTransformVersion: 'v2-new',
    codeTopic: 'tandem.flights.v1',
    pointer: parseBatchPointer('v', pointerRow({ '0': 3000, '1': 1000 }), 1000),
    speedOffsets: [
      { topic: 'tandem.flights.v1', partition: 1, nextOffset: 1500, lastLogTime: 9_000 },
      { topic: 'tandem.flights.v1', partition: 0, nextOffset: 2500, lastLogTime: 8_000 },
    ],
    speedConsumer: 'tandem-speed',
  };

  it('carries batch version and cut, speed offsets, freshness and counts', () => {
    expect(provenanceOf(head, { batchRows: 3, speedRows: 2, batchEvents: 30, speedEvents: 5 }, 10_000)).toMatchObject({
      transformVersion: 'v1-x',
      codeTransformVersion: 'v2-new',
      batch: { version: 4, cut: [{ partition: 0, offset: 3000 }, { partition: 1, offset: 1000 }] },
      speed: { offsets: [{ partition: 0, offset: 2500 }, { partition: 1, offset: 1500 }], freshnessMs: 1_000, topic: 'tandem.flights.v1' },
      rows: { batch: 3, speed: 2 },
      events: { batch: 30, speed: 5 },
    });
  });

  it('notes a rollout and a batch cut ahead of the speed layer', () => {
    const notes = notesOf(head);
    expect(notes).toHaveLength(2);
    expect(notes[0]).toMatch(/serving transform version v1-x .* defines v2-new/);
    expect(notes[1]).toBe('batch cut is ahead of the speed layer on partition 0 (cut 3000, speed at 2500)');
    expect(notesOf({ ...head, pointer: null, speedOffsets: [] })).toEqual([
      'no batch version yet: the answer comes from the speed layer alone',
      'the speed layer (consumer tandem-speed) has recorded no progress on tandem.flights.v1',
    ]);
  });

  it('fails on realtime rows past the speed layer\'s recorded offsets', () => {
    const row = { partition: 1, chunk: 1, key: 'k', bucket: 0 };
    expect(() => checkSpeedRows(head, [row], 1000)).not.toThrow();
    expect(() => checkSpeedRows(head, [{ ...row, chunk: 2 }], 1000)).toThrow(/covers offsets from 2000, but the speed layer .* as 1500/);
  });
});

describe('settled chunks', () => {
  const head = (cut: Record<string, number> | null, next: Record<number, number>): LayerHead => ({
    view: 'v',
    codeTransformVersion: 'v1-x',
    codeTopic: 'tandem.flights.v1',
    pointer: cut === null ? null : parseBatchPointer('v', pointerRow(cut), 1000),
    speedOffsets: Object.entries(next).map(([partition, nextOffset]) => ({ topic: 'tandem.flights.v1', partition: Number(partition), nextOffset, lastLogTime: null })),
    speedConsumer: 'tandem-speed',
  });

  it('names the chunks the speed layer has wholly passed above the cut, per partition', () => {
    const settled = settledChunks(head({ '0': 3000, '1': 1000, '2': 5000 }, { 0: 5500, 1: 1999, 2: 9000, 3: 2000 }), 1000)!;
    // Partition 1 has no closed chunk above its cut; partition 3 has no cut (0).
    expect(settled.id).toBe('0:3000-5000,2:5000-9000,3:0-2000');
    expect(settled.openFrom).toEqual({ '0': 5000, '1': 1000, '2': 9000, '3': 2000 });
    expect(isSettled(settled, 0, 4, 1000)).toBe(true);
    expect(isSettled(settled, 0, 5, 1000)).toBe(false);
    expect(isSettled(settled, 1, 1, 1000)).toBe(false);
    expect(isSettled(settled, 3, 1, 1000)).toBe(true);
    expect(isSettled(settled, 4, 0, 1000)).toBe(false);
  });

  it('names nothing when no chunk above the cut is closed, and a new range when the speed layer or the cut moves', () => {
    expect(settledChunks(head({ '0': 3000 }, { 0: 3999 }), 1000)).toBeUndefined();
    expect(settledChunks(head({ '0': 3000 }, {}), 1000)).toBeUndefined();
    expect(settledChunks(head(null, { 0: 2500 }), 1000)?.id).toBe('0:0-2000');
    const ids = [settledChunks(head({ '0': 1000 }, { 0: 3500 }), 1000)!.id, settledChunks(head({ '0': 1000 }, { 0: 4000 }), 1000)!.id, settledChunks(head({ '0': 2000 }, { 0: 4000 }), 1000)!.id];
    expect(new Set(ids).size).toBe(3);
  });
});

describe('stored states', () => {
  const agg = flightsPerOriginHour.aggregator;
  const origin = { view: 'v', source: 'tandem_realtime', key: 'k', bucket: 0, events: 1 };
  it('decodes, and refuses rows that cannot be right', () => {
    const state = agg.encode(agg.zero());
    expect(decodeStored(agg.decode, state, origin, origin, 'hour')).toBeDefined();
    expect(() => decodeStored(agg.decode, state, { ...origin, bucket: 5 }, origin, 'hour')).toThrow(/not the start of a hour bucket/);
    expect(() => decodeStored(agg.decode, state, { ...origin, events: -1 }, origin, 'hour')).toThrow(/not a count/);
    expect(() => decodeStored(agg.decode, { flights: 'x' } as Json, origin, origin, 'hour')).toThrow(ImpossibleStateError);
    expect(() => decodeStored(agg.decode, { flights: 'x' } as Json, origin, origin, 'hour')).toThrow(/^view "v", tandem_realtime, key "k", bucket 0: state cannot be decoded/);
    expect(() => decodeStored(agg.decode, null, origin, origin, 'hour')).toThrow(/holds no state/);
  });

  it('folds without mutating the states added', () => {
    const count = aggregateField(flightsPerOriginHour, 'flights')!;
    const cached = new StateFold<string>(count.zero, count.plusInto);
    cached.add('a', 2);
    const fold = new StateFold<string>(count.zero, count.plusInto);
    fold.addAll(cached);
    fold.addAll(cached);
    expect(fold.states.get('a')).toBe(4);
    expect(cached.states.get('a')).toBe(2);
  });
});

describe('aggregate fields', () => {
  it('decode, merge and present each aggregate exactly as the record aggregator does', () => {
    const events = sampleFlights({ events: 400, seed: 3 }).map((e) => e.event);
    for (const view of catalog.filter((v) => v.stream.name === 'flights')) {
      const halves = [events.slice(0, 150), events.slice(150)].map((part) => view.aggregator.encode(aggregate(view.aggregator, part)) as Record<string, Json>);
      const whole = view.aggregator.present(aggregate(view.aggregator, events)) as Record<string, unknown>;
      for (const a of view.aggregates) {
        const field = aggregateField(view, a.name)!;
        let acc = field.zero();
        for (const h of halves) acc = field.plusInto(acc, field.decode(h[a.name]));
        expect({ view: view.name, name: a.name, value: field.present(acc) }).toEqual({ view: view.name, name: a.name, value: whole[a.name] });
      }
    }
    expect(aggregateField(requestsPerUrlMinute, 'p95_bytes')).toMatchObject({ kind: 'quantile', numeric: true });
    expect(aggregateField(requestsPerUrlMinute, 'nope')).toBeUndefined();
  });
});

describe('keys', () => {
  it('resolves a key from text, values or a dimension map', () => {
    expect(resolveKey(flightsPerOriginHour, 'SFO')).toEqual({ encoded: 'SFO', dimensions: { origin: 'SFO' } });
    const route = { encoded: '["SFO","LAX"]', dimensions: { origin: 'SFO', destination: 'LAX' } };
    expect(resolveKey(flightsPerRouteDay, '["SFO","LAX"]')).toEqual(route);
    expect(resolveKey(flightsPerRouteDay, ['SFO', 'LAX'])).toEqual(route);
    expect(resolveKey(flightsPerRouteDay, { destination: 'LAX', origin: 'SFO' })).toEqual(route);
  });

  it.each([['SFO'], ['["SFO"]'], ['[1,'], [{ origin: 'SFO' }], [{ origin: 'SFO', destination: 'LAX', gate: '1' }]])('rejects %p for a two-dimension view', (key) => {
    expect(() => resolveKey(flightsPerRouteDay, key as never)).toThrow(expect.objectContaining({ parameter: 'key' }));
  });

  it('rejects NUL and oversized keys', () => {
    expect(() => resolveKey(flightsPerOriginHour, 'A\u0000')).toThrow(/NUL/);
    expect(() => resolveKey(flightsPerOriginHour, 'x'.repeat(2000))).toThrow(/longer than 1024/);
  });
});

describe('ranges and ranking', () => {
  it('rounds both ends up to the answer granularity', () => {
    expect(alignedRange(0, HOUR, 'hour')).toEqual([0, HOUR]);
    expect(alignedRange(1, HOUR + 1, 'hour')).toEqual([HOUR, 2 * HOUR]);
    expect(alignedRange(HOUR, 25 * HOUR, 'day')).toEqual([24 * HOUR, 48 * HOUR]);
  });

  it('ranks by value, nulls last, ties by key', () => {
    const rows = [
      { key: 'b', value: 2 },
      { key: 'a', value: 2 },
      { key: 'n', value: null },
      { key: 'c', value: 5 },
    ];
    expect([...rows].sort(rankBy('desc')).map((r) => r.key)).toEqual(['c', 'a', 'b', 'n']);
    expect([...rows].sort(rankBy('asc')).map((r) => r.key)).toEqual(['a', 'b', 'c', 'n']);
  });
});

