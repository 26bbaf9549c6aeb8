import { type Message, Partitioners, type Producer } from 'kafkajs';
import { TandemError } from '../errors/tandem-error';
import type { LogProducer, ProducedPosition, ProduceMessage } from '../log/log-port';
import { kafkaCall } from './kafka-errors';

/**
 * The producer side of the Kafka log: acks=all, idempotent (unless turned off for a service
 * without idempotence), Java-compatible key partitioning, so Kafka tools and other clients
 * agree on where a key lives.
 *
 * `send` reports the position of every message. Partitions are chosen here rather than by
 * kafkajs, and each request carries one record batch per partition, whose records get
 * consecutive offsets from the batch's base offset.
 */

/** Largest request sent at once; below the broker's default message.max.bytes (1 MiB). */
const MAX_REQUEST_BYTES = 768 * 1024;

export class KafkaLogProducer implements LogProducer {
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private readonly partitionCounts = new Map<string, number>();

  constructor(
    private readonly producer: Producer,
    private readonly partitionCount: (topic: string) => Promise<number>,
    private readonly onClose: () => Promise<void>,
  ) {}

  async send(topic: string, messages: readonly ProduceMessage[]): Promise<readonly ProducedPosition[]> {
    if (messages.length === 0) return [];
    const count = await this.partitionsOf(topic);
    const metadata = Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
    const prepared: Message[] = messages.map((m) => {
      const message: Message = {
        key: m.key,
        value: m.value,
        ...(m.headers ? { headers: { ...m.headers } } : {}),
        ...(m.timestamp !== undefined ? { timestamp: String(m.timestamp) } : {}),
      };
      const partition = m.partition ?? this.partitioner({ topic, partitionMetadata: metadata, message });
      if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
        throw new TandemError(`produce to ${topic}: partition ${partition} does not exist (the topic has ${count})`);
      }
      message.partition = partition;
      return message;
    });

    const positions: ProducedPosition[] = new Array(messages.length);
    for (const [from, to] of requestRanges(prepared)) {
      const slice = prepared.slice(from, to);
      const metadata = await kafkaCall(`produce to ${topic}`, () => this.producer.send({ topic, acks: -1, messages: slice }));
      const next = new Map(metadata.map((m) => [m.partition, Number(m.baseOffset)]));
      for (let i = from; i < to; i++) {
        const partition = prepared[i].partition!;
        const offset = next.get(partition);
        if (offset === undefined) throw new TandemError(`produce to ${topic}: no position reported for partition ${partition}`, true);
        positions[i] = { partition, offset };
        next.set(partition, offset + 1);
      }
    }
    return positions;
  }

  close(): Promise<void> {
    return this.onClose();
  }

  private async partitionsOf(topic: string): Promise<number> {
    let count = this.partitionCounts.get(topic);
    if (count === undefined) {
      count = await this.partitionCount(topic);
      if (count === 0) throw new TandemError(`produce to ${topic}: the topic does not exist`);
      this.partitionCounts.set(topic, count);
    }
    return count;
  }
}

/** Splits messages into consecutive ranges of roughly MAX_REQUEST_BYTES each. */
function requestRanges(messages: readonly Message[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let from = 0;
  let bytes = 0;
  for (let i = 0; i < messages.length; i++) {
    const size = sizeOf(messages[i].value) + sizeOf(messages[i].key) + 64;
    if (i > from && bytes + size > MAX_REQUEST_BYTES) {
      ranges.push([from, i]);
      from = i;
      bytes = 0;
    }
    bytes += size;
  }
  ranges.push([from, messages.length]);
  return ranges;
}

function sizeOf(value: Message['value'] | Message['key']): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}
