import { aggregator, type Aggregator, type Json, StateDecodeError } from '../algebra/aggregator';
import type { NumberOf } from './numeric';

/**
 * Quantiles with DDSketch (Masson, Rim and Lee, "DDSketch: a fast and fully-mergeable
 * quantile sketch with relative-error guarantees", VLDB 2019): values are counted in
 * logarithmic buckets of ratio gamma = (1 + alpha) / (1 - alpha), so every quantile is within
 * relative error alpha, and merging is adding bucket counts — a merged sketch equals the
 * sketch of the union, exactly.
 *
 * The mapping and the quantile walk are those of DDSketch's reference implementations
 * (`@datadog/sketches-js`'s LogarithmicMapping and DenseStore.keyAtRank; a test checks that
 * both answer the same). The state is our own, because that package's state does not
 * round-trip (its protobuf codec drops min/max), its `merge` drops negative values once the
 * target is non-empty (2.1.1), and its dense stores cost ~1 KiB and microseconds per new
 * sketch — the speed layer creates one per cell. Here the buckets are a sparse Map.
 */
export interface QuantilesOptions {
  /** Relative accuracy alpha in (0, 1); default 0.01. */
  readonly relativeAccuracy?: number;
}

export interface QuantileState {
  /** Counts of positive values by bucket key. */
  readonly positive: Map<number, number>;
  /** Counts of negative values by the bucket key of their absolute value. */
  readonly negative: Map<number, number>;
  zeroCount: number;
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** Smallest magnitude that gets its own bucket; below it a value counts as zero (as in the reference). */
const MIN_INDEXABLE = 1e-300;

export interface LogarithmicMapping {
  readonly gamma: number;
  key(value: number): number;
  value(key: number): number;
}

export function logarithmicMapping(relativeAccuracy: number): LogarithmicMapping {
  const gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
  const multiplier = 1 / Math.log(gamma);
  const scale = 2 / (1 + gamma);
  return {
    gamma,
    key: (value) => Math.ceil(Math.log(value) * multiplier),
    value: (key) => Math.pow(gamma, key) * scale,
  };
}

const emptySketch = (): QuantileState => ({
  positive: new Map(),
  negative: new Map(),
  zeroCount: 0,
  count: 0,
  sum: 0,
  min: Infinity,
  max: -Infinity,
});

const mergeBins = (into: Map<number, number>, from: Map<number, number>) => {
  for (const [k, c] of from) into.set(k, (into.get(k) ?? 0) + c);
};

/** The key at `rank` walking bins in ascending key order (DenseStore.keyAtRank). */
function keyAtRank(bins: Map<number, number>, rank: number, lower: boolean): number {
  const keys = [...bins.keys()].sort((a, b) => a - b);
  let running = 0;
  for (const k of keys) {
    running += bins.get(k)!;
    if ((lower && running > rank) || (!lower && running >= rank + 1)) return k;
  }
  return keys[keys.length - 1];
}

const storeCount = (bins: Map<number, number>) => {
  let n = 0;
  for (const c of bins.values()) n += c;
  return n;
};

/** The value at quantile q, as DDSketch's getValueAtQuantile; null for an empty sketch. */
export function sketchQuantile(s: QuantileState, q: number, mapping: LogarithmicMapping): number | null {
  if (s.count === 0) return null;
  const rank = q * (s.count - 1);
  const negatives = storeCount(s.negative);
  if (rank < negatives) return -mapping.value(keyAtRank(s.negative, negatives - rank - 1, false));
  if (rank < s.zeroCount + negatives) return 0;
  return mapping.value(keyAtRank(s.positive, rank - s.zeroCount - negatives, true));
}

function encodeBins(bins: Map<number, number>): [number[], number[]] {
  const keys = [...bins.keys()].sort((a, b) => a - b);
  return [keys, keys.map((k) => bins.get(k)!)];
}

function sketchAggregator<E, O>(
  kind: string,
  of: NumberOf<E>,
  options: QuantilesOptions,
  extraParams: { readonly [key: string]: Json },
  present: (s: QuantileState, mapping: LogarithmicMapping) => O,
): Aggregator<E, QuantileState, O> {
  const relativeAccuracy = options.relativeAccuracy ?? 0.01;
  if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) {
    throw new RangeError(`${kind}: relativeAccuracy must be in (0, 1), got ${relativeAccuracy}`);
  }
  const mapping = logarithmicMapping(relativeAccuracy);
  const add = (acc: QuantileState, e: E) => {
    const v = of(e);
    if (typeof v !== 'number' || !Number.isFinite(v)) return acc;
    if (v > MIN_INDEXABLE) {
      const k = mapping.key(v);
      acc.positive.set(k, (acc.positive.get(k) ?? 0) + 1);
    } else if (v < -MIN_INDEXABLE) {
      const k = mapping.key(-v);
      acc.negative.set(k, (acc.negative.get(k) ?? 0) + 1);
    } else {
      acc.zeroCount += 1;
    }
    acc.count += 1;
    acc.sum += v;
    if (v < acc.min) acc.min = v;
    if (v > acc.max) acc.max = v;
    return acc;
  };
  const plusInto = (acc: QuantileState, b: QuantileState) => {
    mergeBins(acc.positive, b.positive);
    mergeBins(acc.negative, b.negative);
    acc.zeroCount += b.zeroCount;
    acc.count += b.count;
    acc.sum += b.sum;
    if (b.min < acc.min) acc.min = b.min;
    if (b.max > acc.max) acc.max = b.max;
    return acc;
  };
  return aggregator<E, QuantileState, O>({
    kind,
    params: { relativeAccuracy, ...extraParams },
    zero: emptySketch,
    lift: (e) => add(emptySketch(), e),
    plus: (a, b) => plusInto(plusInto(emptySketch(), a), b),
    add,
    plusInto,
    present: (s) => present(s, mapping),
    encode: (s) => {
      const [k, c] = encodeBins(s.positive);
      const [nk, nc] = encodeBins(s.negative);
      return { a: relativeAccuracy, n: s.count, z: s.zeroCount, sum: s.sum, lo: s.count === 0 ? null : s.min, hi: s.count === 0 ? null : s.max, k, c, nk, nc };
    },
    decode: (j) => {
      const o = j as { readonly [key: string]: Json };
      if (o === null || typeof o !== 'object' || Array.isArray(o) || o['a'] !== relativeAccuracy) {
        throw new StateDecodeError(`${kind}: expected a sketch with relativeAccuracy ${relativeAccuracy}, got ${JSON.stringify(j)?.slice(0, 120)}`);
      }
      const s = emptySketch();
      const load = (bins: Map<number, number>, keys: Json, counts: Json) => {
        if (!Array.isArray(keys) || !Array.isArray(counts) || keys.length !== counts.length) {
          throw new StateDecodeError(`${kind}: bins are not parallel key/count arrays`);
        }
        for (let i = 0; i < keys.length; i++) bins.set(keys[i] as number, counts[i] as number);
      };
      load(s.positive, o['k'], o['c']);
      load(s.negative, o['nk'], o['nc']);
      s.zeroCount = Number(o['z']);
      s.count = Number(o['n']);
      s.sum = Number(o['sum']);
      s.min = o['lo'] === null ? Infinity : Number(o['lo']);
      s.max = o['hi'] === null ? -Infinity : Number(o['hi']);
      return s;
    },
  });
}

/** One quantile `q` of a numeric field, e.g. `quantile(e => e.bytes, 0.95)`. */
export function quantile<E>(of: NumberOf<E>, q: number, options: QuantilesOptions = {}): Aggregator<E, QuantileState, number | null> {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  return sketchAggregator<E, number | null>('quantile', of, options, { q }, (s, m) => sketchQuantile(s, q, m));
}

/** Several quantiles at once, presented as `{ p50: ..., p95: ... }`. */
export function quantiles<E>(
  of: NumberOf<E>,
  qs: readonly number[],
  options: QuantilesOptions = {},
): Aggregator<E, QuantileState, { readonly [name: string]: number | null }> {
  for (const q of qs) if (!(q >= 0 && q <= 1)) throw new RangeError(`quantiles: every q must be in [0, 1], got ${q}`);
  const names = qs.map((q) => `p${+(q * 100).toFixed(3)}`);
  return sketchAggregator('quantiles', of, options, { qs: [...qs] }, (s, m) => Object.fromEntries(qs.map((q, i) => [names[i], sketchQuantile(s, q, m)])));
}
