import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { LogRecord } from '../log/log-port';

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * A fetched Kafka message as a log record. Offsets and timestamps become numbers (exact
 * below 2^53); headers are decoded only when read, since the hot path never reads them.
 */
export class KafkaRecord implements LogRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  private readonly rawHeaders: IHeaders | undefined;
  private decodedHeaders: Readonly<Record<string, string>> | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    message: KafkaMessage,
  ) {
    this.offset = Number(message.offset);
    this.timestamp = Number(message.timestamp);
    this.key = message.key ?? null;
    this.value = message.value ?? null;
    this.rawHeaders = message.headers;
  }

  get headers(): Readonly<Record<string, string>> {
    if (this.decodedHeaders === undefined) this.decodedHeaders = decodeHeaders(this.rawHeaders);
    return this.decodedHeaders;
  }
}

/** Kafka allows repeated header names; the last value wins, as in the Java client's `lastHeader`. */
function decodeHeaders(headers: IHeaders | undefined): Readonly<Record<string, string>> {
  if (!headers) return NO_HEADERS;
  const names = Object.keys(headers);
  if (names.length === 0) return NO_HEADERS;
  const out: Record<string, string> = {};
  for (const name of names) {
    const raw = headers[name];
    const one = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (one !== undefined) out[name] = typeof one === 'string' ? one : one.toString('utf8');
  }
  return out;
}
