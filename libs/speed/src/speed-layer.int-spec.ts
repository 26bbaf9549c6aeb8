// The speed layer against a real Kafka broker and PostgreSQL: the real access log, produced
// keyed to its stream topic, becomes realtime rows whose totals equal the in-memory
// evaluator's, cell by cell, state by state.
import { httpRequests } from '@tandem/contracts';
import { type Database, KafkaLog, openDatabase } from '@tandem/platform';
import { createTopic, testEnv, uniqueName, withSchema, type TestSchema } from '@tandem/testkit';
import { requestsPerStatusHour, requestsPerUrlMinute } from '@tandem/transforms';
import { createSpeedLayer, type SpeedLayer } from './index';
import { accessLogEvents, expectedTotals, produceEvents, realtimeTotals, totalsDiff, waitForOffsets } from './testing/speed-fixtures';

const { brokers, databaseUrl } = testEnv();
const views = [requestsPerUrlMinute, requestsPerStatusHour];

describe('speed layer over the access log', () => {
  const events = accessLogEvents();
  let schema: TestSchema;
  let db: Database;
  let log: KafkaLog;
  let layer: SpeedLayer | undefined;

  beforeAll(async () => {
    schema = await withSchema(databaseUrl, 'speed');
    db = await openDatabase({ url: databaseUrl, schema: schema.schema });
    // Small fetches: many batches per partition, so chunks fill across several transactions.
    log = new KafkaLog({ brokers, clientId: 'speed-int', consumer: { maxBytesPerPartition: 64 * 1024, heartbeatInterval: 500, partitionsConsumedConcurrently: 4 } });
  });

  afterAll(async () => {
    await layer?.stop();
    await log?.close();
    await db?.close();
    await schema?.drop();
  });

  it('keeps realtime rows equal to the evaluator over every event of the real log', async () => {
    expect(events.length).toBeGreaterThan(9_000);
    const prefix = `${uniqueName('speed')}.`;
    const topic = `${prefix}${httpRequests.topic}`;
    await createTopic(brokers, topic, httpRequests.partitions);
    const ends = await produceEvents(log, topic, events);
    expect([...ends.values()].reduce((a, b) => a + b, 0)).toBe(events.length);

    const groupId = uniqueName('speed_group');
    // A chunk size that does not divide the batches, so partly written chunks get merged.
    layer = createSpeedLayer({ log, db, views, groupId, chunkSize: 777, topicPrefix: prefix, cleanupIntervalMs: 0 });
    await layer.start();
    await waitForOffsets(db.pool, groupId, topic, ends);

    for (const view of views) {
      const actual = await realtimeTotals(db.pool, view);
      const expected = expectedTotals(view, events);
      expect(actual.size).toBe(expected.size);
      expect(totalsDiff(actual, expected)).toEqual([]);
    }
    // Rows are keyed by chunk: no row mixes offsets of two chunks.
    const { rows } = await db.pool.query<{ chunks: string }>(`SELECT count(DISTINCT (partition, chunk)) AS chunks FROM tandem_realtime`);
    expect(Number(rows[0].chunks)).toBeGreaterThanOrEqual(Math.floor(events.length / 777));

    const status = layer.status();
    expect(status.state).toBe('running');
    expect(status.recordsCommitted).toBe(events.length);
    expect(status.eventsApplied).toBe(events.length);
    const metrics = await layer.registry.metrics();
    expect(metrics).toContain(`tandem_speed_records_total{topic="${topic}"} ${events.length}`);
  }, 60_000);

  it('writes each fetched batch in chunk-aligned pieces, committed in order, with the same exact rows', async () => {
    const own = await withSchema(databaseUrl, 'speed_pieces');
    const ownDb = await openDatabase({ url: databaseUrl, schema: own.schema });
    // A partition's records arrive in one or two fetches, each cut into many pieces.
    const wholeLog = new KafkaLog({ brokers, clientId: 'speed-int-pieces', consumer: { maxBytesPerPartition: 4 * 1024 * 1024, heartbeatInterval: 500, partitionsConsumedConcurrently: 4 } });
    let piecewise: SpeedLayer | undefined;
    try {
      const prefix = `${uniqueName('speed_pieces')}.`;
      const topic = `${prefix}${httpRequests.topic}`;
      await createTopic(brokers, topic, httpRequests.partitions);
      const ends = await produceEvents(log, topic, events);
      const groupId = uniqueName('speed_pieces_group');
      piecewise = createSpeedLayer({ log: wholeLog, db: ownDb, views, groupId, chunkSize: 100, transactionRecords: 150, topicPrefix: prefix, cleanupIntervalMs: 0 });
      await piecewise.start();
      await waitForOffsets(ownDb.pool, groupId, topic, ends);

      for (const view of views) {
        expect(totalsDiff(await realtimeTotals(ownDb.pool, view), expectedTotals(view, events))).toEqual([]);
      }
      const status = piecewise.status();
      expect(status.recordsCommitted).toBe(events.length);
      expect(status.eventsApplied).toBe(events.length);
      // Pieces of 150 records run on to a boundary of 100: at most 250 records each, so a
      // partition's records take many pieces (pieces queued together may share a transaction).
      const largest = Math.max(...ends.values());
      const metrics = await piecewise.registry.getSingleMetricAsString('tandem_speed_batch_records');
      const pieces = Number(/tandem_speed_batch_records_count (\d+)/.exec(metrics)?.[1]);
      expect(pieces).toBeGreaterThanOrEqual(Math.ceil(largest / 250));
      expect(status.transactions).toBeLessThanOrEqual(pieces);
    } finally {
      await piecewise?.stop();
      await wholeLog.close();
      await ownDb.close();
      await own.drop();
    }
  }, 60_000);
});
