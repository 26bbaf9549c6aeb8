import fc from 'fast-check';
import { type AggregateRecord, count, countedAggregator, distinct, max, mean, min, quantile, quantiles, record, sum, topK } from '../index';
import { checkAggregatorLaws } from '../testing';

// Integer inputs: sums of integers are exact in doubles, so laws can be checked with `===`
// (views keep integer measures for the same reason).
const int = fc.integer({ min: -1_000_000, max: 1_000_000 });
const maybeInt = fc.option(int, { nil: null });
const id = (x: number) => x;
const nid = (x: number | null) => x;

describe('built-in aggregators', () => {
  checkAggregatorLaws('count', count<number>(), int);
  checkAggregatorLaws('sum', sum(id), int);
  checkAggregatorLaws('sum (with missing values)', sum(nid), maybeInt);
  checkAggregatorLaws('min', min(nid), maybeInt);
  checkAggregatorLaws('max', max(nid), maybeInt);
  checkAggregatorLaws('mean', mean(nid), maybeInt);
  checkAggregatorLaws('distinct', distinct((x: string) => x, { precision: 8 }), fc.string({ maxLength: 6 }));
  checkAggregatorLaws('distinct (dense registers)', distinct((x: number) => x, { precision: 4 }), fc.nat(), { maxLength: 200 });
  checkAggregatorLaws('quantile', quantile(id, 0.95), int);
  checkAggregatorLaws('quantiles', quantiles(id, [0.5, 0.99], { relativeAccuracy: 0.02 }), fc.integer({ min: -500, max: 100_000 }));
  // Exact while a cell holds no more than `capacity` distinct keys (see top-k.ts).
  checkAggregatorLaws('topK (within capacity)', topK((x: string) => x, { k: 3, capacity: 8 }), fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'));
  checkAggregatorLaws(
    'record',
    record<number, AggregateRecord<number>>({ n: count<number>(), s: sum(id), lo: min(id), d: distinct(id, { precision: 6 }) }),
    int,
  );
  // The product with an event count both layers store per cell.
  checkAggregatorLaws('counted(record)', countedAggregator(record<number, AggregateRecord<number>>({ s: sum(id), q: quantile(id, 0.5) })), int);
});

describe('presented values', () => {
  it('computes exact numeric aggregates', () => {
    const xs = [3, -1, 10, 4];
    const fold = <S, O>(a: { zero: () => S; add: (s: S, x: number) => S; present: (s: S) => O }) => a.present(xs.reduce(a.add, a.zero()));
    expect(fold(count())).toBe(4);
    expect(fold(sum(id))).toBe(16);
    expect(fold(min(id))).toBe(-1);
    expect(fold(max(id))).toBe(10);
    expect(fold(mean(id))).toBe(4);
  });

  it('presents empty extremes and means as null', () => {
    expect(min(id).present(min(id).zero())).toBeNull();
    expect(mean(id).present(mean(id).zero())).toBeNull();
    expect(quantile(id, 0.5).present(quantile(id, 0.5).zero())).toBeNull();
  });

  it('ranks heavy hitters and bounds their error beyond capacity', () => {
    const agg = topK((x: string) => x, { k: 2, capacity: 4 });
    const items: string[] = [];
    for (let i = 0; i < 500; i++) items.push('hot');
    for (let i = 0; i < 300; i++) items.push('warm');
    for (let i = 0; i < 400; i++) items.push(`cold-${i}`);
    // Shuffle deterministically and split across three partial summaries.
    const shuffled = items.map((x, i) => [x, (i * 7919) % 1201] as const).sort((a, b) => a[1] - b[1]).map(([x]) => x);
    const parts = [0, 1, 2].map((p) => shuffled.filter((_, i) => i % 3 === p).reduce(agg.add, agg.zero()));
    const value = agg.present(parts.reduce((a, b) => agg.plus(a, b), agg.zero()));
    expect(value.items.map((e) => e.key)).toEqual(['hot', 'warm']);
    for (const [key, truth] of [['hot', 500], ['warm', 300]] as const) {
      const got = value.items.find((e) => e.key === key)!.count;
      expect(got).toBeLessThanOrEqual(truth);
      expect(truth - got).toBeLessThanOrEqual(Math.floor(items.length / 5));
    }
  });

  it('rejects bad options and corrupt states with clear errors', () => {
    expect(() => distinct((x: string) => x, { precision: 20 })).toThrow(/precision must be an integer in 4..16/);
    expect(() => quantile(id, 1.5)).toThrow(/q must be in \[0, 1\]/);
    expect(() => topK((x: string) => x, { k: 5, capacity: 2 })).toThrow(/capacity must be an integer >= k/);
    expect(() => sum(id).decode('12')).toThrow(/expected a finite number/);
    expect(() => distinct((x: string) => x).decode({ p: 12 })).toThrow(/neither sparse/);
    expect(() => distinct((x: string) => x, { precision: 10 }).plus(distinct((x: string) => x, { precision: 10 }).zero(), distinct((x: string) => x, { precision: 11 }).zero())).toThrow(/cannot merge precision/);
  });
});
