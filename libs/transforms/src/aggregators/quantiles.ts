import { aggregator, type Aggregator, type Json, StateDecodeError } from '../algebra/aggregator';
import { type JsonWriter, numberText } from '../algebra/json-text';
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
 * sketch — the speed layer creates one per cell. Here the buckets are sparse `Bins`: one
 * array of key, count, key, count, ... in ascending key order, found by binary search and
 * already in the order the encoding and the quantile walk read them. A cell holds a handful
 * of buckets, and every cell's state lives until the cells are written, so its size is what
 * the garbage collector copies: one small array per sign, none while a sign has no value.
 */
export interface QuantilesOptions {
  /** Relative accuracy alpha in (0, 1); default 0.01. */
  readonly relativeAccuracy?: number;
}

/** Bucket counts: `[key0, count0, key1, count1, ...]`, keys ascending and distinct. */
export type Bins = number[];

export interface QuantileState {
  /** Counts of positive values by bucket key. */
  positive: Bins;
  /** Counts of negative values by the bucket key of their absolute value. */
  negative: Bins;
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

/**
 * The bins of every sign no value has reached yet, shared by all states: never written to,
 * since adding to empty bins makes a new array (`addToBins`, `mergeBins`).
 */
const NO_BINS: Bins = [];

const emptySketch = (): QuantileState => ({
  positive: NO_BINS,
  negative: NO_BINS,
  zeroCount: 0,
  count: 0,
  sum: 0,
  min: Infinity,
  max: -Infinity,
});

/** Adds `count` to bucket `key`; returns the bins (new ones when `bins` was empty or small). */
function addToBins(bins: Bins, key: number, count: number): Bins {
  const n = bins.length;
  if (n === 0) return [key, count];
  // First pair whose key is >= `key`, by pair index.
  let lo = 0;
  let hi = n >>> 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bins[2 * mid] < key) lo = mid + 1;
    else hi = mid;
  }
  const at = 2 * lo;
  if (at < n && bins[at] === key) {
    bins[at + 1] += count;
    return bins;
  }
  return insertAt(bins, at, key, count);
}

/**
 * `bins` with `a, b` inserted at `at`. Small arrays are copied at their exact new size: an
 * array grown by push keeps room for 16 more elements, which would double a cell's state.
 */
function insertAt(bins: number[], at: number, a: number, b: number): number[] {
  const n = bins.length;
  if (n >= EXACT_UP_TO) {
    bins.push(0, 0);
    for (let j = n - 1; j >= at; j--) bins[j + 2] = bins[j];
    bins[at] = a;
    bins[at + 1] = b;
    return bins;
  }
  const grown: number[] = new Array(n + 2);
  for (let j = 0; j < at; j++) grown[j] = bins[j];
  grown[at] = a;
  grown[at + 1] = b;
  for (let j = at; j < n; j++) grown[j + 2] = bins[j];
  return grown;
}

/** Arrays shorter than this grow by exact copies (see insertAt). */
const EXACT_UP_TO = 32;

/** `into` plus every bucket of `from`: one by one when few, else one merge of the two key orders. */
function mergeBins(into: Bins, from: Bins): Bins {
  if (from.length === 0) return into;
  if (from.length <= 16) {
    for (let i = 0; i < from.length; i += 2) into = addToBins(into, from[i], from[i + 1]);
    return into;
  }
  const merged: Bins = [];
  let i = 0;
  let j = 0;
  while (i < into.length || j < from.length) {
    if (j === from.length || (i < into.length && into[i] < from[j])) {
      merged.push(into[i], into[i + 1]);
      i += 2;
    } else if (i === into.length || from[j] < into[i]) {
      merged.push(from[j], from[j + 1]);
      j += 2;
    } else {
      merged.push(into[i], into[i + 1] + from[j + 1]);
      i += 2;
      j += 2;
    }
  }
  return merged;
}

/** The key at `rank` walking bins in ascending key order (DenseStore.keyAtRank). */
function keyAtRank(bins: Bins, rank: number, lower: boolean): number {
  let running = 0;
  for (let i = 0; i < bins.length; i += 2) {
    running += bins[i + 1];
    if ((lower && running > rank) || (!lower && running >= rank + 1)) return bins[i];
  }
  return bins[bins.length - 2];
}

const storeCount = (bins: Bins) => {
  let n = 0;
  for (let i = 1; i < bins.length; i += 2) n += bins[i];
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

/** Keys (`from` 0) or counts (`from` 1) of bins, as the encoding's arrays. */
function column(bins: Bins, from: 0 | 1): number[] {
  // Filled by push, so the array stays packed: JSON.stringify writes packed arrays fastest.
  const out: number[] = [];
  for (let i = from; i < bins.length; i += 2) out.push(bins[i]);
  return out;
}

/** Writes `JSON.stringify(column(bins, from))`. */
function writeColumn(bins: Bins, from: 0 | 1, out: JsonWriter): void {
  out.raw('[');
  for (let i = from; i < bins.length; i += 2) {
    if (i !== from) out.raw(',');
    out.number(bins[i]);
  }
  out.raw(']');
}

/**
 * Bins from stored key and count arrays. Stored keys are ascending and distinct (the
 * encoding writes them so); anything else is read as the bins always were: a later
 * duplicate key replaces an earlier one, and the keys are put in order.
 */
function binsOf(keys: readonly Json[], counts: readonly Json[]): Bins {
  if (keys.length === 0) return NO_BINS;
  let ordered = true;
  for (let i = 0; i < keys.length; i++) {
    if (typeof keys[i] !== 'number' || (i > 0 && !((keys[i] as number) > (keys[i - 1] as number)))) {
      ordered = false;
      break;
    }
  }
  const bins: Bins = [];
  if (ordered) {
    for (let i = 0; i < keys.length; i++) bins.push(keys[i] as number, counts[i] as number);
    return bins;
  }
  const byKey = new Map<number, number>();
  for (let i = 0; i < keys.length; i++) byKey.set(keys[i] as number, counts[i] as number);
  for (const k of [...byKey.keys()].sort((a, b) => a - b)) bins.push(k, byKey.get(k)!);
  return bins;
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
  const head = `{"a":${numberText(relativeAccuracy)},"n":`;
  const add = (acc: QuantileState, e: E) => {
    const v = of(e);
    if (typeof v !== 'number' || !Number.isFinite(v)) return acc;
    if (v > MIN_INDEXABLE) {
      acc.positive = addToBins(acc.positive, mapping.key(v), 1);
    } else if (v < -MIN_INDEXABLE) {
      acc.negative = addToBins(acc.negative, mapping.key(-v), 1);
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
    acc.positive = mergeBins(acc.positive, b.positive);
    acc.negative = mergeBins(acc.negative, b.negative);
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
    encode: (s) => ({
      a: relativeAccuracy,
      n: s.count,
      z: s.zeroCount,
      sum: s.sum,
      lo: s.count === 0 ? null : s.min,
      hi: s.count === 0 ? null : s.max,
      k: column(s.positive, 0),
      c: column(s.positive, 1),
      nk: column(s.negative, 0),
      nc: column(s.negative, 1),
    }),
    writeJson: (s, out) => {
      out.raw(head);
      out.number(s.count);
      out.raw(',"z":');
      out.number(s.zeroCount);
      out.raw(',"sum":');
      out.number(s.sum);
      if (s.count === 0) {
        out.raw(',"lo":null,"hi":null');
      } else {
        out.raw(',"lo":');
        out.number(s.min);
        out.raw(',"hi":');
        out.number(s.max);
      }
      out.raw(',"k":');
      writeColumn(s.positive, 0, out);
      out.raw(',"c":');
      writeColumn(s.positive, 1, out);
      out.raw(',"nk":');
      writeColumn(s.negative, 0, out);
      out.raw(',"nc":');
      writeColumn(s.negative, 1, out);
      out.raw('}');
      return true;
    },
    decode: (j) => {
      const o = j as { readonly [key: string]: Json };
      if (o === null || typeof o !== 'object' || Array.isArray(o) || o['a'] !== relativeAccuracy) {
        throw new StateDecodeError(`${kind}: expected a sketch with relativeAccuracy ${relativeAccuracy}, got ${JSON.stringify(j)?.slice(0, 120)}`);
      }
      const load = (keys: Json, counts: Json): Bins => {
        if (!Array.isArray(keys) || !Array.isArray(counts) || keys.length !== counts.length) {
          throw new StateDecodeError(`${kind}: bins are not parallel key/count arrays`);
        }
        return binsOf(keys, counts);
      };
      return {
        positive: load(o['k'], o['c']),
        negative: load(o['nk'], o['nc']),
        zeroCount: Number(o['z']),
        count: Number(o['n']),
        sum: Number(o['sum']),
        min: o['lo'] === null ? Infinity : Number(o['lo']),
        max: o['hi'] === null ? -Infinity : Number(o['hi']),
      };
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
