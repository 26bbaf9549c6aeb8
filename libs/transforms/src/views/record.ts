import { aggregator, type Aggregator, type Json, StateDecodeError } from '../algebra/aggregator';

/**
 * The product of named aggregators: a record of states, combined field by field (fp-ts'
 * `struct`). A view's named aggregates are one record aggregator.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAggregator<E> = Aggregator<E, any, any>;
export type AggregateRecord<E> = { readonly [name: string]: AnyAggregator<E> };

export type RecordState<R> = { [K in keyof R]: R[K] extends Aggregator<never, infer S, unknown> ? S : never };
export type RecordValue<R> = { [K in keyof R]: R[K] extends Aggregator<never, unknown, infer O> ? O : never };

export function record<E, R extends AggregateRecord<E>>(fields: R): Aggregator<E, RecordState<R>, RecordValue<R>> {
  const names = Object.keys(fields).sort();
  if (names.length === 0) throw new RangeError('record: at least one aggregate is required');
  type S = RecordState<R>;
  type O = RecordValue<R>;
  const map = (f: (name: string, agg: AnyAggregator<E>) => unknown): S => {
    const out: Record<string, unknown> = {};
    for (const name of names) out[name] = f(name, fields[name]);
    return out as S;
  };
  const st = (s: S, name: string) => (s as Record<string, unknown>)[name];
  return aggregator<E, S, O>({
    kind: 'record',
    params: Object.fromEntries(names.map((n) => [n, { kind: fields[n].kind, params: fields[n].params }])) as { [k: string]: Json },
    zero: () => map((_, a) => a.zero()),
    lift: (e) => map((_, a) => a.lift(e)),
    plus: (x, y) => map((n, a) => a.plus(st(x, n), st(y, n))),
    add: (acc, e) => {
      const o = acc as Record<string, unknown>;
      for (const n of names) o[n] = fields[n].add(o[n], e);
      return acc;
    },
    plusInto: (acc, b) => {
      const o = acc as Record<string, unknown>;
      for (const n of names) o[n] = fields[n].plusInto(o[n], st(b, n));
      return acc;
    },
    present: (s) => map((n, a) => a.present(st(s, n))) as unknown as O,
    encode: (s) => Object.fromEntries(names.map((n) => [n, fields[n].encode(st(s, n))])) as Json,
    decode: (j) => {
      if (j === null || typeof j !== 'object' || Array.isArray(j)) {
        throw new StateDecodeError(`record: expected an object of states, got ${JSON.stringify(j)?.slice(0, 120)}`);
      }
      const o = j as { readonly [key: string]: Json };
      return map((n, a) => {
        if (!(n in o)) throw new StateDecodeError(`record: missing state for aggregate "${n}"`);
        return a.decode(o[n]);
      });
    },
  });
}
