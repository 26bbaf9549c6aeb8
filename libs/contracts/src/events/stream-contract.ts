import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/**
 * A stream contract: the one definition of an event stream that ingest, speed, batch and
 * serving all share. The schema is the contract: only events that pass it reach the log.
 *
 * Topic naming follows DESIGN.md section 1: `tandem.<stream>.v<N>`, dead letters in
 * `tandem.<stream>.dlq`.
 */
export interface StreamContract<S extends TSchema = TSchema> {
  /** Stream name, lower snake case, e.g. `http_requests`. */
  readonly name: string;
  /** Schema version; a breaking change to the schema is a new version (and a new topic). */
  readonly version: number;
  /** Kafka topic of accepted events. */
  readonly topic: string;
  /** Kafka topic of rejected events, with the reason in headers. */
  readonly deadLetterTopic: string;
  /** Default partition count when the platform creates the topic. */
  readonly partitions: number;
  /** JSON Schema (TypeBox) of one event. */
  readonly schema: S;
  // Declared as methods (bivariant parameters) so that any concrete contract is also a
  // `StreamContract` and contracts of different streams fit in one list.
  /** Partitioning key of an event (Kafka message key). */
  key(event: Static<S>): string;
  /** Event time in epoch milliseconds (what views bucket by). */
  eventTime(event: Static<S>): number;
  /** Validates an unknown value against the schema; never throws. */
  validate(value: unknown): Validation<Static<S>>;
}

export type EventOf<C> = C extends StreamContract<infer S> ? Static<S> : never;

export type Validation<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly errors: readonly string[] };

export interface StreamContractOptions<S extends TSchema> {
  readonly name: string;
  readonly version: number;
  readonly schema: S;
  readonly key: (event: Static<S>) => string;
  readonly eventTime: (event: Static<S>) => number;
  readonly partitions?: number;
}

const STREAM_NAME = /^[a-z][a-z0-9_]{0,62}$/;

export const topicOf = (name: string, version: number): string => `tandem.${name}.v${version}`;
export const deadLetterTopicOf = (name: string): string => `tandem.${name}.dlq`;

/**
 * Defines a stream contract. The schema is compiled once (TypeBox's compiler emits a
 * specialised checker function), so validation on the hot path costs one function call.
 */
export function defineStream<S extends TSchema>(options: StreamContractOptions<S>): StreamContract<S> {
  if (!STREAM_NAME.test(options.name)) {
    throw new Error(`stream name "${options.name}" must match ${STREAM_NAME}`);
  }
  if (!Number.isInteger(options.version) || options.version < 1) {
    throw new Error(`stream "${options.name}": version must be a positive integer, got ${options.version}`);
  }
  const partitions = options.partitions ?? 4;
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new Error(`stream "${options.name}": partitions must be a positive integer, got ${partitions}`);
  }
  const checker = TypeCompiler.Compile(options.schema);
  const validate = (value: unknown): Validation<Static<S>> => {
    if (checker.Check(value)) return { ok: true, value };
    const errors: string[] = [];
    for (const e of checker.Errors(value)) {
      errors.push(`${e.path || '/'}: ${e.message}`);
      if (errors.length >= 5) break;
    }
    return { ok: false, errors };
  };
  return Object.freeze({
    name: options.name,
    version: options.version,
    topic: topicOf(options.name, options.version),
    deadLetterTopic: deadLetterTopicOf(options.name),
    partitions,
    schema: options.schema,
    key: options.key,
    eventTime: options.eventTime,
    validate,
  });
}
