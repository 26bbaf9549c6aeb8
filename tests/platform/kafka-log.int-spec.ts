import { KafkaLog, LogBatch, LogConsumer, TopicPartition } from '@tandem/platform';
// The Kafka log adapter against a real broker: positions reported by the producer, consumers
// that start where the caller's store says (not where the group's Kafka offsets say), failed
// batches re-read from the store, and Kafka offsets committed only behind the store.
import { createTopic, testEnv, uniqueName } from '@tandem/testkit';
import { Kafka, logLevel } from 'kafkajs';

const { brokers } = testEnv();

/** A consumer's durable store, as the speed layer keeps it in PostgreSQL. */
class OffsetStore {
  readonly next = new Map<string, number>();
  readonly applied: Array<{ partition: number; offset: number; value: string }> = [];
  loads = 0;

  startOffsets = async (assigned: readonly TopicPartition[]) => {
    this.loads++;
    return new Map(assigned.map((tp) => [`${tp.topic}:${tp.partition}`, this.next.get(`${tp.topic}:${tp.partition}`) ?? 0]));
  };

  apply(batch: LogBatch): void {
    const key = `${batch.topic}:${batch.partition}`;
    for (const r of batch.records) {
      const expected = this.next.get(key) ?? 0;
      if (r.offset < expected) continue;
      if (r.offset !== expected) throw new Error(`gap on ${key}: expected ${expected}, got ${r.offset}`);
      this.applied.push({ partition: batch.partition, offset: r.offset, value: r.value!.toString() });
      this.next.set(key, r.offset + 1);
    }
  }

  total(): number {
    return [...this.next.values()].reduce((a, b) => a + b, 0);
  }
}

async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('KafkaLog', () => {
  const log = new KafkaLog({ brokers, clientId: 'kafka-log-int', consumer: { heartbeatInterval: 500, maxBytesPerPartition: 2048 } });
  const consumers: LogConsumer[] = [];

  afterAll(async () => {
    await Promise.allSettled(consumers.map((c) => c.stop()));
    await log.close();
  });

  it('creates topics, reports end offsets and answers pings', async () => {
    const topic = uniqueName('kafka_log_admin');
    const admin = await log.admin();
    await admin.ensureTopic(topic, 3);
    await admin.ensureTopic(topic, 3);
    await expect(admin.ensureTopic(topic, 5)).rejects.toThrow(/exists with 3 partitions, expected 5/);
    expect([...(await admin.endOffsets(topic)).entries()]).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);
    expect(await log.ping()).toBe(true);
    const nowhere = new KafkaLog({ brokers: ['127.0.0.1:1'], connectionTimeout: 300, retry: { retries: 0 }, logger: { info() {}, warn() {}, error() {} } });
    expect(await nowhere.ping()).toBe(false);
    await nowhere.close();
  });

  it('reports where each produced message landed, partitioned by key', async () => {
    const topic = uniqueName('kafka_log_produce');
    await createTopic(brokers, topic, 3);
    const producer = await log.producer();
    const messages = Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}` }));
    const positions = await producer.send(topic, messages);
    await producer.close();
    // Same key, same partition; offsets consecutive per partition in send order.
    const partitionOfKey = new Map<string, number>();
    const next = new Map<number, number>();
    positions.forEach((p, i) => {
      const key = messages[i].key;
      expect(partitionOfKey.get(key) ?? p.partition).toBe(p.partition);
      partitionOfKey.set(key, p.partition);
      expect(p.offset).toBe(next.get(p.partition) ?? 0);
      next.set(p.partition, p.offset + 1);
    });
    const ends = await (await log.admin()).endOffsets(topic);
    for (const [partition, end] of ends) expect(end).toBe(next.get(partition) ?? 0);
  });

  it("starts from the store's positions, not the group's Kafka offsets, and re-reads a failed batch from the store", async () => {
    const topic = uniqueName('kafka_log_consume');
    const groupId = uniqueName('kafka_log_group');
    await createTopic(brokers, topic, 2);
    const producer = await log.producer();
    const messages = Array.from({ length: 400 }, (_, i) => ({ key: null, value: `m${i}`, partition: i % 2 }));
    await producer.send(topic, messages);
    await producer.close();

    // The group's Kafka offsets claim more progress than the store has.
    const kafka = new Kafka({ clientId: 'kafka-log-int-admin', brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '150' }, { partition: 1, offset: '190' }] });

    const store = new OffsetStore();
    store.next.set(`${topic}:0`, 20);
    let failures = 0;
    const sizes: number[] = [];
    const consumer = log.consumer('kafka-log-int-consumer');
    consumers.push(consumer);
    await consumer.start({
      groupId,
      topics: [topic],
      startOffsets: store.startOffsets,
      maxBatchRecords: 25,
      eachBatch: async (batch) => {
        sizes.push(batch.records.length);
        // The first batch of partition 1 past offset 100 fails once: nothing of it may count.
        if (batch.partition === 1 && batch.records.some((r) => r.offset >= 100) && failures === 0) {
          failures++;
          throw new Error('store unavailable');
        }
        store.apply(batch);
      },
    });
    await until('the store reached the end', () => store.total() === 400);
    expect(failures).toBe(1);
    expect(store.loads).toBeGreaterThanOrEqual(2); // the assignment, then the re-read
    expect(Math.max(...sizes)).toBeLessThanOrEqual(25);
    // Partition 0 from 20 (the store), partition 1 from 0 (absent from the store), each once.
    const p0 = store.applied.filter((a) => a.partition === 0).map((a) => a.offset);
    const p1 = store.applied.filter((a) => a.partition === 1).map((a) => a.offset);
    expect(p0).toEqual(Array.from({ length: 180 }, (_, i) => 20 + i));
    expect(p1).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(consumer.assignment().map((tp) => tp.partition).sort()).toEqual([0, 1]);

    // Kafka's group offsets follow the store (for lag tools), never ahead of it.
    await consumer.stop();
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed[0].partitions.map((p) => [p.partition, Number(p.offset)]).sort()).toEqual([
      [0, 200],
      [1, 200],
    ]);
    await admin.disconnect();
  }, 60_000);
});
