import { aggregator, type Aggregator, type Json, StateDecodeError } from '../algebra/aggregator';

/**
 * The product of named aggregators: a record of states, combined field by field (fp-ts'
 * `struct`). A view's named aggregates are one record aggregator.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAggregator<E> = Aggregator<E, any, any>;
export type AggregateRecord<E> = { readonly [name: string]: AnyAggregator<E> };

/** Opaque: a record state is internal to the record aggregator (encode it to inspect it). */
export type RecordState<R> = { readonly __record: R };
export type RecordValue<R> = { [K in keyof R]: R[K] extends Aggregator<never, unknown, infer O> ? O : never };

export function record<E, R extends AggregateRecord<E>>(fields: R): Aggregator<E, RecordState<R>, RecordValue<R>> {
  const names = Object.keys(fields).sort();
  if (names.length === 0) throw new RangeError('record: at least one aggregate is required');
  type S = RecordState<R>;
  type O = RecordValue<R>;
  // Internally a state is an array in `names` order: the hot loops index arrays of
  // functions instead of looking up object keys. Encoded states are objects by name.
  const aggs = names.map((n) => fields[n]);
  const width = aggs.length;
  type A = unknown[];
  // Assigning `__proto__` would set the prototype rather than define a property.
  const plainNames = !names.includes('__proto__');
  // The order JSON.stringify writes the encoded object's properties in (integer-like names
  // first, in numeric order), as indexes into `names`, and each name as JSON text.
  const textOrder = Object.keys(Object.fromEntries(names.map((n) => [n, 0]))).map((n) => names.indexOf(n));
  const nameTexts = names.map((n) => `${JSON.stringify(n)}:`);
  const zero = (): A => aggs.map((a) => a.zero());
  return aggregator<E, S, O>({
    kind: 'record',
    params: Object.fromEntries(names.map((n) => [n, { kind: fields[n].kind, params: fields[n].params }])) as { [k: string]: Json },
    zero: () => zero() as unknown as S,
    lift: (e) => aggs.map((a) => a.lift(e)) as unknown as S,
    plus: (x, y) => aggs.map((a, i) => a.plus((x as unknown as A)[i], (y as unknown as A)[i])) as unknown as S,
    add: (acc, e) => {
      const o = acc as unknown as A;
      for (let i = 0; i < width; i++) o[i] = aggs[i].add(o[i], e);
      return acc;
    },
    plusInto: (acc, b) => {
      const o = acc as unknown as A;
      const p = b as unknown as A;
      for (let i = 0; i < width; i++) o[i] = aggs[i].plusInto(o[i], p[i]);
      return acc;
    },
    present: (s) => Object.fromEntries(names.map((n, i) => [n, aggs[i].present((s as unknown as A)[i])])) as unknown as O,
    encode: (s) => {
      const a = s as unknown as A;
      if (!plainNames) return Object.fromEntries(names.map((n, i) => [n, aggs[i].encode(a[i])])) as Json;
      // Same object as fromEntries builds (own properties in `names` order), without the pairs.
      const o: { [name: string]: Json } = {};
      for (let i = 0; i < width; i++) o[names[i]] = aggs[i].encode(a[i]);
      return o;
    },
    writeJson: (s, out) => {
      const a = s as unknown as A;
      out.raw('{');
      let first = true;
      for (let j = 0; j < width; j++) {
        const i = textOrder[j];
        const start = out.position;
        if (!first) out.raw(',');
        out.raw(nameTexts[i]);
        // A field without JSON text is left out, as JSON.stringify leaves out undefined.
        if (aggs[i].writeJson(a[i], out)) first = false;
        else out.truncate(start);
      }
      out.raw('}');
      return true;
    },
    decode: (j) => {
      if (j === null || typeof j !== 'object' || Array.isArray(j)) {
        throw new StateDecodeError(`record: expected an object of states, got ${JSON.stringify(j)?.slice(0, 120)}`);
      }
      const o = j as { readonly [key: string]: Json };
      return names.map((n, i) => {
        if (!(n in o)) throw new StateDecodeError(`record: missing state for aggregate "${n}"`);
        return aggs[i].decode(o[n]);
      }) as unknown as S;
    },
  });
}
