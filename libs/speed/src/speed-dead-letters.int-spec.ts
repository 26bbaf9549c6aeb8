// Bad records between good ones, against a real broker and PostgreSQL: malformed JSON, a
// schema violation and an oversized record each land in the stream's dead-letter topic with
// the reason and their source position; the consumer never stops and counts the valid ones.
import {
  DEAD_LETTER_REASON_HEADER,
  encodeEvent,
  type HttpRequestEvent,
  httpRequests,
  parseDeadLetterHeaders,
} from '@tandem/contracts';
import { type Database, KafkaLog, openDatabase, type ProducedPosition } from '@tandem/platform';
import { createTopic, testEnv, uniqueName, withSchema, type TestSchema } from '@tandem/testkit';
import { requestsPerStatusHour, requestsPerUrlMinute } from '@tandem/transforms';
import { type IHeaders, Kafka, logLevel } from 'kafkajs';
import { createSpeedLayer, type SpeedLayer } from './index';
import { accessLogEvents, expectedTotals, realtimeTotals, totalsDiff, waitForOffsets, waitUntil } from './testing/speed-fixtures';

const { brokers, databaseUrl } = testEnv();
const views = [requestsPerUrlMinute, requestsPerStatusHour];
const MAX_EVENT_BYTES = 2048;

interface DeadLetterRecord {
  readonly partition: number;
  readonly value: string;
  readonly headers: IHeaders;
}

async function readTopic(topic: string, expected: number): Promise<DeadLetterRecord[]> {
  const kafka = new Kafka({ clientId: 'dlq-reader', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: uniqueName('dlq_reader') });
  const records: DeadLetterRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => void records.push({ partition, value: message.value?.toString() ?? '', headers: message.headers ?? {} }) });
    await waitUntil(`${expected} records in ${topic}`, () => records.length >= expected, 30_000);
    // Anything beyond the expected ones would show up now.
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await consumer.disconnect();
  }
  return records;
}

describe('speed layer dead letters', () => {
  const valid = accessLogEvents().slice(0, 600);
  let schema: TestSchema;
  let db: Database;
  let log: KafkaLog;
  let layer: SpeedLayer | undefined;

  beforeAll(async () => {
    schema = await withSchema(databaseUrl, 'speed_dlq');
    db = await openDatabase({ url: databaseUrl, schema: schema.schema });
    log = new KafkaLog({ brokers, clientId: 'speed-dlq-int', consumer: { heartbeatInterval: 500 } });
  });

  afterAll(async () => {
    await layer?.stop();
    await log?.close();
    await db?.close();
    await schema?.drop();
  });

  it('dead-letters each bad record with its reason and source offset, and counts the good ones', async () => {
    const prefix = `${uniqueName('speed_dlq')}.`;
    const topic = `${prefix}${httpRequests.topic}`;
    const deadLetterTopic = `${prefix}${httpRequests.deadLetterTopic}`;
    await createTopic(brokers, topic, httpRequests.partitions);

    const good = (e: HttpRequestEvent) => ({ key: httpRequests.key(e), value: encodeEvent(httpRequests, e), partition: 0 });
    const oversized: HttpRequestEvent = { ...valid[0], userAgent: 'x'.repeat(MAX_EVENT_BYTES) };
    const bad = [
      { reason: 'malformed-json', key: 'bad-1', value: Buffer.from('{"ts": 1431856800000, "ip": "10.0.0.1",', 'utf8'), partition: 0 },
      { reason: 'schema-violation', key: 'bad-2', value: Buffer.from(JSON.stringify({ ...valid[1], status: 999 }), 'utf8'), partition: 0 },
      // Valid for the schema (a user agent may be 8 KiB), but above this deployment's limit.
      { reason: 'oversized', key: 'bad-3', value: encodeEvent(httpRequests, oversized), partition: 0 },
    ];
    // Bad records sit between valid ones on one partition; the rest go everywhere by key.
    const messages = [...valid.slice(0, 100).map(good), bad[0], ...valid.slice(100, 150).map(good), bad[1], ...valid.slice(150, 200).map(good), bad[2]];
    messages.push(...valid.slice(200).map((e) => ({ key: httpRequests.key(e), value: encodeEvent(httpRequests, e) })) as typeof messages);
    const producer = await log.producer();
    const positions: readonly ProducedPosition[] = await producer.send(topic, messages);
    await producer.close();
    const ends = new Map<number, number>();
    for (const p of positions) ends.set(p.partition, Math.max(ends.get(p.partition) ?? 0, p.offset + 1));
    const badPositions = bad.map((b) => positions[messages.indexOf(b as (typeof messages)[number])]);

    const groupId = uniqueName('speed_dlq_group');
    layer = createSpeedLayer({ log, db, views, groupId, topicPrefix: prefix, maxEventBytes: MAX_EVENT_BYTES, chunkSize: 100, cleanupIntervalMs: 0 });
    await layer.start();
    await waitForOffsets(db.pool, groupId, topic, ends);

    const letters = await readTopic(deadLetterTopic, bad.length);
    expect(letters).toHaveLength(bad.length);
    for (const [i, b] of bad.entries()) {
      const letter = letters.find((l) => parseDeadLetterHeaders(l.headers).ok && l.headers[DEAD_LETTER_REASON_HEADER]?.toString() === b.reason);
      expect(letter).toBeDefined();
      const parsed = parseDeadLetterHeaders(letter!.headers);
      if (!parsed.ok) throw new Error(parsed.error);
      expect(parsed.value).toMatchObject({ reason: b.reason, topic, partition: 0, offset: String(badPositions[i].offset) });
      expect(parsed.value.detail.length).toBeGreaterThan(0);
      // The original bytes travel untouched.
      expect(letter!.value).toBe(b.value.toString('utf8'));
    }

    for (const view of views) {
      expect(totalsDiff(await realtimeTotals(db.pool, view), expectedTotals(view, valid))).toEqual([]);
    }
    const status = layer.status();
    expect(status.deadLetters).toEqual({ http_requests: 3 });
    expect(status.eventsApplied).toBe(valid.length);
    expect(status.recordsCommitted).toBe(valid.length + bad.length);
    const metrics = await layer.registry.metrics();
    for (const reason of ['malformed-json', 'schema-violation', 'oversized']) {
      expect(metrics).toContain(`tandem_speed_dead_letters_total{stream="http_requests",reason="${reason}"} 1`);
    }
  }, 60_000);
});
