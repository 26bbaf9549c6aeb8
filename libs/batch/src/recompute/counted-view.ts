import { aggregator, type Aggregator, type Json, StateDecodeError, type View } from '@tandem/transforms';

/**
 * A view's state paired with the number of events folded into it: the product of the
 * view's aggregator with a count, so the batch tables can report events per cell while
 * the cells are still computed by the one evaluator (`ViewAccumulator`) both layers share.
 */
export interface CountedState<S> {
  state: S;
  events: number;
}

export function countedAggregator<E, S, O>(agg: Aggregator<E, S, O>): Aggregator<E, CountedState<S>, O> {
  return aggregator<E, CountedState<S>, O>({
    kind: `counted(${agg.kind})`,
    params: agg.params,
    zero: () => ({ state: agg.zero(), events: 0 }),
    lift: (e) => ({ state: agg.lift(e), events: 1 }),
    plus: (a, b) => ({ state: agg.plus(a.state, b.state), events: a.events + b.events }),
    add: (acc, e) => {
      acc.state = agg.add(acc.state, e);
      acc.events += 1;
      return acc;
    },
    plusInto: (acc, b) => {
      acc.state = agg.plusInto(acc.state, b.state);
      acc.events += b.events;
      return acc;
    },
    present: (s) => agg.present(s.state),
    encode: (s) => ({ s: agg.encode(s.state), n: s.events }),
    decode: (j: Json) => {
      const o = j as { readonly [k: string]: Json } | null;
      if (o === null || typeof o !== 'object' || Array.isArray(o) || typeof o['n'] !== 'number') {
        throw new StateDecodeError(`counted: expected {s, n}, got ${JSON.stringify(j)?.slice(0, 120)}`);
      }
      return { state: agg.decode(o['s']), events: o['n'] };
    },
  });
}

/** The same view, its cells carrying event counts. */
export function countedView<E, S, O>(view: View<E, S, O>): View<E, CountedState<S>, O> {
  return Object.freeze({ ...view, aggregator: countedAggregator(view.aggregator) });
}
