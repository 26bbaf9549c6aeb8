import { aggregator, type Aggregator, type Json, StateDecodeError } from '../algebra/aggregator';
import type { View } from './define-view';

/**
 * A view's state paired with the number of events folded into it: the product of the
 * view's aggregator with a count. Both layers store events per cell next to its state (the
 * realtime rows and the batch tables report it; serving splits answers by layer with it),
 * and both compute cells with the one evaluator (`ViewAccumulator`) over this product.
 */
export interface CountedState<S> {
  state: S;
  events: number;
}

export interface CountedAggregator<E, S, O> extends Aggregator<E, CountedState<S>, O> {
  /** The view's own aggregator: what stores and reads the state without its count. */
  readonly inner: Aggregator<E, S, O>;
}

export function countedAggregator<E, S, O>(agg: Aggregator<E, S, O>): CountedAggregator<E, S, O> {
  const counted = aggregator<E, CountedState<S>, O>({
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
    writeJson: (s, out) => {
      const start = out.position;
      out.raw('{"s":');
      if (agg.writeJson(s.state, out)) {
        out.raw(',"n":');
      } else {
        // JSON.stringify leaves out a property whose value has no JSON form.
        out.truncate(start);
        out.raw('{"n":');
      }
      out.number(s.events);
      out.raw('}');
      return true;
    },
    decode: (j: Json) => {
      const o = j as { readonly [k: string]: Json } | null;
      if (o === null || typeof o !== 'object' || Array.isArray(o) || typeof o['n'] !== 'number') {
        throw new StateDecodeError(`counted: expected {s, n}, got ${JSON.stringify(j)?.slice(0, 120)}`);
      }
      return { state: agg.decode(o['s']), events: o['n'] };
    },
  });
  return Object.freeze({ ...counted, inner: agg });
}

export type CountedView<E = unknown, S = unknown, O = unknown> = View<E, CountedState<S>, O> & { readonly aggregator: CountedAggregator<E, S, O> };

/** The same view, its cells carrying event counts. */
export function countedView<E, S, O>(view: View<E, S, O>): CountedView<E, S, O> {
  return Object.freeze({ ...view, aggregator: countedAggregator(view.aggregator) }) as CountedView<E, S, O>;
}
