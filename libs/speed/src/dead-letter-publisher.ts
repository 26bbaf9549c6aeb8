import { type DeadLetterReason, deadLetterHeaders } from '@tandem/contracts';
import type { Log, LogProducer, LogRecord, ProduceMessage } from '@tandem/platform';

/**
 * Sends rejected records to their stream's dead-letter topic: the original key and bytes,
 * untouched, with the reason, the detail and the source position in headers.
 *
 * Delivery is at-least-once: dead letters are sent before the transaction that moves the
 * partition past them commits, so a crash in between sends them again on replay. A reader
 * deduplicates by the source topic, partition and offset headers, which identify a record.
 */
export interface Rejection {
  readonly record: LogRecord;
  readonly reason: DeadLetterReason;
  readonly detail: string;
}

export class DeadLetterPublisher {
  private producer: Promise<LogProducer> | undefined;

  constructor(private readonly log: Log) {}

  async publish(deadLetterTopic: string, rejections: readonly Rejection[]): Promise<void> {
    if (rejections.length === 0) return;
    const at = new Date();
    const messages: ProduceMessage[] = rejections.map(({ record, reason, detail }) => ({
      key: record.key,
      value: record.value ?? Buffer.alloc(0),
      headers: {
        ...record.headers,
        ...deadLetterHeaders({ reason, detail, topic: record.topic, partition: record.partition, offset: record.offset, at }),
      },
    }));
    await (await this.connected()).send(deadLetterTopic, messages);
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    if (producer) await producer.then((p) => p.close()).catch(() => undefined);
  }

  private connected(): Promise<LogProducer> {
    if (!this.producer) {
      const connecting = this.log.producer();
      this.producer = connecting;
      connecting.catch(() => {
        if (this.producer === connecting) this.producer = undefined;
      });
    }
    return this.producer;
  }
}
