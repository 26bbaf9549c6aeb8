import { jsonWriter, type JsonWriter } from './json-text';

/**
 * The aggregation algebra (DESIGN.md section 3), after Algebird's `Aggregator`:
 * `lift` prepares one input as a state, `plus` is a commutative monoid on states with
 * `zero()` as identity, and `present` turns a state into the value a user sees.
 *
 * Batch and speed only ever store states (encoded with `encode`); serving alone calls
 * `present`. Because `plus` is associative and commutative, the batch/speed split, the
 * chunking of offsets and the sharding of a batch run can never change an answer.
 */

/** A JSON value: what an encoded state is made of. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

export interface Aggregator<I, S, O> {
  /** Kind of aggregate, e.g. `sum`; part of a view's transform version. */
  readonly kind: string;
  /** Parameters that change results (e.g. sketch precision); part of the transform version. */
  readonly params: { readonly [key: string]: Json };
  /** A fresh identity state. A function, since sketch states are mutable buffers. */
  readonly zero: () => S;
  /** The state of a single input. */
  readonly lift: (input: I) => S;
  /** Associative, commutative combination. Never mutates its arguments. */
  readonly plus: (a: S, b: S) => S;
  /**
   * `plus(acc, lift(input))`, allowed to mutate and return `acc`, which the caller owns.
   * The hot path of both layers: folding events without allocating a state per event.
   */
  readonly add: (acc: S, input: I) => S;
  /** `plus(acc, b)`, allowed to mutate and return `acc` (never `b`). */
  readonly plusInto: (acc: S, b: S) => S;
  /** The user-facing value of a state. */
  readonly present: (state: S) => O;
  /**
   * A canonical, JSON-safe encoding: equal states encode to deep-equal JSON, so encoded
   * states can be compared for exact equality (conformity checks, oracle tests).
   */
  readonly encode: (state: S) => Json;
  /**
   * `JSON.stringify(encode(state))`, the text both layers store, written directly: the same
   * characters, without building the JSON value first (the built-in aggregators write their
   * constant parts once and skip the per-object work of `JSON.stringify`).
   */
  readonly encodeText: (state: S) => string;
  /**
   * Writes `encodeText(state)` into `out` (how records and counted states write their
   * parts); false, writing nothing, when the encoding has no JSON text (is undefined).
   */
  readonly writeJson: (state: S, out: JsonWriter) => boolean;
  /** Inverse of `encode`; rejects malformed input with an error that says what is wrong. */
  readonly decode: (json: Json) => S;
}

export type StateOf<A> = A extends Aggregator<unknown, infer S, unknown> ? S : never;
export type OutputOf<A> = A extends Aggregator<unknown, unknown, infer O> ? O : never;
export type InputOf<A> = A extends Aggregator<infer I, unknown, unknown> ? I : never;

/** Raised when an encoded state cannot be decoded: a corrupt row, never a retriable fault. */
export class StateDecodeError extends Error {
  override readonly name = 'StateDecodeError';
  readonly retriable = false;
}

export interface AggregatorSpec<I, S, O> {
  readonly kind: string;
  readonly params?: { readonly [key: string]: Json };
  readonly zero: () => S;
  readonly lift: (input: I) => S;
  readonly plus: (a: S, b: S) => S;
  readonly add?: (acc: S, input: I) => S;
  readonly plusInto?: (acc: S, b: S) => S;
  readonly present: (state: S) => O;
  readonly encode: (state: S) => Json;
  /** Must write `JSON.stringify(encode(state))`; derived from `encode` when not given. */
  readonly writeJson?: (state: S, out: JsonWriter) => boolean;
  readonly decode: (json: Json) => S;
}

/** Builds an aggregator, deriving the mutating fast paths from `plus` when not given. */
export function aggregator<I, S, O>(spec: AggregatorSpec<I, S, O>): Aggregator<I, S, O> {
  const plus = spec.plus;
  const lift = spec.lift;
  const encode = spec.encode;
  const writeJson =
    spec.writeJson ??
    ((state: S, out: JsonWriter) => {
      const text = JSON.stringify(encode(state)) as string | undefined;
      if (text === undefined) return false;
      out.raw(text);
      return true;
    });
  return Object.freeze({
    kind: spec.kind,
    params: Object.freeze({ ...(spec.params ?? {}) }),
    zero: spec.zero,
    lift,
    plus,
    add: spec.add ?? ((acc: S, input: I) => plus(acc, lift(input))),
    plusInto: spec.plusInto ?? plus,
    present: spec.present,
    encode: spec.encode,
    encodeText: (state: S) => {
      if (!jsonWriter.start()) return JSON.stringify(encode(state));
      try {
        // Text with characters outside ASCII, or none at all, comes from JSON.stringify itself.
        return (writeJson(state, jsonWriter) ? jsonWriter.text() : undefined) ?? JSON.stringify(encode(state));
      } finally {
        jsonWriter.finish();
      }
    },
    writeJson,
    decode: spec.decode,
  });
}

/** Folds inputs into one state. */
export function aggregate<I, S, O>(agg: Aggregator<I, S, O>, inputs: Iterable<I>): S {
  let acc = agg.zero();
  for (const input of inputs) acc = agg.add(acc, input);
  return acc;
}

/** Sums states with `plus` (never mutating them). */
export function sumStates<I, S, O>(agg: Aggregator<I, S, O>, states: Iterable<S>): S {
  // `acc` starts as a fresh zero and is only ever the result of plusInto, so it is owned here.
  let acc = agg.zero();
  for (const s of states) acc = agg.plusInto(acc, s);
  return acc;
}

/** Exact equality of two states, through their canonical encoding. */
export function statesEqual<I, S, O>(agg: Aggregator<I, S, O>, a: S, b: S): boolean {
  return canonicalJson(agg.encode(a)) === canonicalJson(agg.encode(b));
}

/** JSON text with object keys sorted, so equal values give equal strings. */
export function canonicalJson(value: Json): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v as Json)).join(',')}]`;
  const obj = value as { readonly [key: string]: Json };
  const keys = Object.keys(obj).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}
