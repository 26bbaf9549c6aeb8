import { aggregator, type Aggregator, type Json, StateDecodeError } from '../algebra/aggregator';
import type { JsonWriter } from '../algebra/json-text';

const writeNumber = (s: number, out: JsonWriter) => {
  out.number(s);
  return true;
};

/**
 * Exact numeric aggregates: count, sum, min, max, mean.
 *
 * An extractor returning `null`/`undefined`/NaN means "no value" and is ignored, as SQL
 * ignores NULL (count counts events, not values). Sums are exact while totals stay within
 * 2^53 and inputs are integers; views over fractional values should scale to integers
 * (cents, milliseconds) when exactness across layers matters.
 */
export type NumberOf<E> = (event: E) => number | null | undefined;

const present = (v: number | null | undefined): v is number => typeof v === 'number' && !Number.isNaN(v);

function decodeNumber(kind: string, json: Json): number {
  if (typeof json !== 'number' || !Number.isFinite(json)) {
    throw new StateDecodeError(`${kind}: expected a finite number, got ${JSON.stringify(json)}`);
  }
  return json;
}

function decodeOptionalNumber(kind: string, json: Json): number | null {
  return json === null ? null : decodeNumber(kind, json);
}

/** Number of events. */
export function count<E = unknown>(): Aggregator<E, number, number> {
  return aggregator<E, number, number>({
    kind: 'count',
    zero: () => 0,
    lift: () => 1,
    plus: (a, b) => a + b,
    add: (acc) => acc + 1,
    present: (s) => s,
    encode: (s) => s,
    writeJson: writeNumber,
    decode: (j) => decodeNumber('count', j),
  });
}

/** Sum of a numeric field. */
export function sum<E>(of: NumberOf<E>): Aggregator<E, number, number> {
  return aggregator<E, number, number>({
    kind: 'sum',
    zero: () => 0,
    lift: (e) => {
      const v = of(e);
      return present(v) ? v : 0;
    },
    plus: (a, b) => a + b,
    add: (acc, e) => {
      const v = of(e);
      return present(v) ? acc + v : acc;
    },
    present: (s) => s,
    encode: (s) => s,
    writeJson: writeNumber,
    decode: (j) => decodeNumber('sum', j),
  });
}

function extremum<E>(kind: 'min' | 'max', of: NumberOf<E>): Aggregator<E, number | null, number | null> {
  const pick = kind === 'min' ? Math.min : Math.max;
  const plus = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : pick(a, b));
  return aggregator<E, number | null, number | null>({
    kind,
    zero: () => null,
    lift: (e) => {
      const v = of(e);
      return present(v) ? v : null;
    },
    plus,
    add: (acc, e) => {
      const v = of(e);
      return present(v) ? (acc === null ? v : pick(acc, v)) : acc;
    },
    present: (s) => s,
    encode: (s) => s,
    writeJson: (s, out) => {
      if (s === null) out.raw('null');
      else out.number(s);
      return true;
    },
    decode: (j) => decodeOptionalNumber(kind, j),
  });
}

/** Smallest value of a numeric field; `null` over no values. */
export const min = <E>(of: NumberOf<E>) => extremum<E>('min', of);
/** Largest value of a numeric field; `null` over no values. */
export const max = <E>(of: NumberOf<E>) => extremum<E>('max', of);

/** Mean state: a (sum, count) pair, the classic monoid behind an average. */
export interface MeanState {
  sum: number;
  count: number;
}

/** Arithmetic mean of a numeric field; `null` over no values. */
export function mean<E>(of: NumberOf<E>): Aggregator<E, MeanState, number | null> {
  return aggregator<E, MeanState, number | null>({
    kind: 'mean',
    zero: () => ({ sum: 0, count: 0 }),
    lift: (e) => {
      const v = of(e);
      return present(v) ? { sum: v, count: 1 } : { sum: 0, count: 0 };
    },
    plus: (a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }),
    add: (acc, e) => {
      const v = of(e);
      if (present(v)) {
        acc.sum += v;
        acc.count += 1;
      }
      return acc;
    },
    plusInto: (acc, b) => {
      acc.sum += b.sum;
      acc.count += b.count;
      return acc;
    },
    present: (s) => (s.count === 0 ? null : s.sum / s.count),
    encode: (s) => [s.sum, s.count],
    writeJson: (s, out) => {
      out.raw('[');
      out.number(s.sum);
      out.raw(',');
      out.number(s.count);
      out.raw(']');
      return true;
    },
    decode: (j) => {
      if (!Array.isArray(j) || j.length !== 2) {
        throw new StateDecodeError(`mean: expected [sum, count], got ${JSON.stringify(j)}`);
      }
      return { sum: decodeNumber('mean.sum', j[0] as Json), count: decodeNumber('mean.count', j[1] as Json) };
    },
  });
}
