// Proof that the integration harness gives every test a real Kafka broker and a real
// PostgreSQL server: keyed messages make a full round trip through a consumer group, and
// TypeORM and raw SQL read back what was written in a test-owned schema.
import 'reflect-metadata';
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from 'kafkajs';
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { createTopic, testEnv, uniqueName, withSchema, type TestSchema } from './index';

const { brokers, databaseUrl } = testEnv();

// Round trips through real servers; on a loaded 2-core machine they can exceed Jest's 5 s default.
jest.setTimeout(60_000);

describe('Kafka broker', () => {
  const kafka = new Kafka({ clientId: 'harness-int-spec', brokers, logLevel: logLevel.ERROR });
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;

  afterEach(async () => {
    await consumer?.disconnect();
    await producer?.disconnect();
  });

  it('is a real Apache Kafka cluster', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers).toHaveLength(1);
      expect(cluster.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    } finally {
      await admin.disconnect();
    }
  });

  it('delivers 100 keyed messages exactly once through a consumer group', async () => {
    const topic = uniqueName('harness');
    await createTopic(brokers, topic, 3);

    const admin = kafka.admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.disconnect();
    expect(metadata.topics[0]!.partitions).toHaveLength(3);

    const sent = Array.from({ length: 100 }, (_, i) => ({ key: `sensor-${i % 12}`, value: JSON.stringify({ seq: i }) }));
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (let i = 0; i < sent.length; i += 25) {
      await producer.send({ topic, acks: -1, messages: sent.slice(i, i + 25) });
    }

    const received: Array<{ key: string; value: string; partition: number; offset: string }> = [];
    // A short fetch wait lets disconnect() return quickly instead of waiting out a long poll.
    consumer = kafka.consumer({ groupId: uniqueName('harness_group'), maxWaitTimeInMs: 250 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        received.push({ key: message.key!.toString(), value: message.value!.toString(), partition, offset: message.offset });
      },
    });
    await waitFor(() => received.length >= sent.length, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for any duplicate to show up

    expect(received).toHaveLength(sent.length);
    const bySeq = new Map(received.map((message) => [JSON.parse(message.value).seq as number, message]));
    expect(bySeq.size).toBe(sent.length);
    sent.forEach((message, seq) => {
      expect(bySeq.get(seq)).toMatchObject({ key: message.key, value: message.value });
    });

    // Keys are partitioned: each key lives on one partition, and the keys spread over several.
    const partitionsOfKey = new Map<string, Set<number>>();
    for (const message of received) {
      partitionsOfKey.set(message.key, (partitionsOfKey.get(message.key) ?? new Set()).add(message.partition));
    }
    expect([...partitionsOfKey.values()].every((partitions) => partitions.size === 1)).toBe(true);
    expect(new Set(received.map((message) => message.partition)).size).toBeGreaterThan(1);

    // Per partition, offsets arrive in order without gaps (idempotent producer, no duplicates).
    for (const partition of new Set(received.map((message) => message.partition))) {
      const offsets = received.filter((message) => message.partition === partition).map((message) => Number(message.offset));
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
  });
});

@Entity({ name: 'harness_reading' })
class Reading {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'text' })
  sensor!: string;

  @Column({ type: 'double precision' })
  value!: number;

  @Column({ type: 'timestamptz', name: 'recorded_at' })
  recordedAt!: Date;
}

describe('PostgreSQL server', () => {
  let schema: TestSchema;
  let dataSource: DataSource;

  beforeAll(async () => {
    schema = await withSchema(databaseUrl, 'harness');
    dataSource = new DataSource({
      type: 'postgres',
      url: databaseUrl,
      schema: schema.schema,
      entities: [Reading],
      synchronize: true,
      logging: false,
    });
    await dataSource.initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await schema?.drop();
  });

  it('is a real PostgreSQL server', async () => {
    const { rows } = await schema.pool.query<{ version: string; search_path: string }>(
      'SELECT version() AS version, current_setting($1) AS search_path',
      ['search_path'],
    );
    expect(rows[0]!.version).toMatch(/^PostgreSQL \d+/);
    expect(rows[0]!.search_path).toBe(schema.schema);
  });

  it('writes rows with TypeORM and reads them back, with TypeORM and with SQL', async () => {
    const repository = dataSource.getRepository(Reading);
    const at = new Date('2024-03-01T12:00:00.000Z');
    await repository.save(
      Array.from({ length: 10 }, (_, i) =>
        repository.create({ sensor: `sensor-${i % 3}`, value: i * 1.5, recordedAt: new Date(at.getTime() + i * 60_000) }),
      ),
    );

    const readings = await repository.find({ where: { sensor: 'sensor-1' }, order: { recordedAt: 'ASC' } });
    expect(readings.map((reading) => reading.value)).toEqual([1.5, 6, 10.5]);
    expect(readings[0]!.recordedAt.toISOString()).toBe('2024-03-01T12:01:00.000Z');

    // Unqualified names resolve in the test's schema through the pool's search_path.
    const { rows } = await schema.pool.query<{ sensor: string; n: string; total: number }>(
      'SELECT sensor, count(*) AS n, sum(value) AS total FROM harness_reading GROUP BY sensor ORDER BY sensor',
    );
    expect(rows).toEqual([
      { sensor: 'sensor-0', n: '4', total: 0 + 4.5 + 9 + 13.5 },
      { sensor: 'sensor-1', n: '3', total: 1.5 + 6 + 10.5 },
      { sensor: 'sensor-2', n: '3', total: 3 + 7.5 + 12 },
    ]);

    const { rows: tables } = await schema.pool.query<{ table_schema: string }>(
      "SELECT table_schema FROM information_schema.tables WHERE table_name = 'harness_reading'",
    );
    expect(tables).toEqual([{ table_schema: schema.schema }]);
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
