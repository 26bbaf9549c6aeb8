/**
 * The Kafka broker goes away twice (a graceful restart, then a crash) while ingest accepts
 * events over REST and the speed layer and the archiver consume. Ingest answers 503 with
 * Retry-After meanwhile, never a hung request, and 2xx again once the broker is back; every
 * acknowledged event is in the log; the speed layer's realtime rows and the archiver's lake
 * end up holding exactly the log's records, neither losing nor doubling one.
 */
import { decodeEvent, type HttpRequestEvent, httpRequests } from '@tandem/contracts';
import { IngestMetrics, IngestService, startIngestEdge, type IngestEdge } from '@tandem/ingest';
import { type Archiver, createArchiver } from '@tandem/batch';
import { type Database, KafkaLog, LakeManifest, LocalLakeStorage, openDatabase } from '@tandem/platform';
import { createSpeedLayer, type SpeedLayer } from '@tandem/speed';
import { type KafkaBroker, startKafkaBroker, quietLogger, testEnv, uniqueName, withSchema, type TestSchema } from '@tandem/testkit';
import { canonicalJson, type Json, requestsPerStatusHour, requestsPerUrlMinute } from '@tandem/transforms';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { auditLake, expectExactLake, readWholeTopic } from '../../libs/batch/src/archiver/testing/lake-audit';
import { accessLogEvents, expectedTotals, realtimeTotals, totalsDiff, waitForOffsets, waitUntil } from '../../libs/speed/src/testing/speed-fixtures';

jest.setTimeout(300_000);

const { databaseUrl } = testEnv();
const views = [requestsPerUrlMinute, requestsPerStatusHour];
const CHUNK = 500;
const BATCH = 250;
const SEND_TIMEOUT_MS = 2_000;

const lakeDir = mkdtempSync(join(tmpdir(), 'tandem-kafka-restart-lake-'));
let broker: KafkaBroker | undefined;
let schema: TestSchema | undefined;
let db: Database | undefined;
let log: KafkaLog | undefined;
let ingest: IngestService | undefined;
let edge: IngestEdge | undefined;
let speed: SpeedLayer | undefined;
let archiver: Archiver | undefined;
afterAll(async () => {
  await edge?.close();
  await archiver?.stop();
  await speed?.stop();
  await ingest?.close();
  await log?.close();
  await db?.close();
  await schema?.drop();
  await broker?.stop();
  rmSync(lakeDir, { recursive: true, force: true });
});

const idOf = (e: HttpRequestEvent) => canonicalJson(e as unknown as Json);
const countBy = (events: readonly HttpRequestEvent[]) => {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(idOf(e), (counts.get(idOf(e)) ?? 0) + 1);
  return counts;
};

describe('a Kafka broker restart and crash under ingest, the speed layer and the archiver', () => {
  it('answers 503 meanwhile, keeps every acknowledged event, and both consumers end exactly at the log', async () => {
    broker = await startKafkaBroker();
    schema = await withSchema(databaseUrl, 'kafkarestart');
    db = await openDatabase({ url: databaseUrl, schema: schema.schema });
    // Retries that give up within seconds, so that the consumers notice the outage and restart.
    log = new KafkaLog({ brokers: broker.brokers, clientId: 'kafka-restart', retry: { initialRetryTime: 200, maxRetryTime: 2_000, retries: 6 }, logger: quietLogger });
    const prefix = `${uniqueName('kafkarestart')}.`;
    const topic = `${prefix}${httpRequests.topic}`;
    ingest = new IngestService({ log, topicPrefix: prefix, streams: [httpRequests], sendTimeoutMs: SEND_TIMEOUT_MS });
    edge = await startIngestEdge({ ingest, metrics: new IngestMetrics({ defaultMetrics: false }), http: { port: 0, host: '127.0.0.1' }, grpc: { port: 0, host: '127.0.0.1' }, apiKeys: [], rateLimit: { limit: 0, windowMs: 1_000 }, maxBodyBytes: 4 * 1024 * 1024, logger: false });

    const acknowledged: HttpRequestEvent[] = [];
    /** Events of requests answered 503: the producer may still write them (docs/api.md). */
    const unacknowledged: HttpRequestEvent[] = [];
    const post = async (events: readonly HttpRequestEvent[]) => {
      const startedAt = Date.now();
      const res = await fetch(`${edge!.httpUrl}/v1/streams/${httpRequests.name}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
      const body = (await res.json()) as { accepted?: number };
      return { status: res.status, retryAfter: res.headers.get('retry-after'), accepted: body.accepted, ms: Date.now() - startedAt };
    };
    /** Sends a batch until it is acknowledged, as a client that honours Retry-After does. */
    const send = async (events: readonly HttpRequestEvent[]) => {
      for (let attempt = 1; ; attempt++) {
        const answer = await post(events);
        if (answer.status === 200) {
          expect(answer.accepted).toBe(events.length);
          acknowledged.push(...events);
          return attempt;
        }
        expect({ status: answer.status, retryAfterGiven: Number(answer.retryAfter) > 0 }).toEqual({ status: 503, retryAfterGiven: true });
        unacknowledged.push(...events);
        if (attempt >= 60) throw new Error(`a batch was refused ${attempt} times`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    };

    const events = accessLogEvents();
    let next = 0;
    const sendBatches = async (n: number) => {
      for (let i = 0; i < n && next < events.length; i++, next += BATCH) await send(events.slice(next, next + BATCH));
    };

    // Before: ingest creates the topic with its first batch; the consumers start.
    await sendBatches(8);
    const storage = new LocalLakeStorage(lakeDir);
    speed = createSpeedLayer({ log, db, views, groupId: uniqueName('kafkarestart_speed'), chunkSize: CHUNK, topicPrefix: prefix, cleanupIntervalMs: 0, logger: quietLogger });
    await speed.start();
    archiver = createArchiver({ log, storage, streams: [httpRequests], groupId: uniqueName('kafkarestart_archiver'), maxAgeMs: 200, topicOf: (c) => `${prefix}${c.topic}`, registry: new Registry(), logger: quietLogger });
    await archiver.start();
    await sendBatches(4);

    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      await broker.down({ signal });
      // While the broker is away: a prompt 503 with Retry-After, not a request that hangs.
      const refused = await post(events.slice(next, next + BATCH));
      expect({ status: refused.status, retryAfterGiven: Number(refused.retryAfter) > 0 }).toEqual({ status: 503, retryAfterGiven: true });
      expect(refused.ms).toBeLessThan(SEND_TIMEOUT_MS + 5_000);
      unacknowledged.push(...events.slice(next, next + BATCH));
      next += BATCH;
      await new Promise((r) => setTimeout(r, 3_000)); // the consumers' fetches fail meanwhile
      await broker.up();
      await sendBatches(8);
    }
    await sendBatches(events.length); // the rest
    expect(next).toBeGreaterThanOrEqual(events.length);

    // The log: every acknowledged event, and nothing that was not sent.
    const records = await readWholeTopic(log, topic);
    const logged: HttpRequestEvent[] = records.map((r) => {
      const decoded = decodeEvent(httpRequests, r.value);
      if (!decoded.ok) throw new Error(`undecodable record at ${r.partition}:${r.offset}`);
      return decoded.value;
    });
    const inLog = countBy(logged);
    const missing = [...countBy(acknowledged)].filter(([id, n]) => (inLog.get(id) ?? 0) < n);
    expect(missing.length).toBe(0);
    const sent = countBy([...acknowledged, ...unacknowledged]);
    expect([...inLog].filter(([id, n]) => (sent.get(id) ?? 0) < n).length).toBe(0);

    // The speed layer: exactly the log's records, once each.
    const ends = await (await log.admin()).endOffsets(topic);
    await waitForOffsets(db.pool, speed.status().groupId, topic, ends, 120_000);
    for (const view of views) expect(totalsDiff(await realtimeTotals(db.pool, view), expectedTotals(view, logged))).toEqual([]);
    expect(speed.status().state).toBe('running');

    // The archiver: once its manifest covers every partition to the end (nothing is written
    // after that), the lake holds exactly the log's records.
    const manifest = new LakeManifest(storage);
    await waitUntil('the lake to cover the log', async () => {
      const coverage = await manifest.coveredUntil(httpRequests.name);
      return [...ends].every(([p, end]) => (coverage.get(p) ?? 0) >= end);
    }, 120_000, 250);
    expectExactLake(await auditLake(storage, httpRequests, log, topic), 0);
  });
});
