/**
 * Reusable law tests for aggregators (STYLE.md habit 4): any new aggregator gets them by
 * calling `checkAggregatorLaws(name, agg, inputArbitrary)` inside a Jest file.
 *
 * Laws: associativity, commutativity, identity, `add` agrees with `plus`/`lift`, codec round
 * trip (through JSON text), split-merge equivalence (aggregate a random split, merge the
 * parts, compare with the whole), and `plus` never mutates its arguments. Equality is exact,
 * through the canonical encoding.
 */
import fc from 'fast-check';
import { aggregate, type Aggregator, canonicalJson, type Json } from './algebra/aggregator';

export interface LawOptions {
  /** fast-check runs per law; default 200. */
  readonly numRuns?: number;
  /** Longest input list; default 60. */
  readonly maxLength?: number;
}

const enc = <I, S, O>(agg: Aggregator<I, S, O>, s: S) => canonicalJson(agg.encode(s));

/** A random split of `xs` into `parts` contiguous or interleaved pieces. */
const splitArb = <T>(xs: readonly T[]) =>
  fc.array(fc.nat({ max: 3 }), { minLength: xs.length, maxLength: xs.length }).map((slots) => {
    const parts: T[][] = [[], [], [], []];
    xs.forEach((x, i) => parts[slots[i]].push(x));
    return parts;
  });

export function aggregatorLaws<I, S, O>(agg: Aggregator<I, S, O>, input: fc.Arbitrary<I>, options: LawOptions = {}) {
  const numRuns = options.numRuns ?? 200;
  const list = fc.array(input, { maxLength: options.maxLength ?? 60 });
  const state = list.map((xs) => aggregate(agg, xs));
  const run = (p: fc.IPropertyWithHooks<unknown[]>) => fc.assert(p, { numRuns });
  return {
    associativity: () =>
      run(fc.property(state, state, state, (a, b, c) => enc(agg, agg.plus(agg.plus(a, b), c)) === enc(agg, agg.plus(a, agg.plus(b, c))))),
    commutativity: () => run(fc.property(state, state, (a, b) => enc(agg, agg.plus(a, b)) === enc(agg, agg.plus(b, a)))),
    identity: () =>
      run(
        fc.property(state, (a) => {
          const e = enc(agg, a);
          return enc(agg, agg.plus(agg.zero(), a)) === e && enc(agg, agg.plus(a, agg.zero())) === e;
        }),
      ),
    addAgreesWithLift: () =>
      run(fc.property(list, (xs) => enc(agg, aggregate(agg, xs)) === enc(agg, xs.reduce((acc, x) => agg.plus(acc, agg.lift(x)), agg.zero())))),
    codecRoundTrip: () =>
      run(
        fc.property(state, (a) => {
          const text = JSON.stringify(agg.encode(a));
          const back = agg.decode(JSON.parse(text) as Json);
          return enc(agg, back) === enc(agg, a) && canonicalJson(agg.present(back) as Json) === canonicalJson(agg.present(a) as Json);
        }),
      ),
    splitMerge: () =>
      run(
        fc.property(
          list.chain((xs) => fc.tuple(fc.constant(xs), splitArb(xs))),
          ([xs, parts]) => {
            const merged = parts.map((p) => aggregate(agg, p)).reduce((a, b) => agg.plus(a, b), agg.zero());
            return enc(agg, merged) === enc(agg, aggregate(agg, xs));
          },
        ),
      ),
    plusDoesNotMutate: () =>
      run(
        fc.property(state, state, (a, b) => {
          const before = [enc(agg, a), enc(agg, b)];
          agg.plus(a, b);
          return enc(agg, a) === before[0] && enc(agg, b) === before[1];
        }),
      ),
  };
}

/**
 * Registers one Jest test per law. Call at the top level of a describe block.
 */
export function checkAggregatorLaws<I, S, O>(name: string, agg: Aggregator<I, S, O>, input: fc.Arbitrary<I>, options: LawOptions = {}): void {
  const laws = aggregatorLaws(agg, input, options);
  describe(`${name} obeys the monoid laws`, () => {
    for (const [law, check] of Object.entries(laws)) {
      it(law, () => check());
    }
  });
}
