/**
 * PostgreSQL stops (a fast shutdown, as in a restart or a failover) and comes back while the
 * speed layer consumes and serving answers. Neither process may die; serving answers 503 with
 * Retry-After while the database is away; the speed layer retries its transactions and, once
 * the database is back, its realtime rows hold every event exactly once.
 */
import { httpRequests } from '@tandem/contracts';
import { type Database, KafkaLog, openDatabase } from '@tandem/platform';
import { QueryService, startServingEdge, type ServingEdge } from '@tandem/serving';
import { createSpeedLayer, type SpeedLayer } from '@tandem/speed';
import { createTopic, quietLogger, type RestartablePostgres, startRestartablePostgres, testEnv, uniqueName } from '@tandem/testkit';
import { requestsPerStatusHour, requestsPerUrlMinute } from '@tandem/transforms';
import { accessLogEvents, expectedTotals, produceEvents, realtimeTotals, totalsDiff, waitForOffsets, waitUntil } from '../../libs/speed/src/testing/speed-fixtures';

jest.setTimeout(180_000);

const { brokers } = testEnv();
const views = [requestsPerUrlMinute, requestsPerStatusHour];
const CHUNK = 500;

// A server of this test's own, that it can stop and start again.
let pg: RestartablePostgres | undefined;
let db: Database | undefined;
let log: KafkaLog | undefined;
let layer: SpeedLayer | undefined;
let edge: ServingEdge | undefined;
afterAll(async () => {
  await edge?.close();
  await layer?.stop();
  await log?.close();
  await db?.close();
  await pg?.close();
});

describe('a PostgreSQL restart under the running speed layer and serving', () => {
  it('costs neither process its life, answers 503 meanwhile, and loses or doubles no event', async () => {
    const events = accessLogEvents();
    const [first, second] = [events.slice(0, 5_000), events.slice(5_000)];
    pg = await startRestartablePostgres();
    db = await openDatabase({ url: pg.url, applicationName: 'tandem-pg-restart' });

    const prefix = `${uniqueName('pgrestart')}.`;
    const topic = `${prefix}${httpRequests.topic}`;
    await createTopic(brokers, topic, httpRequests.partitions);
    // Quiet: the outage makes the consumer log every failed transaction; the assertions say what matters.
    log = new KafkaLog({ brokers, clientId: 'pg-restart', consumer: { maxBytesPerPartition: 64 * 1024, heartbeatInterval: 500 }, logger: quietLogger });
    const groupId = uniqueName('pgrestart_group');
    layer = createSpeedLayer({ log, db, views, groupId, chunkSize: CHUNK, topicPrefix: prefix, cleanupIntervalMs: 0, logger: quietLogger });
    await layer.start();
    const queries = new QueryService({ pool: db.pool, views, chunkSize: CHUNK, speedConsumer: groupId, topicPrefix: prefix, statementTimeoutMs: 2_000 });
    edge = await startServingEdge({ queries, http: { port: 0, host: '127.0.0.1' }, grpc: { port: 0, host: '127.0.0.1' }, apiKeys: [], rateLimit: { limit: 0, windowMs: 1_000 }, logger: false });

    const status = String(first[0].status);
    const valueUrl = `${edge.httpUrl}/v1/views/${requestsPerStatusHour.name}/value?key=${status}&from=0&to=${Date.UTC(2100, 0, 1)}`;
    const servedRequests = async () => {
      const res = await fetch(valueUrl);
      const body = (await res.json()) as { values?: { requests: number } };
      return { status: res.status, retryAfter: res.headers.get('retry-after'), requests: body.values?.requests };
    };
    const expectedRequests = (upTo: readonly typeof events[number][]) => upTo.filter((e) => String(e.status) === status).length;

    // Before: the first half, served exactly.
    const firstEnds = await produceEvents(log, topic, first);
    await waitForOffsets(db.pool, groupId, topic, firstEnds);
    expect(await servedRequests()).toEqual({ status: 200, retryAfter: null, requests: expectedRequests(first) });

    // PostgreSQL goes away (with a session held between two queries, as a batch run holds its
    // lock); the rest of the log arrives meanwhile.
    const held = await db.pool.connect();
    await held.query('SELECT 1');
    const failedTransactions = async () =>
      (await layer!.registry.getSingleMetric('tandem_speed_transactions_total')!.get()).values.find((v) => v.labels['outcome'] === 'failed')?.value ?? 0;
    // Read before the stop: once its first transactions have failed, the layer may be backing
    // off or failing to read its stored positions, which no transaction counts.
    const failedBefore = await failedTransactions();
    await pg.stop();
    const ends = new Map([...firstEnds, ...(await produceEvents(log, topic, second))]);
    const outage = await servedRequests();
    expect({ status: outage.status, retryAfterGiven: Number(outage.retryAfter) > 0 }).toEqual({ status: 503, retryAfterGiven: true });
    // The speed layer tries to write the second half and fails for as long as the database is down.
    await waitUntil('a speed transaction to fail on the stopped database', async () => (await failedTransactions()) > failedBefore, 30_000, 100);
    expect(layer.status().state).toBe('running');
    await expect(held.query('SELECT 1')).rejects.toThrow();
    held.release(true);

    // Back on the same port and data: the layer catches up by itself, and serving answers again.
    await pg.start();
    await waitForOffsets(db.pool, groupId, topic, ends, 90_000);
    for (const view of views) expect(totalsDiff(await realtimeTotals(db.pool, view), expectedTotals(view, [...first, ...second]))).toEqual([]);
    expect(await servedRequests()).toEqual({ status: 200, retryAfter: null, requests: expectedRequests(events) });
    expect(layer.status().state).toBe('running');
  });
});
