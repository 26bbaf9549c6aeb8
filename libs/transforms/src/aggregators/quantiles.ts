import { DDSketch } from '@datadog/sketches-js';
import { aggregator, type Aggregator, type Json, StateDecodeError } from '../algebra/aggregator';
import type { NumberOf } from './numeric';

/**
 * Quantiles with DDSketch (Masson et al., VLDB 2019) from `@datadog/sketches-js`: every
 * quantile is within relative error `relativeAccuracy` of the exact one, and merging is
 * adding bin counts, so a merged sketch equals the sketch of the union.
 *
 * The library's protobuf codec drops min/max, so the state is encoded here from the
 * sketch's public fields: sparse positive and negative bins, zero count and the summary
 * statistics.
 */
export interface QuantilesOptions {
  /** Relative accuracy alpha in (0, 1); default 0.01. */
  readonly relativeAccuracy?: number;
}

export type QuantileState = DDSketch;

const bins = (store: DDSketch['store']): [number[], number[]] => {
  const keys: number[] = [];
  const counts: number[] = [];
  if (store.count === 0) return [keys, counts];
  for (let key = store.minKey; key <= store.maxKey; key++) {
    const c = store.bins[key - store.offset];
    if (c) {
      keys.push(key);
      counts.push(c);
    }
  }
  return [keys, counts];
};

function sketchAggregator<E, O>(
  kind: string,
  of: NumberOf<E>,
  options: QuantilesOptions,
  extraParams: { readonly [key: string]: Json },
  present: (s: DDSketch) => O,
): Aggregator<E, QuantileState, O> {
  const relativeAccuracy = options.relativeAccuracy ?? 0.01;
  if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) {
    throw new RangeError(`${kind}: relativeAccuracy must be in (0, 1), got ${relativeAccuracy}`);
  }
  const zero = () => new DDSketch({ relativeAccuracy });
  const add = (acc: DDSketch, e: E) => {
    const v = of(e);
    if (typeof v === 'number' && Number.isFinite(v)) acc.accept(v);
    return acc;
  };
  const plusInto = (acc: DDSketch, b: DDSketch) => {
    // sketches-js 2.1.1 `merge` forgets the negative store once the target is non-empty
    // (its `_copy` path for an empty target is right), so negative bins are merged here.
    const copyPath = acc.count === 0;
    acc.merge(b);
    if (!copyPath && b.negativeStore.count > 0) acc.negativeStore.merge(b.negativeStore);
    return acc;
  };
  return aggregator<E, QuantileState, O>({
    kind,
    params: { relativeAccuracy, ...extraParams },
    zero,
    lift: (e) => add(zero(), e),
    plus: (a, b) => plusInto(plusInto(zero(), a), b),
    add,
    plusInto,
    present,
    encode: (s) => {
      const [k, c] = bins(s.store);
      const [nk, nc] = bins(s.negativeStore);
      return {
        a: relativeAccuracy,
        n: s.count,
        z: s.zeroCount,
        sum: s.sum,
        lo: s.count === 0 ? null : s.min,
        hi: s.count === 0 ? null : s.max,
        k,
        c,
        nk,
        nc,
      };
    },
    decode: (j) => {
      const o = j as { readonly [key: string]: Json };
      if (o === null || typeof o !== 'object' || Array.isArray(o) || o['a'] !== relativeAccuracy) {
        throw new StateDecodeError(`${kind}: expected a sketch with relativeAccuracy ${relativeAccuracy}, got ${JSON.stringify(j)?.slice(0, 120)}`);
      }
      const s = zero();
      const load = (store: DDSketch['store'], keys: Json, counts: Json) => {
        if (!Array.isArray(keys) || !Array.isArray(counts) || keys.length !== counts.length) {
          throw new StateDecodeError(`${kind}: bins are not parallel key/count arrays`);
        }
        for (let i = 0; i < keys.length; i++) store.add(keys[i] as number, counts[i] as number);
      };
      load(s.store, o['k'], o['c']);
      load(s.negativeStore, o['nk'], o['nc']);
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
  return sketchAggregator<E, number | null>('quantile', of, options, { q }, (s) => (s.count === 0 ? null : s.getValueAtQuantile(q)));
}

/** Several quantiles at once, presented as `{ p50: ..., p95: ... }`. */
export function quantiles<E>(
  of: NumberOf<E>,
  qs: readonly number[],
  options: QuantilesOptions = {},
): Aggregator<E, QuantileState, { readonly [name: string]: number | null }> {
  for (const q of qs) if (!(q >= 0 && q <= 1)) throw new RangeError(`quantiles: every q must be in [0, 1], got ${q}`);
  const names = qs.map((q) => `p${+(q * 100).toFixed(3)}`);
  return sketchAggregator('quantiles', of, options, { qs: [...qs] }, (s) =>
    Object.fromEntries(qs.map((q, i) => [names[i], s.count === 0 ? null : s.getValueAtQuantile(q)])),
  );
}
