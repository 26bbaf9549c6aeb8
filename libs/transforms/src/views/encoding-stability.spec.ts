/**
 * Stored states must not change with the evaluator's implementation: batch and speed write
 * `JSON.stringify(encode(state))` to PostgreSQL and serving reads it back, so the same
 * events must give the same text, byte for byte. Checked three ways: digests of every cell
 * of real flights computed before the evaluator was tuned; a plain reference implementation
 * (fixtures/reference-aggregators.ts) over the same flights; and random inputs and splits.
 */
import { flights, type FlightEvent } from '@tandem/contracts';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { aggregator, type Aggregator, type Json } from '../algebra/aggregator';
import { JsonWriter } from '../algebra/json-text';
import { flightsPerOriginHour, flightsPerRouteDay } from '../catalog';
import { count, distinct, max, mean, min, quantile, quantiles, sum, topK } from '../index-aggregators';
import { countedAggregator, countedView } from './counted';
import { type AnyView, defineView } from './define-view';
import { cellId, ViewAccumulator } from './evaluate';
import { bucketOf } from './granularity';
import { flightsSample } from './fixtures/flights-sample';
import { type AggregateRecord, record } from './record';
import {
  referenceCount,
  referenceCountedRecord,
  referenceDistinct,
  referenceExtremum,
  referenceMean,
  referenceSketch,
  referenceSum,
} from './fixtures/reference-aggregators';

const events = flightsSample();

/** Per-origin-day sketches: big cells, dense HyperLogLog registers, several quantiles, top-k. */
const sketchesPerOriginDay = defineView(flights, {
  name: 'flight_sketches_per_origin_day',
  version: 1,
  key: { origin: (e) => e.origin },
  granularity: 'day',
  aggregates: {
    flights: count(),
    delay_quantiles: quantiles((e) => e.delay, [0.5, 0.95, 0.99], { relativeAccuracy: 0.02 }),
    distance_p50: quantile((e) => e.distance, 0.5),
    destinations_coarse: distinct((e) => e.destination, { precision: 6 }),
    destinations: distinct((e) => e.destination, { precision: 10 }),
    routes: distinct((e) => `${e.origin}-${e.destination}`, { precision: 8 }),
    top_destinations: topK((e) => e.destination, { k: 5, capacity: 512 }),
    delay_sum: sum((e) => e.delay),
    distance_min: min((e) => e.distance),
    distance_max: max((e) => e.distance),
    distance_mean: mean((e) => e.distance),
  },
});

/** The same aggregates, written plainly (no top-k: its code is not tuned). */
const referenceOf: { readonly [view: string]: AggregateRecord<FlightEvent> } = {
  flights_per_origin_hour: {
    flights: referenceCount(),
    delay_mean: referenceMean((e) => e.delay),
    delay_min: referenceExtremum('min', (e) => e.delay),
    delay_max: referenceExtremum('max', (e) => e.delay),
    delay_p95: referenceSketch('quantile', (e) => e.delay, 0.01, { q: 0.95 }),
    destinations: referenceDistinct((e) => e.destination, 10),
  },
  flights_per_route_day: {
    flights: referenceCount(),
    delay_mean: referenceMean((e) => e.delay),
    distance: referenceSum((e) => e.distance),
  },
};

/** Every cell of a view over events, as sorted `bucket key state` lines, states as the tables store them. */
function encodedCells(view: AnyView, evts: readonly FlightEvent[]): string[] {
  const counted = countedView(view);
  const acc = new ViewAccumulator(counted);
  for (const e of evts) acc.add(e);
  return [...acc.cells()].map((c) => `${c.bucket}\t${c.key}\t${textOf(counted.aggregator, c.state)}`).sort();
}

/** The stored text of a state: `JSON.stringify(encode(s))`, checked against `encodeText(s)`. */
function textOf<S>(agg: Aggregator<never, S, unknown>, state: S): string {
  const text = JSON.stringify(agg.encode(state));
  if (agg.encodeText(state) !== text) throw new Error(`encodeText differs from JSON.stringify(encode): ${agg.encodeText(state)} vs ${text}`);
  return text;
}

const digest = (lines: readonly string[]) => createHash('sha256').update(lines.join('\n')).digest('hex');

describe('stored states of real flights', () => {
  // sha256 of the sorted cell lines, computed with the evaluator of commit 1c2a146.
  const before: { readonly [view: string]: { readonly cells: number; readonly sha256: string } } = {
    flights_per_origin_hour: { cells: 1776, sha256: '9f804bacba382173f0d1710d5b75a502ec6fc83b2bd75b1ec293611543e08cd1' },
    flights_per_route_day: { cells: 3426, sha256: '9b22bf7b8c7b57f993f0a72adf1f761627f733980ed6d1bc52b983b6e57853d7' },
    flight_sketches_per_origin_day: { cells: 359, sha256: '028fe79ee32f9bbdd092820bf8432471007418db6e0e2ac0381d9da2a6089471' },
  };

  for (const view of [flightsPerOriginHour, flightsPerRouteDay, sketchesPerOriginDay] as AnyView[]) {
    it(`encodes every cell of ${view.name} as before`, () => {
      const lines = encodedCells(view, events);
      expect({ cells: lines.length, sha256: digest(lines) }).toEqual(before[view.name]);
    });
  }
});

describe('the flight views against the plain reference implementation', () => {
  for (const view of [flightsPerOriginHour, flightsPerRouteDay] as AnyView[]) {
    it(`gives ${view.name} the reference's cells and state text`, () => {
      const ref = referenceCountedRecord(referenceOf[view.name]);
      const expected = new Map<string, { readonly [name: string]: unknown }>();
      for (const e of events) {
        const id = cellId(view.keyOf(e), bucketOf(flights.eventTime(e), view.granularity));
        expected.set(id, ref.plus(expected.get(id) ?? ref.zero(), ref.lift(e)));
      }
      const counted = countedView(view);
      const acc = new ViewAccumulator(counted);
      for (const e of events) acc.add(e);
      expect(acc.size).toBe(expected.size);
      for (const c of acc.cells()) {
        const id = cellId(c.key, c.bucket);
        expect({ id, text: textOf(counted.aggregator, c.state) }).toEqual({ id, text: JSON.stringify(ref.encode(expected.get(id)!)) });
      }
    });
  }

  it('covers sparse and dense registers, negative and zero delays in the fixture', () => {
    const lines = encodedCells(sketchesPerOriginDay, events).join('\n');
    expect(lines).toMatch(/"d":"/);
    expect(lines).toMatch(/"s":"/);
    expect(lines).toMatch(/"nk":\[-?\d/);
    expect(lines).toMatch(/"z":[1-9]/);
  });

  it('gives the same text when shards are folded apart and merged', () => {
    for (const view of [flightsPerOriginHour, sketchesPerOriginDay] as AnyView[]) {
      const counted = countedView(view);
      const merged = new ViewAccumulator(counted);
      for (let shard = 0; shard < 3; shard++) {
        const part = new ViewAccumulator(counted);
        events.forEach((e, i) => i % 3 === shard && part.add(e));
        for (const c of part.cells()) merged.merge(c.key, c.bucket, c.state);
      }
      const lines = [...merged.cells()].map((c) => `${c.bucket}\t${c.key}\t${textOf(counted.aggregator, c.state)}`).sort();
      expect(lines).toEqual(encodedCells(view, events));
    }
  });
});

describe('random inputs against the plain reference implementation', () => {
  interface Input {
    readonly v: number | null;
    readonly s: string | number | null;
  }
  // Sums stay finite (an infinite sum encodes as null, which no layer stores).
  const number = fc.oneof(
    fc.integer({ min: -60, max: 400 }),
    fc.integer({ min: -10_080, max: 10_080 }),
    fc.double({ min: -1e12, max: 1e12 }),
    fc.constantFrom(0, -0, 1e-301, -1e-301, 5e-324, 1e300, -1e300, NaN),
    fc.constant(null),
  );
  const value = fc.oneof(fc.constantFrom('ATL', 'ORD', 'DFW', 'LAX', 'ANC', ''), fc.string({ maxLength: 12 }), fc.integer({ min: -5, max: 5 }), fc.constant(null));
  const inputs = fc.array(fc.record({ v: number, s: value }), { maxLength: 300 });
  // Sketches ignore values that are not finite.
  const sketchInputs = fc.array(fc.record({ v: fc.oneof(number, fc.constantFrom(Infinity, -Infinity)), s: value }), { maxLength: 300 });
  const parts = fc.array(fc.nat({ max: 3 }), { maxLength: 300 });

  /** Folds `xs` split by `slots` with `add`, merges the parts with `plusInto`; the reference likewise with `plus`. */
  function check<S, R>(tuned: Aggregator<Input, S, unknown>, ref: Aggregator<Input, R, unknown>, xs: readonly Input[], slots: readonly number[]) {
    const tunedParts = [0, 1, 2, 3].map(() => tuned.zero());
    const refParts = [0, 1, 2, 3].map(() => ref.zero());
    xs.forEach((x, i) => {
      const p = slots[i] ?? 0;
      tunedParts[p] = tuned.add(tunedParts[p], x);
      refParts[p] = ref.plus(refParts[p], ref.lift(x));
    });
    let whole = tuned.zero();
    let refWhole = ref.zero();
    for (let p = 0; p < 4; p++) {
      expect(textOf(tuned, tunedParts[p])).toBe(JSON.stringify(ref.encode(refParts[p])));
      whole = tuned.plusInto(whole, tunedParts[p]);
      refWhole = ref.plus(refWhole, refParts[p]);
    }
    const text = JSON.stringify(ref.encode(refWhole));
    expect(textOf(tuned, whole)).toBe(text);
    // What the reference stored decodes to a state that encodes to the same text, and merges like it.
    const decoded = tuned.decode(JSON.parse(text) as Json);
    expect(textOf(tuned, decoded)).toBe(text);
    expect(textOf(tuned, tuned.plus(decoded, tunedParts[0]))).toBe(JSON.stringify(ref.encode(ref.plus(refWhole, refParts[0]))));
  }

  it('quantile sketches', () => {
    fc.assert(
      fc.property(sketchInputs, parts, fc.constantFrom(0.001, 0.01, 0.02, 0.05, 0.3), (xs, slots, a) => {
        check(quantile((x: Input) => x.v, 0.95, { relativeAccuracy: a }), referenceSketch('quantile', (x: Input) => x.v, a, { q: 0.95 }), xs, slots);
      }),
      { numRuns: 300 },
    );
  });

  it('HyperLogLog registers', () => {
    fc.assert(
      fc.property(inputs, parts, fc.integer({ min: 4, max: 16 }), (xs, slots, p) => {
        check(distinct((x: Input) => x.s, { precision: p }), referenceDistinct((x: Input) => x.s, p), xs, slots);
        check(distinct((x: Input) => x.v, { precision: p }), referenceDistinct((x: Input) => x.v, p), xs, slots);
      }),
      { numRuns: 300 },
    );
  });

  it('exact aggregates', () => {
    fc.assert(
      fc.property(inputs, parts, (xs, slots) => {
        const of = (x: Input) => x.v;
        check(count<Input>(), referenceCount<Input>(), xs, slots);
        check(sum(of), referenceSum(of), xs, slots);
        check(min(of), referenceExtremum('min', of), xs, slots);
        check(max(of), referenceExtremum('max', of), xs, slots);
        check(mean(of), referenceMean(of), xs, slots);
      }),
      { numRuns: 200 },
    );
  });
});

describe('encodeText', () => {
  it('writes numbers as JSON.stringify does', () => {
    const edges = [0, -0, 1, -1, 9, 10, 99, 100, -10, 0.1, 1 / 3, 1e21, 1e-7, 5e-324, -1.5e300, Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity];
    const int32 = [2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 123456789, -987654321];
    for (const n of [...edges, ...int32]) {
      expect(sum((x: number) => x).encodeText(n)).toBe(JSON.stringify(n));
      expect(mean((x: number) => x).encodeText({ sum: n, count: 2 })).toBe(JSON.stringify([n, 2]));
    }
  });

  it('writes registers in base64 as Buffer does, dense ones of the largest precision too', () => {
    const writer = new JsonWriter();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        writer.start();
        writer.base64(bytes, 0, bytes.length);
        expect(writer.text()).toBe(Buffer.from(bytes).toString('base64'));
        writer.finish();
      }),
    );
    const agg = distinct((x: number) => x, { precision: 16 });
    let state = agg.zero();
    for (let i = 0; i < 60_000; i++) state = agg.add(state, i);
    const text = agg.encodeText(state);
    expect(text.length).toBeGreaterThan(80_000);
    expect(text).toBe(JSON.stringify(agg.encode(state)));
  });

  it('falls back to JSON.stringify for text outside ASCII', () => {
    const top = topK((x: string) => x, { k: 3 });
    const state = ['Zürich', 'Zürich', '東京', 'a"b\\c', '\u2028'].reduce(top.add, top.zero());
    expect(top.encodeText(state)).toBe(JSON.stringify(top.encode(state)));
    const agg = countedAggregator(record<string, AggregateRecord<string>>({ 'größe': count(), top }));
    const s = agg.add(agg.zero(), 'ß');
    expect(agg.encodeText(s)).toBe(JSON.stringify(agg.encode(s)));
    // The next text starts clean.
    expect(count().encodeText(3)).toBe('3');
  });

  it('writes the right text when an encoding encodes text itself, or fails halfway', () => {
    const inner = quantile((x: number) => x, 0.5);
    const nested = aggregator<number, number[], number>({
      kind: 'nested',
      zero: () => [],
      lift: (x) => [x],
      plus: (a, b) => [...a, ...b],
      present: (s) => s.length,
      encode: (s) => JSON.parse(inner.encodeText(s.reduce(inner.add, inner.zero()))) as Json,
      decode: () => [],
    });
    const agg = countedAggregator(record<number, AggregateRecord<number>>({ a: count(), b: nested }));
    const state = [3, 1, 2].reduce(agg.add, agg.zero());
    expect(agg.encodeText(state)).toBe(JSON.stringify(agg.encode(state)));
    const broken = sum((x: number) => x);
    expect(() => broken.encodeText(10n as unknown as number)).toThrow(/BigInt/);
    expect(agg.encodeText(state)).toBe(JSON.stringify(agg.encode(state)));
  });

  it('writes record properties in the order JSON.stringify does, integer-like names first', () => {
    const agg = record<number, AggregateRecord<number>>({ b: count(), '10': sum((x) => x), '2': min((x) => x), a: quantile((x) => x, 0.5), ['__proto__']: max((x) => x) });
    const state = [5, -3, 12, 7].reduce(agg.add, agg.zero());
    const text = JSON.stringify(agg.encode(state));
    expect(text).toMatch(/^{"2":-3,"10":21,"__proto__":12,"a":{/);
    expect(agg.encodeText(state)).toBe(text);
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['2', '10', '__proto__', 'a', 'b']);
  });

  it('leaves out a field without a JSON form, as JSON.stringify does', () => {
    const opaque = aggregator<number, number, number>({ kind: 'opaque', zero: () => 0, lift: () => 1, plus: (a, b) => a + b, present: (s) => s, encode: () => undefined as unknown as Json, decode: () => 0 });
    const agg = countedAggregator(record<number, AggregateRecord<number>>({ x: opaque, y: count() }));
    const state = agg.add(agg.zero(), 1);
    expect(agg.encodeText(state)).toBe(JSON.stringify(agg.encode(state)));
    const alone = countedAggregator(opaque);
    expect(alone.encodeText(alone.lift(1))).toBe(JSON.stringify(alone.encode(alone.lift(1))));
  });
});
