// Two speed layer members in one consumer group against a real broker and PostgreSQL: the
// second joins mid-stream, the first leaves mid-stream, partitions move twice while batches
// are in flight; no event is counted twice and none is lost.
import { httpRequests } from '@tandem/contracts';
import { type Database, KafkaLog, openDatabase } from '@tandem/platform';
import { createTopic, testEnv, uniqueName, withSchema, type TestSchema } from '@tandem/testkit';
import { requestsPerStatusHour, requestsPerUrlMinute } from '@tandem/transforms';
import { createSpeedLayer, type SpeedLayer, type SpeedLayerOptions } from './index';
import {
  accessLogEvents,
  committedRecords,
  expectedTotals,
  produceEvents,
  realtimeTotals,
  totalsDiff,
  waitForOffsets,
  waitUntil,
} from './testing/speed-fixtures';

const { brokers, databaseUrl } = testEnv();
const views = [requestsPerUrlMinute, requestsPerStatusHour];

describe('speed layer members in one group', () => {
  const events = accessLogEvents();
  let schema: TestSchema;
  const databases: Database[] = [];
  const logs: KafkaLog[] = [];
  const layers: SpeedLayer[] = [];

  beforeAll(async () => {
    schema = await withSchema(databaseUrl, 'speed_group');
  });

  afterAll(async () => {
    await Promise.allSettled(layers.map((l) => l.stop()));
    await Promise.allSettled(logs.map((l) => l.close()));
    await Promise.allSettled(databases.map((d) => d.close()));
    await schema?.drop();
  });

  /** A member as its own process would have it: its own Kafka client and database pool. */
  async function member(name: string, options: Omit<SpeedLayerOptions, 'log' | 'db'>): Promise<SpeedLayer> {
    const db = await openDatabase({ url: databaseUrl, schema: schema.schema, poolSize: 4 });
    databases.push(db);
    const log = new KafkaLog({
      brokers,
      clientId: name,
      consumer: { maxBytesPerPartition: 16 * 1024, heartbeatInterval: 300, sessionTimeout: 6_000, partitionsConsumedConcurrently: 4 },
    });
    logs.push(log);
    const layer = createSpeedLayer({ ...options, log, db, clientId: name });
    layers.push(layer);
    return layer;
  }

  it('neither loses nor double counts across rebalances', async () => {
    const prefix = `${uniqueName('speed_group')}.`;
    const topic = `${prefix}${httpRequests.topic}`;
    const groupId = uniqueName('speed_members');
    await createTopic(brokers, topic, httpRequests.partitions);
    const producerLog = new KafkaLog({ brokers, clientId: 'speed-group-producer' });
    logs.push(producerLog);

    const half = Math.floor(events.length / 2);
    const firstEnds = await produceEvents(producerLog, topic, events.slice(0, half), 200);
    // Slow, small transactions keep batches in flight when the partitions move.
    const options = { views, groupId, topicPrefix: prefix, chunkSize: 300, maxBatchRecords: 60, commitDelayMs: 10, cleanupIntervalMs: 0 };
    const first = await member('speed-member-a', options);
    await first.start();
    const db = databases[0];
    const committed = () => committedRecords(db.pool, groupId, topic);
    await waitUntil('a quarter is committed', async () => (await committed()) >= events.length / 4, 60_000, 20);

    const second = await member('speed-member-b', options);
    await second.start();
    const secondEnds = await produceEvents(producerLog, topic, events.slice(half), 200);
    await waitUntil('both members own partitions', () => first.status().partitions.length > 0 && second.status().partitions.length > 0, 60_000, 20);
    expect(first.status().partitions.length + second.status().partitions.length).toBe(httpRequests.partitions);

    await waitUntil('70% is committed', async () => (await committed()) >= 0.7 * events.length, 60_000, 20);
    expect(await committed()).toBeLessThan(events.length);
    await first.stop();

    const ends = new Map([...firstEnds].map(([p, o]) => [p, Math.max(o, secondEnds.get(p) ?? 0)]));
    for (const [p, o] of secondEnds) ends.set(p, Math.max(o, ends.get(p) ?? 0));
    await waitForOffsets(db.pool, groupId, topic, ends, 90_000);

    expect(first.status().recordsCommitted).toBeGreaterThan(0);
    expect(second.status().recordsCommitted).toBeGreaterThan(0);
    expect(second.status().partitions).toHaveLength(httpRequests.partitions);
    for (const view of views) {
      expect(totalsDiff(await realtimeTotals(db.pool, view), expectedTotals(view, events))).toEqual([]);
    }
  }, 150_000);
});
