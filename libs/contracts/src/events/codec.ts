import type { Static, TSchema } from '@sinclair/typebox';
import { ContractViolationError } from '../errors';
import type { DeadLetterReason } from './dead-letter';
import type { StreamContract } from './stream-contract';

/**
 * Events travel on Kafka as UTF-8 JSON text, one event per record. JSON keeps the log
 * readable by anything (kcat, Spark, DuckDB) and the schema, not the encoding, carries the
 * contract.
 */

/** Why a record could not become an event; each is also a dead-letter reason. */
export type DecodeFailureReason = Exclude<DeadLetterReason, 'unknown-stream'>;

export type Decoded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: DecodeFailureReason; readonly detail: string };

export interface DecodeOptions {
  /**
   * Largest accepted value, in bytes; checked before parsing so a huge record costs
   * nothing. Defaults to 1 MiB, Kafka's default `max.message.bytes` order of magnitude.
   */
  readonly maxBytes?: number;
}

export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

// `fatal` makes invalid UTF-8 an error instead of silently becoming U+FFFD; a leading BOM
// is dropped, as JSON text may not start with one.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes one record value into an event of `contract`. Never throws: every failure is a
 * reason and a human-readable detail, ready for the dead-letter headers.
 *
 * Fast path: one size check, one UTF-8 decode, `JSON.parse`, one compiled schema check.
 */
export function decodeEvent<S extends TSchema>(
  contract: StreamContract<S>,
  bytes: Uint8Array | null | undefined,
  options: DecodeOptions = {},
): Decoded<Static<S>> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_EVENT_BYTES;
  if (bytes === null || bytes === undefined) {
    return { ok: false, reason: 'decode-error', detail: 'record has no value (tombstone)' };
  }
  if (bytes.byteLength > maxBytes) {
    return { ok: false, reason: 'oversized', detail: `${bytes.byteLength} bytes exceeds the limit of ${maxBytes} bytes` };
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, reason: 'decode-error', detail: 'value is not valid UTF-8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: 'malformed-json', detail: (error as Error).message };
  }
  const result = contract.validate(value);
  if (result.ok) return result;
  return { ok: false, reason: 'schema-violation', detail: `${contract.name} v${contract.version}: ${result.errors.join('; ')}` };
}

/**
 * Encodes an event for the log. The event is checked first: the log only ever holds events
 * that pass their contract, so writing one that does not is a bug, reported as a
 * non-retriable ContractViolationError.
 */
export function encodeEvent<S extends TSchema>(contract: StreamContract<S>, event: Static<S>): Buffer {
  const result = contract.validate(event);
  if (!result.ok) throw new ContractViolationError(`event does not match ${contract.name} v${contract.version}`, result.errors);
  return Buffer.from(JSON.stringify(event), 'utf8');
}
