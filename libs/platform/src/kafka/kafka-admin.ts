import type { Admin } from 'kafkajs';
import { TandemError } from '../errors/tandem-error';
import type { LogAdmin } from '../log/log-port';
import { kafkaCall } from './kafka-errors';

/** Topic administration and end offsets, over one connected kafkajs admin client. */
export class KafkaLogAdmin implements LogAdmin {
  constructor(
    private readonly admin: Admin,
    private readonly onClose: () => Promise<void> = () => admin.disconnect(),
  ) {}

  async ensureTopic(topic: string, partitions: number): Promise<void> {
    if (!Number.isInteger(partitions) || partitions < 1) throw new TandemError(`topic ${topic}: partitions must be a positive integer, got ${partitions}`);
    // Checked first: creating an existing topic makes kafkajs log an error.
    const existing = await kafkaCall('list topics', () => this.admin.listTopics());
    if (!existing.includes(topic)) {
      const created = await kafkaCall(`create topic ${topic}`, () =>
        this.admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true }),
      );
      if (created) return;
    }
    const actual = await this.partitionCount(topic);
    if (actual !== partitions) {
      throw new TandemError(`topic ${topic} exists with ${actual} partitions, expected ${partitions}; refusing to use it`);
    }
  }

  async partitionCount(topic: string): Promise<number> {
    const metadata = await kafkaCall(`describe topic ${topic}`, () => this.admin.fetchTopicMetadata({ topics: [topic] }));
    return metadata.topics[0]?.partitions.length ?? 0;
  }

  async endOffsets(topic: string): Promise<ReadonlyMap<number, number>> {
    const offsets = await kafkaCall(`end offsets of ${topic}`, () => this.admin.fetchTopicOffsets(topic));
    return new Map(offsets.map((o) => [o.partition, Number(o.high)] as const).sort((a, b) => a[0] - b[0]));
  }

  close(): Promise<void> {
    return this.onClose();
  }
}
