/**
 * How a rejected record is described when it goes to `tandem.<stream>.dlq`: the original
 * bytes stay the record value, untouched, and the why / where / when travel as Kafka headers,
 * so a dead-letter reader can show, count and replay records without re-parsing them.
 */

export const DEAD_LETTER_REASONS = [
  /** The value is not JSON (or not UTF-8 JSON text). */
  'malformed-json',
  /** Valid JSON that does not satisfy the stream's schema. */
  'schema-violation',
  /** Larger than the stream's byte limit; rejected before parsing. */
  'oversized',
  /** Published to a stream name no contract defines. */
  'unknown-stream',
  /** The record could not be read at all: no value (tombstone), invalid UTF-8. */
  'decode-error',
] as const;

export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export const DEAD_LETTER_REASON_HEADER = 'tandem-dlq-reason';
export const DEAD_LETTER_DETAIL_HEADER = 'tandem-dlq-detail';
export const DEAD_LETTER_SOURCE_TOPIC_HEADER = 'tandem-dlq-source-topic';
export const DEAD_LETTER_SOURCE_PARTITION_HEADER = 'tandem-dlq-source-partition';
export const DEAD_LETTER_SOURCE_OFFSET_HEADER = 'tandem-dlq-source-offset';
export const DEAD_LETTER_AT_HEADER = 'tandem-dlq-at';

/**
 * Headers are part of the record and count against the broker's message size limit, so a
 * long detail (hundreds of schema errors) is cut here rather than failing the produce.
 */
export const DEAD_LETTER_DETAIL_MAX_CHARS = 2048;

/**
 * A dead letter's description. The source position is absent when ingest rejects an event
 * before it ever reached a topic (REST or gRPC input); present when a consumer rejects a
 * record it read from the log.
 */
export interface DeadLetter {
  readonly reason: DeadLetterReason;
  readonly detail: string;
  readonly topic?: string;
  readonly partition?: number;
  /** Kafka offset as a decimal string (int64 does not fit a JS number). */
  readonly offset?: string;
  /** When the record was dead-lettered, ISO-8601 UTC. */
  readonly at: string;
}

export interface DeadLetterInput extends Omit<DeadLetter, 'offset' | 'at'> {
  readonly offset?: string | number | bigint;
  readonly at: Date | string;
}

/** Kafka's `IHeaders` shape, without importing a Kafka client. */
export type RecordHeaders = Readonly<Record<string, string | Buffer | ReadonlyArray<string | Buffer> | undefined>>;

const OFFSET = /^(0|[1-9]\d*)$/;

export function isDeadLetterReason(value: string): value is DeadLetterReason {
  return (DEAD_LETTER_REASONS as readonly string[]).includes(value);
}

/** Builds the headers of a dead-letter record. Throws on a value no reader could parse back. */
export function deadLetterHeaders(input: DeadLetterInput): Record<string, string> {
  if (!isDeadLetterReason(input.reason)) {
    throw new TypeError(`dead letter: reason "${input.reason}" is not one of ${DEAD_LETTER_REASONS.join(', ')}`);
  }
  const at = input.at instanceof Date ? input.at : new Date(input.at);
  if (Number.isNaN(at.getTime())) throw new TypeError(`dead letter: at ${String(input.at)} is not a date`);
  const headers: Record<string, string> = {
    [DEAD_LETTER_REASON_HEADER]: input.reason,
    [DEAD_LETTER_DETAIL_HEADER]: truncate(input.detail, DEAD_LETTER_DETAIL_MAX_CHARS),
    [DEAD_LETTER_AT_HEADER]: at.toISOString(),
  };
  if (input.topic !== undefined) headers[DEAD_LETTER_SOURCE_TOPIC_HEADER] = input.topic;
  if (input.partition !== undefined) {
    if (!Number.isInteger(input.partition) || input.partition < 0) {
      throw new TypeError(`dead letter: partition ${input.partition} is not a non-negative integer`);
    }
    headers[DEAD_LETTER_SOURCE_PARTITION_HEADER] = String(input.partition);
  }
  if (input.offset !== undefined) {
    const offset = String(input.offset);
    if (!OFFSET.test(offset)) throw new TypeError(`dead letter: offset ${offset} is not a non-negative integer`);
    headers[DEAD_LETTER_SOURCE_OFFSET_HEADER] = offset;
  }
  return headers;
}

export type ParsedDeadLetter =
  | { readonly ok: true; readonly value: DeadLetter }
  | { readonly ok: false; readonly error: string };

/**
 * Reads the headers of a dead-letter record back. Never throws: a reader of the dead-letter
 * topic must get past a record that someone else wrote badly.
 */
export function parseDeadLetterHeaders(headers: RecordHeaders): ParsedDeadLetter {
  const get = (name: string): string | undefined => headerText(headers[name]);
  const reason = get(DEAD_LETTER_REASON_HEADER);
  if (reason === undefined) return { ok: false, error: `missing header ${DEAD_LETTER_REASON_HEADER}` };
  if (!isDeadLetterReason(reason)) {
    return { ok: false, error: `header ${DEAD_LETTER_REASON_HEADER}: "${reason}" is not one of ${DEAD_LETTER_REASONS.join(', ')}` };
  }
  const at = get(DEAD_LETTER_AT_HEADER);
  if (at === undefined || Number.isNaN(Date.parse(at))) {
    return { ok: false, error: `header ${DEAD_LETTER_AT_HEADER}: ${at === undefined ? 'missing' : `"${at}" is not a date`}` };
  }
  const partitionText = get(DEAD_LETTER_SOURCE_PARTITION_HEADER);
  if (partitionText !== undefined && !OFFSET.test(partitionText)) {
    return { ok: false, error: `header ${DEAD_LETTER_SOURCE_PARTITION_HEADER}: "${partitionText}" is not a partition number` };
  }
  const offset = get(DEAD_LETTER_SOURCE_OFFSET_HEADER);
  if (offset !== undefined && !OFFSET.test(offset)) {
    return { ok: false, error: `header ${DEAD_LETTER_SOURCE_OFFSET_HEADER}: "${offset}" is not an offset` };
  }
  const topic = get(DEAD_LETTER_SOURCE_TOPIC_HEADER);
  return {
    ok: true,
    value: {
      reason,
      detail: get(DEAD_LETTER_DETAIL_HEADER) ?? '',
      ...(topic === undefined ? {} : { topic }),
      ...(partitionText === undefined ? {} : { partition: Number(partitionText) }),
      ...(offset === undefined ? {} : { offset }),
      at,
    },
  };
}

/** Kafka allows repeated headers; ours are written once, so the last value wins. */
function headerText(value: RecordHeaders[string]): string | undefined {
  const one = Array.isArray(value) ? value[value.length - 1] : value;
  if (one === undefined) return undefined;
  return typeof one === 'string' ? one : one.toString('utf8');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
