import { aggregator, type Aggregator, type Json, StateDecodeError } from '../algebra/aggregator';

/**
 * Heavy hitters with the Misra-Gries summary in its mergeable form (Agarwal et al.,
 * "Mergeable Summaries", PODS 2012): at most `capacity` counters; after adding or merging,
 * if more than `capacity` keys are held, the (capacity+1)-th largest count is subtracted
 * from every counter and non-positive counters are dropped.
 *
 * Guarantee: a key's counter underestimates its true frequency by at most
 * (N - sum of counters) / (capacity + 1), where N is the number of items; any key more
 * frequent than N / (capacity + 1) is held. While a cell sees no more than `capacity`
 * distinct keys nothing is ever subtracted and the summary is exact, so then (and only
 * then) merging is exactly associative; beyond, merges of different splits agree within
 * the bound. Size `capacity` well above the `k` you present.
 */
export interface TopKOptions {
  /** How many keys to present; default 10. */
  readonly k?: number;
  /** Counters kept; default 64 (must be >= k). */
  readonly capacity?: number;
}

export interface TopKState {
  /** Counters by key. */
  readonly counters: Map<string, number>;
  /** Items seen (N), to report the error bound. */
  total: number;
}

export interface TopKEntry {
  readonly key: string;
  readonly count: number;
}

export interface TopKValue {
  readonly items: readonly TopKEntry[];
  /** Upper bound of how much any count may be underestimated. */
  readonly maxError: number;
}

function shrink(state: TopKState, capacity: number): TopKState {
  if (state.counters.size <= capacity) return state;
  const sorted = [...state.counters.values()].sort((a, b) => b - a);
  const cut = sorted[capacity];
  for (const [key, c] of state.counters) {
    if (c <= cut) state.counters.delete(key);
    else state.counters.set(key, c - cut);
  }
  return state;
}

const ranked = (counters: Map<string, number>): TopKEntry[] =>
  [...counters].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

/** The most frequent values of a field. */
export function topK<E>(of: (event: E) => string | number | null | undefined, options: TopKOptions = {}): Aggregator<E, TopKState, TopKValue> {
  const k = options.k ?? 10;
  const capacity = options.capacity ?? Math.max(64, k);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`topK: k must be a positive integer, got ${k}`);
  if (!Number.isInteger(capacity) || capacity < k) throw new RangeError(`topK: capacity must be an integer >= k (${k}), got ${capacity}`);
  const zero = (): TopKState => ({ counters: new Map(), total: 0 });
  const add = (acc: TopKState, e: E) => {
    const v = of(e);
    if (v === null || v === undefined) return acc;
    const key = String(v);
    acc.counters.set(key, (acc.counters.get(key) ?? 0) + 1);
    acc.total += 1;
    return shrink(acc, capacity);
  };
  const plusInto = (acc: TopKState, b: TopKState) => {
    for (const [key, c] of b.counters) acc.counters.set(key, (acc.counters.get(key) ?? 0) + c);
    acc.total += b.total;
    return shrink(acc, capacity);
  };
  return aggregator<E, TopKState, TopKValue>({
    kind: 'topK',
    params: { k, capacity },
    zero,
    lift: (e) => add(zero(), e),
    plus: (a, b) => plusInto({ counters: new Map(a.counters), total: a.total }, b),
    add,
    plusInto,
    present: (s) => {
      let held = 0;
      for (const c of s.counters.values()) held += c;
      return { items: ranked(s.counters).slice(0, k), maxError: Math.floor((s.total - held) / (capacity + 1)) };
    },
    encode: (s) => {
      const entries = [...s.counters].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return { n: s.total, k: entries.map(([key]) => key), c: entries.map(([, c]) => c) };
    },
    decode: (j) => {
      const o = j as { readonly [key: string]: Json };
      if (o === null || typeof o !== 'object' || !Array.isArray(o['k']) || !Array.isArray(o['c']) || typeof o['n'] !== 'number') {
        throw new StateDecodeError(`topK: expected {n, k, c}, got ${JSON.stringify(j)?.slice(0, 120)}`);
      }
      const keys = o['k'] as Json[];
      const counts = o['c'] as Json[];
      if (keys.length !== counts.length) throw new StateDecodeError('topK: keys and counts differ in length');
      const counters = new Map<string, number>();
      keys.forEach((key, i) => counters.set(String(key), Number(counts[i])));
      return { counters, total: o['n'] };
    },
  });
}
