import { DEAD_LETTER_REASON_HEADER, flights, streamByName } from '@tandem/contracts';
import { type Log, type LogRecord, openEmbeddedLog, partitionForKey } from '@tandem/platform';
import { InvalidPublishError, LogUnavailableError, UnknownStreamError } from './ingest-errors';
import { IngestService } from './ingest-service';

const flight = (i: number, origin = 'SFO') => ({ ts: 978307200000 + i * 60_000, delay: i - 5, distance: 300 + i, origin, destination: 'LAX' });

async function readAll(log: Log, topic: string): Promise<LogRecord[]> {
  const ends = await (await log.admin()).endOffsets(topic);
  const total = [...ends.values()].reduce((a, b) => a + b, 0);
  const records: LogRecord[] = [];
  if (total === 0) return records;
  const consumer = log.consumer('spec');
  await new Promise<void>((resolve) => {
    void consumer.start({
      groupId: `spec-${Math.random()}`,
      topics: [topic],
      startOffsets: async () => new Map(),
      eachBatch: async (batch) => {
        records.push(...batch.records);
        if (records.length >= total) resolve();
      },
    });
  });
  await consumer.stop();
  return records;
}

describe('IngestService on the embedded log', () => {
  let log: Log;
  beforeEach(async () => {
    log = await openEmbeddedLog();
  });
  afterEach(async () => {
    await log.close();
  });

  it('ensures topics, appends valid events keyed by the contract and reports their positions', async () => {
    const ingest = new IngestService({ log, topicPrefix: 'p.', maxEventBytes: 512 });
    const result = await ingest.publishValues('flights', [flight(1, 'JFK'), { ...flight(2), delay: 1.5 }, flight(3, 'ORD')]);
    expect(result).toMatchObject({ stream: 'flights', accepted: 2, rejected: 1 });
    expect(result.results[1]).toEqual({ index: 1, accepted: false, reason: 'schema-violation', detail: expect.stringMatching(/^flights v1: \/delay: /) });
    const records = await readAll(log, 'p.tandem.flights.v1');
    expect(records.map((r) => r.key?.toString())).toEqual(expect.arrayContaining(['JFK', 'ORD']));
    for (const r of result.results.filter((x) => x.accepted)) {
      const record = records.find((x) => x.partition === (r as { partition: number }).partition && x.offset === (r as { offset: number }).offset)!;
      expect(JSON.parse(record.value!.toString())).toEqual(flight(r.index === 0 ? 1 : 3, r.index === 0 ? 'JFK' : 'ORD'));
      expect(record.partition).toBe(partitionForKey(record.key!, flights.partitions));
    }
    const dead = await readAll(log, 'p.tandem.flights.dlq');
    expect(dead).toHaveLength(1);
    expect(dead[0].headers[DEAD_LETTER_REASON_HEADER]).toBe('schema-violation');
    await ingest.close();
  });

  it('decodes JSON text exactly as consumers do, with the same reasons', async () => {
    const ingest = new IngestService({ log, maxEventBytes: 256, deadLetters: false });
    const result = await ingest.publishTexts('flights', [JSON.stringify(flight(1)), '{"ts":', JSON.stringify({ ...flight(2), note: 'x'.repeat(300) }), Buffer.from([0xff, 0xfe])]);
    expect(result.results.map((r) => (r.accepted ? 'ok' : r.reason))).toEqual(['ok', 'malformed-json', 'oversized', 'decode-error']);
    expect((await (await log.admin()).endOffsets(flights.deadLetterTopic).catch(() => new Map())).size).toBe(0);
    await ingest.close();
  });

  it('refuses unknown streams, empty and oversized requests as a whole', async () => {
    const ingest = new IngestService({ log, streams: [streamByName('http_requests')], maxEventsPerRequest: 2 });
    await expect(ingest.publishValues('flights', [flight(1)])).rejects.toThrow(UnknownStreamError);
    await expect(ingest.publishValues('flights', [flight(1)])).rejects.toThrow('unknown stream "flights"; known streams: http_requests');
    await expect(ingest.publishValues('http_requests', [])).rejects.toThrow(InvalidPublishError);
    await expect(ingest.publishValues('http_requests', [{}, {}, {}])).rejects.toThrow('events: 3 events exceed the limit of 2 per request');
    expect(() => new IngestService({ log, maxEventBytes: 2 * 1024 * 1024 })).toThrow(/exceeds the consumers' limit/);
    await ingest.close();
  });
});

describe('IngestService when the log stalls', () => {
  // A log whose producer never acknowledges: what a broker without a leader looks like to a client.
  const stalled: Log = {
    kind: 'kafka',
    consumer: () => {
      throw new Error('not used');
    },
    producer: async () => ({ send: () => new Promise(() => undefined), close: async () => undefined }),
    admin: async () => ({ ensureTopic: async () => undefined, endOffsets: async () => new Map(), close: async () => undefined }),
    ping: async () => false,
    close: async () => undefined,
  };

  it('answers unavailable after the send timeout, then at once while too many sends wait', async () => {
    const ingest = new IngestService({ log: stalled, sendTimeoutMs: 150, maxPendingSends: 1, deadLetters: false });
    const started = Date.now();
    await expect(ingest.publishValues('flights', [flight(1)])).rejects.toMatchObject({ name: 'LogUnavailableError', retryAfterSeconds: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const again = Date.now();
    await expect(ingest.publishValues('flights', [flight(2)])).rejects.toThrow(LogUnavailableError);
    await expect(ingest.publishValues('flights', [flight(2)])).rejects.toThrow(/already waiting for the log/);
    expect(Date.now() - again).toBeLessThan(1_000);
    await ingest.close();
  });
});
