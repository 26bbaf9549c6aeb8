import {
  type AnyView,
  canonicalJson,
  count,
  distinct,
  type Json,
  max,
  mean,
  min,
  quantile,
  quantiles,
  sum,
  topK,
} from '@tandem/transforms';

/**
 * One named aggregate of a view, on its own: ranking a top-N reads only that aggregate's
 * state from each row (`state -> 'name'`), so it needs that aggregate's decode, merge and
 * present without the rest of the record.
 *
 * A view exposes its record aggregator, not its field aggregators, so the field aggregator
 * is rebuilt from the recorded kind and parameters. Extractors are not needed (serving
 * never lifts events), and the rebuilt aggregator is used only when its kind and parameters
 * equal the view's; otherwise the record aggregator itself is used with the other fields at
 * zero, which is slower but correct for any kind.
 */
export interface AggregateField {
  readonly name: string;
  readonly kind: string;
  /** Whether `present` gives a number (or null), so keys can be ranked by it. */
  readonly numeric: boolean;
  readonly zero: () => unknown;
  readonly decode: (json: Json) => unknown;
  /** Merges `b` into `acc`, which the caller owns; never mutates `b`. */
  readonly plusInto: (acc: unknown, b: unknown) => unknown;
  readonly present: (state: unknown) => unknown;
}

/** Kinds whose presented value is a number or null. */
export const NUMERIC_KINDS: ReadonlySet<string> = new Set(['count', 'sum', 'min', 'max', 'mean', 'distinct', 'quantile']);

type Params = { readonly [key: string]: Json };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Rebuilt = { readonly kind: string; readonly params: Params; zero: () => any; decode: (j: Json) => any; plusInto: (a: any, b: any) => any; present: (s: any) => any };

const none = () => null;
const rebuilders: Readonly<Record<string, (p: Params) => Rebuilt>> = {
  count: () => count(),
  sum: () => sum(none),
  min: () => min(none),
  max: () => max(none),
  mean: () => mean(none),
  distinct: (p) => distinct(none, { precision: p['precision'] as number }),
  quantile: (p) => quantile(none, p['q'] as number, { relativeAccuracy: p['relativeAccuracy'] as number }),
  quantiles: (p) => quantiles(none, p['qs'] as number[], { relativeAccuracy: p['relativeAccuracy'] as number }),
  topK: (p) => topK(none, { k: p['k'] as number, capacity: p['capacity'] as number }),
};

const cache = new WeakMap<AnyView, Map<string, AggregateField>>();

/** The named aggregate of a view; undefined when the view has no such aggregate. */
export function aggregateField(view: AnyView, name: string): AggregateField | undefined {
  let fields = cache.get(view);
  if (fields === undefined) {
    fields = new Map(view.aggregates.map((a) => [a.name, build(view, a.name, a.kind, a.params)]));
    cache.set(view, fields);
  }
  return fields.get(name);
}

function build(view: AnyView, name: string, kind: string, params: Params): AggregateField {
  const numeric = NUMERIC_KINDS.has(kind);
  const rebuilt = rebuild(kind, params);
  if (rebuilt) {
    return { name, kind, numeric, zero: rebuilt.zero, decode: rebuilt.decode, plusInto: rebuilt.plusInto, present: rebuilt.present };
  }
  // The whole record, every other field at zero: the field's own state is merged and presented.
  const agg = view.aggregator;
  const zeroRecord = agg.encode(agg.zero()) as { readonly [key: string]: Json };
  return {
    name,
    kind,
    numeric,
    zero: () => agg.zero(),
    decode: (json) => agg.decode({ ...zeroRecord, [name]: json }),
    plusInto: (acc, b) => agg.plusInto(acc, b),
    present: (state) => (agg.present(state) as Record<string, unknown>)[name],
  };
}

function rebuild(kind: string, params: Params): Rebuilt | undefined {
  const make = Object.prototype.hasOwnProperty.call(rebuilders, kind) ? rebuilders[kind] : undefined;
  if (make === undefined) return undefined;
  try {
    const agg = make(params);
    return agg.kind === kind && canonicalJson(agg.params) === canonicalJson(params) ? agg : undefined;
  } catch {
    return undefined;
  }
}
