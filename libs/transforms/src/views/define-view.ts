import type { EventOf, StreamContract } from '@tandem/contracts';
import { type Aggregator, canonicalJson, type Json } from '../algebra/aggregator';
import { murmur3 } from '../algebra/hash';
import { type Granularity, isGranularity } from './granularity';
import { type AggregateRecord, type AnyAggregator, record } from './record';

/**
 * `defineView(stream, { ... })`. The stream comes first so that TypeScript knows the event
 * type before it types the extractors of the aggregates.
 *
 * A view: a source stream, an optional filter, a key of one or more dimensions, an
 * event-time bucket granularity and named aggregates (DESIGN.md section 3).
 *
 * Its transform version is `v<version>-<hash>` where the hash covers the declarative
 * definition (stream and its version, dimension names, granularity, aggregate kinds and
 * parameters). Function bodies are not hashed (their text depends on the compiler), so a
 * change to what a filter, key or extractor computes must bump `version`.
 */
export type Dimension<E> = (event: E) => string | number;

export interface ViewOptions<C extends StreamContract, K extends string> {
  /** View name, lower snake case; unique across the platform. */
  readonly name: string;
  /** Explicit version of the view's logic; bump it when a function changes. */
  readonly version: number;
  readonly description?: string;
  readonly filter?: (event: EventOf<C>) => boolean;
  /** Dimensions in order; the key of a cell is their values. */
  readonly key: { readonly [dimension: string]: Dimension<EventOf<C>> };
  readonly granularity: Granularity;
  /**
   * Named aggregates. Typed per name (not as one inferred record) so that each aggregate's
   * extractor is contextually typed with the stream's event: `sum((e) => e.bytes)`.
   */
  readonly aggregates: { readonly [name in K]: AnyAggregator<EventOf<C>> };
}

export interface View<E = unknown, S = unknown, O = unknown> {
  readonly name: string;
  readonly version: number;
  readonly description: string;
  readonly stream: StreamContract;
  readonly granularity: Granularity;
  readonly dimensions: readonly string[];
  /** Names and kinds of the aggregates, in the state's field order. */
  readonly aggregates: readonly { readonly name: string; readonly kind: string; readonly params: { readonly [k: string]: Json } }[];
  /** The record aggregator over all named aggregates. */
  readonly aggregator: Aggregator<E, S, O>;
  /** `v<version>-<hash>`: rows of different transform versions are never merged. */
  readonly transformVersion: string;
  /** Whether the view takes this event (its filter). */
  readonly accepts: (event: E) => boolean;
  /** The encoded key of an event's cell. */
  readonly keyOf: (event: E) => string;
  /** The dimension values of an encoded key. */
  readonly decodeKey: (key: string) => readonly string[];
  /** The encoded key of dimension values (inverse of decodeKey). */
  readonly encodeKey: (values: readonly (string | number)[]) => string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyView = View<any, any, any>;

const VIEW_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** Keys a multi-dimension view remembers before starting afresh (bounds memory on high-cardinality keys). */
const KEY_MEMO_LIMIT = 16_384;

/**
 * The JSON-array key of several dimensions, remembered by the dimension values: a view's
 * events repeat few combinations (routes, status and method), and building the text costs
 * more than finding it again. Values other than strings and numbers are not remembered.
 */
function memoisedKeyOf<E>(extractors: readonly Dimension<E>[]): (event: E) => string {
  const depth = extractors.length;
  const values: (string | number)[] = new Array(depth);
  const encode = () => JSON.stringify(values.map(String));
  // Maps by the first value, then the next, ...; the last level holds the key text.
  type Level = Map<string | number, Level | string>;
  let memo: Level = new Map();
  let remembered = 0;
  return (e: E) => {
    let plain = true;
    for (let d = 0; d < depth; d++) {
      const v = extractors[d](e);
      values[d] = v;
      if (typeof v !== 'string' && typeof v !== 'number') plain = false;
    }
    if (!plain) return encode();
    let level = memo;
    for (let d = 0; d < depth - 1; d++) {
      let next = level.get(values[d]) as Level | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(values[d], next);
      }
      level = next;
    }
    let key = level.get(values[depth - 1]) as string | undefined;
    if (key === undefined) {
      key = encode();
      if (remembered >= KEY_MEMO_LIMIT) {
        memo = new Map();
        remembered = 0;
      } else {
        level.set(values[depth - 1], key);
        remembered++;
      }
    }
    return key;
  };
}

export function defineView<C extends StreamContract, K extends string>(
  stream: C,
  options: ViewOptions<C, K>,
): View<EventOf<C>, { [name in K]: unknown }, { [name in K]: unknown }> {
  type E = EventOf<C>;
  type R = AggregateRecord<E>;
  const where = `view "${options.name}"`;
  if (!VIEW_NAME.test(options.name)) throw new RangeError(`${where}: name must match ${VIEW_NAME}`);
  if (!Number.isInteger(options.version) || options.version < 1) throw new RangeError(`${where}: version must be a positive integer`);
  if (!isGranularity(options.granularity)) throw new RangeError(`${where}: granularity must be minute, hour or day`);
  const dimensions = Object.keys(options.key);
  if (dimensions.length === 0) throw new RangeError(`${where}: at least one key dimension is required`);
  const extractors = dimensions.map((d) => options.key[d]);
  const agg = record<E, R>(options.aggregates as R) as unknown as Aggregator<E, { [name in K]: unknown }, { [name in K]: unknown }>;
  const aggregates = Object.keys(options.aggregates)
    .sort()
    .map((name) => ({ name, kind: (options.aggregates as R)[name].kind, params: (options.aggregates as R)[name].params }));

  // One dimension: the raw value is the key. Several: a JSON array, unambiguous for any value.
  const single = dimensions.length === 1;
  const encodeKey = (values: readonly (string | number)[]) => (single ? String(values[0]) : JSON.stringify(values.map(String)));
  const keyOf = single ? (e: E) => String(extractors[0](e)) : memoisedKeyOf(extractors);
  const decodeKey = (key: string): readonly string[] => {
    if (single) return [key];
    const parsed: unknown = JSON.parse(key);
    if (!Array.isArray(parsed) || parsed.length !== dimensions.length) {
      throw new RangeError(`${where}: key must be a JSON array of ${dimensions.length} values (${dimensions.join(', ')})`);
    }
    return parsed.map(String);
  };

  const definition: Json = {
    name: options.name,
    version: options.version,
    stream: `${stream.name}.v${stream.version}`,
    filtered: options.filter !== undefined,
    dimensions,
    granularity: options.granularity,
    aggregates: aggregates as unknown as Json,
  };
  const text = canonicalJson(definition);
  const hash = (murmur3(text, 1).toString(16).padStart(8, '0') + murmur3(text, 2).toString(16).padStart(8, '0')).slice(0, 12);
  const filter = options.filter;

  return Object.freeze({
    name: options.name,
    version: options.version,
    description: options.description ?? '',
    stream: stream as StreamContract,
    granularity: options.granularity,
    dimensions,
    aggregates,
    aggregator: agg,
    transformVersion: `v${options.version}-${hash}`,
    accepts: filter ? (e: E) => filter(e) : () => true,
    keyOf,
    decodeKey,
    encodeKey,
  });
}
