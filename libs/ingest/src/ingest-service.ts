import {
  DEFAULT_MAX_EVENT_BYTES,
  type DeadLetterReason,
  deadLetterHeaders,
  decodeEvent,
  type StreamContract,
  streamByName,
  streamNames,
} from '@tandem/contracts';
import type { Log, LogProducer, ProduceMessage } from '@tandem/platform';
import { InvalidPublishError, LogUnavailableError, UnknownStreamError } from './ingest-errors';
import type { EventResult, PublishResult } from './publish-model';

export interface IngestServiceOptions {
  /** The log to publish to (Kafka, or the embedded log). */
  readonly log: Log;
  /** Streams accepted; every registered stream by default. */
  readonly streams?: readonly AnyStreamContract[];
  /** Prefix of every topic name in the deployment (TANDEM_TOPIC_PREFIX). */
  readonly topicPrefix?: string;
  /** Largest event, in bytes of JSON text; larger ones are rejected as `oversized`. Default 512 KiB. */
  readonly maxEventBytes?: number;
  /** Most events in one request. Default 10,000. */
  readonly maxEventsPerRequest?: number;
  /** How long a publish may wait for the log (connecting included) before answering unavailable. Default 5 s. */
  readonly sendTimeoutMs?: number;
  /** Sends allowed to wait for the log at once; beyond, requests are refused at once. Default 256. */
  readonly maxPendingSends?: number;
  /** Whether rejected events are also written to the stream's dead-letter topic. Default true. */
  readonly deadLetters?: boolean;
  /** Told about every publish, for metrics. */
  readonly observer?: IngestObserver;
}

/**
 * A stream contract of any event type: `key`/`eventTime` take the contract's own event type,
 * so a list of different streams widens them to `never`.
 */
export type AnyStreamContract = Omit<StreamContract, 'key' | 'eventTime'> & {
  readonly key: (event: never) => string;
  readonly eventTime: (event: never) => number;
};

export interface IngestObserver {
  published(stream: string, accepted: number, rejected: ReadonlyMap<DeadLetterReason, number>): void;
  unavailable(stream: string, reason: string): void;
}

/** An event checked against its contract: ready for the log, or rejected with the reason. */
type Checked =
  | { readonly ok: true; readonly message: ProduceMessage }
  | { readonly ok: false; readonly reason: DeadLetterReason; readonly detail: string; readonly raw: Buffer | null };

export const DEFAULT_INGEST_MAX_EVENT_BYTES = 512 * 1024;

/**
 * Ingest (DESIGN.md section 1): validates events against their stream's contract and appends
 * the valid ones to the stream's topic with the log's idempotent, acks=all producer. When
 * `publish*` resolves, every accepted event is durably in the log at the position reported.
 *
 * The service starts without the log: topics are ensured and the producer connected on
 * first need, and a log that does not answer within `sendTimeoutMs` is a
 * LogUnavailableError (HTTP 503), never a hung request.
 */
export class IngestService {
  private readonly contracts: ReadonlyMap<string, StreamContract>;
  private readonly prefix: string;
  private readonly maxEventBytes: number;
  private readonly maxEvents: number;
  private readonly sendTimeoutMs: number;
  private readonly maxPending: number;
  private readonly deadLetters: boolean;
  private connecting: Promise<LogProducer> | undefined;
  private pending = 0;
  private closed = false;

  constructor(private readonly options: IngestServiceOptions) {
    // Events are validated by the contract before `key` sees them, so the widening is safe.
    const streams = (options.streams as readonly StreamContract[] | undefined) ?? streamNames.map((n) => streamByName(n));
    this.contracts = new Map(streams.map((s) => [s.name, s]));
    this.prefix = options.topicPrefix ?? '';
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_INGEST_MAX_EVENT_BYTES;
    if (this.maxEventBytes > DEFAULT_MAX_EVENT_BYTES) {
      // The speed layer and the archiver refuse larger records; accepting them here would only move the rejection.
      throw new RangeError(`maxEventBytes ${this.maxEventBytes} exceeds the consumers' limit of ${DEFAULT_MAX_EVENT_BYTES}`);
    }
    this.maxEvents = options.maxEventsPerRequest ?? 10_000;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 5_000;
    this.maxPending = options.maxPendingSends ?? 256;
    this.deadLetters = options.deadLetters ?? true;
  }

  /** Streams accepted, by name. */
  get streams(): readonly StreamContract[] {
    return [...this.contracts.values()];
  }

  /** The topic of a stream in this deployment. */
  topicOf(stream: StreamContract): string {
    return `${this.prefix}${stream.topic}`;
  }

  /** Starts connecting in the background; publishing works (or answers unavailable) either way. */
  start(): void {
    this.producer().catch(() => undefined);
  }

  /** Publishes parsed JSON values (REST bodies). */
  async publishValues(stream: string, values: readonly unknown[]): Promise<PublishResult> {
    const contract = this.contractOf(stream);
    this.checkCount(values.length);
    return this.publish(contract, values.map((v) => this.checkValue(contract, v)));
  }

  /** Publishes events as JSON text (gRPC), decoded exactly as consumers decode records. */
  async publishTexts(stream: string, texts: readonly (string | Uint8Array)[]): Promise<PublishResult> {
    const contract = this.contractOf(stream);
    this.checkCount(texts.length);
    return this.publish(
      contract,
      texts.map((t) => this.checkText(contract, typeof t === 'string' ? Buffer.from(t, 'utf8') : Buffer.from(t.buffer, t.byteOffset, t.byteLength))),
    );
  }

  /** Whether the log answers (health). */
  ping(): Promise<boolean> {
    return this.options.log.ping();
  }

  /** Stops publishing; a connection still being made is closed when it completes, without waiting for it. */
  async close(): Promise<void> {
    this.closed = true;
    const connecting = this.connecting;
    this.connecting = undefined;
    if (connecting === undefined) return;
    const closing = connecting.then(
      (p) => p.close(),
      () => undefined,
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closing, new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]).finally(() => clearTimeout(timer));
  }

  private contractOf(stream: string): StreamContract {
    const contract = typeof stream === 'string' ? this.contracts.get(stream) : undefined;
    if (contract === undefined) throw new UnknownStreamError(String(stream), [...this.contracts.keys()]);
    return contract;
  }

  private checkCount(n: number): void {
    if (n === 0) throw new InvalidPublishError('events', 'no events: send a non-empty list');
    if (n > this.maxEvents) throw new InvalidPublishError('events', `${n} events exceed the limit of ${this.maxEvents} per request`);
  }

  private checkValue(contract: StreamContract, value: unknown): Checked {
    const text = JSON.stringify(value);
    const bytes = Buffer.from(text ?? 'null', 'utf8');
    if (bytes.byteLength > this.maxEventBytes) {
      return { ok: false, reason: 'oversized', detail: `${bytes.byteLength} bytes exceeds the limit of ${this.maxEventBytes} bytes`, raw: null };
    }
    const result = contract.validate(value);
    if (!result.ok) return { ok: false, reason: 'schema-violation', detail: `${contract.name} v${contract.version}: ${result.errors.join('; ')}`, raw: bytes };
    return { ok: true, message: { key: contract.key(result.value), value: bytes } };
  }

  private checkText(contract: StreamContract, bytes: Buffer): Checked {
    const decoded = decodeEvent(contract, bytes, { maxBytes: this.maxEventBytes });
    if (!decoded.ok) return { ok: false, reason: decoded.reason, detail: decoded.detail, raw: decoded.reason === 'oversized' ? null : bytes };
    return { ok: true, message: { key: contract.key(decoded.value), value: bytes } };
  }

  private async publish(contract: StreamContract, checked: readonly Checked[]): Promise<PublishResult> {
    const accepted: ProduceMessage[] = [];
    const rejected: ProduceMessage[] = [];
    const at = new Date();
    for (const c of checked) {
      if (c.ok) accepted.push(c.message);
      else if (this.deadLetters) {
        // The original bytes stay the value; an oversized event keeps only its description.
        rejected.push({ key: null, value: c.raw ?? Buffer.alloc(0), headers: deadLetterHeaders({ reason: c.reason, detail: c.detail, at }) });
      }
    }
    const [positions] = await Promise.all([
      accepted.length > 0 ? this.send(contract, this.topicOf(contract), accepted) : Promise.resolve([]),
      rejected.length > 0 ? this.send(contract, `${this.prefix}${contract.deadLetterTopic}`, rejected) : Promise.resolve([]),
    ]);
    const results: EventResult[] = [];
    const reasons = new Map<DeadLetterReason, number>();
    let next = 0;
    checked.forEach((c, index) => {
      if (c.ok) {
        const p = positions[next++];
        results.push({ index, accepted: true, partition: p.partition, offset: p.offset });
      } else {
        reasons.set(c.reason, (reasons.get(c.reason) ?? 0) + 1);
        results.push({ index, accepted: false, reason: c.reason, detail: c.detail });
      }
    });
    this.options.observer?.published(contract.name, accepted.length, reasons);
    return { stream: contract.name, accepted: accepted.length, rejected: checked.length - accepted.length, results };
  }

  /** Sends within the time limit, or fails with LogUnavailableError. */
  private async send(contract: StreamContract, topic: string, messages: readonly ProduceMessage[]) {
    if (this.closed) throw new LogUnavailableError('ingest is shutting down', 1);
    if (this.pending >= this.maxPending) {
      this.options.observer?.unavailable(contract.name, 'backlog');
      throw new LogUnavailableError(`${this.pending} sends are already waiting for the log; it is slow or unreachable`, 1);
    }
    this.pending++;
    const sending = this.producer()
      .then((p) => p.send(topic, messages))
      .finally(() => this.pending--);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        sending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new LogUnavailableError(`the log did not acknowledge ${messages.length} event(s) to ${topic} within ${this.sendTimeoutMs} ms`, retryAfter(this.sendTimeoutMs))), this.sendTimeoutMs);
        }),
      ]);
    } catch (error) {
      if (error instanceof LogUnavailableError) {
        this.options.observer?.unavailable(contract.name, 'timeout');
        // The send goes on in the producer; its outcome is no longer ours to report.
        sending.catch(() => undefined);
        throw error;
      }
      if (isUnavailability(error)) {
        this.options.observer?.unavailable(contract.name, 'error');
        throw new LogUnavailableError((error as Error).message, retryAfter(this.sendTimeoutMs), { cause: error });
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The producer, connecting (and ensuring topics) on first need; a failed attempt is retried next time. */
  private producer(): Promise<LogProducer> {
    if (this.connecting === undefined) {
      const connecting = (async () => {
        const admin = await this.options.log.admin();
        for (const contract of this.contracts.values()) {
          await admin.ensureTopic(this.topicOf(contract), contract.partitions);
          if (this.deadLetters) await admin.ensureTopic(`${this.prefix}${contract.deadLetterTopic}`, contract.partitions);
        }
        return this.options.log.producer();
      })();
      this.connecting = connecting;
      connecting.catch(() => {
        if (this.connecting === connecting) this.connecting = undefined;
      });
    }
    return this.connecting;
  }
}

const retryAfter = (timeoutMs: number): number => Math.max(1, Math.ceil(timeoutMs / 1000));

// kafkajs reports a broker that stayed unreachable through every retry as a non-retriable
// "retries exceeded" error wrapping the connection error; for a caller of ingest that is
// still the log being unavailable, so the whole cause chain is looked at.
const UNAVAILABLE = /Connection|Timeout|NumberOfRetriesExceeded|BrokerNotFound|LeaderNotAvailable|NotLeader|NotEnoughReplicas|ECONNREFUSED|ECONNRESET/;

function isUnavailability(error: unknown): boolean {
  for (let e = error, depth = 0; e !== null && typeof e === 'object' && depth < 8; depth++) {
    const x = e as { retriable?: unknown; name?: unknown; type?: unknown; code?: unknown; cause?: unknown; originalError?: unknown };
    if (x.retriable === true) return true;
    if ([x.name, x.type, x.code].some((v) => typeof v === 'string' && UNAVAILABLE.test(v))) return true;
    e = x.originalError ?? x.cause;
  }
  return false;
}
