import { CONTROL_TOPIC, decodeControlEvent, httpRequests } from '@tandem/contracts';
import { KafkaLog, type LakeRecord } from '@tandem/platform';
import { testEnv, uniqueName } from '@tandem/testkit';
import { type AnyView, requestsPerStatusHour, requestsPerUrlMinute, ViewAccumulator } from '@tandem/transforms';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { accessLogEvents, type BatchTestEnv, openBatchTestEnv, testRunner } from '../recompute/testing/batch-test-env';
import { LakeFixture } from '../recompute/testing/lake-fixture';

/**
 * Conformity (DESIGN.md section 6): when a run covers new chunks it recomputes them from the
 * lake and compares them with the speed layer's rows before deleting those. Equal rows are no
 * drift; an altered row is drift, in the run record, the metric and the log; a chunk the speed
 * layer has not passed is "not compared".
 */
jest.setTimeout(180_000);

const CHUNK = 500;
const views: AnyView[] = [requestsPerUrlMinute, requestsPerStatusHour];
const SPEED = 'tandem-speed-test';

let env: BatchTestEnv;
let log: KafkaLog;
const topicPrefix = `${uniqueName('conf')}.`;
const topic = `${topicPrefix}${httpRequests.topic}`;

beforeAll(async () => {
  env = await openBatchTestEnv('batch_conf');
  log = new KafkaLog({ brokers: testEnv().brokers, clientId: 'batch-conformity-test' });
});

afterAll(async () => {
  await log?.close();
  await env?.close();
});

/** What the speed layer writes for some records: per (view, partition, chunk) the cells, keyed by log position. */
async function writeRealtimeRows(records: readonly LakeRecord[]): Promise<void> {
  for (const view of views) {
    const byChunk = new Map<string, { partition: number; chunk: number; acc: ViewAccumulator<unknown, unknown, unknown> }>();
    for (const r of records) {
      const chunk = Math.floor(r.offset / CHUNK);
      const id = `${r.partition}:${chunk}`;
      let entry = byChunk.get(id);
      if (!entry) byChunk.set(id, (entry = { partition: r.partition, chunk, acc: new ViewAccumulator(view) }));
      entry.acc.add(r.event);
    }
    for (const { partition, chunk, acc } of byChunk.values()) {
      for (const cell of acc.cells()) {
        // A chunk the previous delivery already started: add to it, as the speed layer does.
        const { rows } = await env.db.pool.query(
          `SELECT state FROM tandem_realtime WHERE view = $1 AND transform_version = $2 AND partition = $3 AND chunk = $4 AND bucket = $5 AND key = $6`,
          [view.name, view.transformVersion, partition, chunk, cell.bucket, cell.key],
        );
        const state = rows[0] ? view.aggregator.plus(view.aggregator.decode(rows[0].state), cell.state) : cell.state;
        await env.db.pool.query(
          `INSERT INTO tandem_realtime (view, transform_version, key, bucket, partition, chunk, state, events) VALUES ($1, $2, $3, $4, $5, $6, $7, 1)
           ON CONFLICT (view, transform_version, partition, chunk, bucket, key) DO UPDATE SET state = EXCLUDED.state`,
          [view.name, view.transformVersion, cell.key, cell.bucket, partition, chunk, JSON.stringify(view.aggregator.encode(state))],
        );
      }
    }
  }
}

async function setSpeedOffset(partition: number, nextOffset: number): Promise<void> {
  await env.db.pool.query(
    `INSERT INTO tandem_speed_offsets (consumer, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
     ON CONFLICT (consumer, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset`,
    [SPEED, topic, partition, nextOffset],
  );
  // As the speed layer does at its first transaction: its rows of each view begin at offset 0.
  for (const view of views) {
    await env.db.pool.query(
      `INSERT INTO tandem_realtime_starts (view, transform_version, topic, partition, start_offset) VALUES ($1, $2, $3, $4, 0) ON CONFLICT DO NOTHING`,
      [view.name, view.transformVersion, topic, partition],
    );
  }
}

it('compares the newly covered chunks with the speed layer, reports drift and publishes BatchCompleted', async () => {
  const lake = new LakeFixture(env.storage, httpRequests, topic);
  const events = accessLogEvents();
  const registry = new Registry();
  const errors: string[] = [];
  const runner = testRunner(env, views, {
    chunkSize: CHUNK,
    topicPrefix,
    speedConsumer: SPEED,
    registry,
    log,
    logger: { log: () => undefined, warn: () => undefined, error: (m) => errors.push(m) },
  });

  // Generation 1: half the log. The speed layer has seen it all and agrees.
  const first = await lake.appendByKey(events.slice(0, 5_000), 450);
  await writeRealtimeRows(first);
  for (let p = 0; p < 4; p++) await setSpeedOffset(p, await lake.nextOffset(p));
  const g1 = await runner.run({ mode: 'full' });
  for (const v of g1.views) {
    expect(v.conformity!.compared).toBeGreaterThan(0);
    expect(v.conformity!.mismatches).toBe(0);
    expect(v.conformity!.notCompared).toBe(0);
  }
  expect(errors).toEqual([]);

  // Generation 2: the rest. The speed layer has passed partitions 0-2 only, and one of its
  // rows in partition 1 was altered.
  const cut1 = g1.views[0].cut;
  const second = await lake.appendByKey(events.slice(5_000), 450);
  await writeRealtimeRows(second);
  for (let p = 0; p < 3; p++) await setSpeedOffset(p, await lake.nextOffset(p));
  await setSpeedOffset(3, cut1['3'] + 10); // inside partition 3's first new chunk
  const target = await env.db.pool.query(
    `SELECT key, bucket, chunk, state FROM tandem_realtime WHERE view = $1 AND partition = 1 AND chunk >= $2 ORDER BY chunk, key LIMIT 1`,
    [requestsPerStatusHour.name, cut1['1'] / CHUNK],
  );
  const altered = target.rows[0];
  await env.db.pool.query(
    `UPDATE tandem_realtime SET state = jsonb_set(state, '{requests}', to_jsonb((state->>'requests')::int + 1))
      WHERE view = $1 AND partition = 1 AND chunk = $2 AND key = $3 AND bucket = $4`,
    [requestsPerStatusHour.name, altered.chunk, altered.key, altered.bucket],
  );

  const g2 = await runner.run({ mode: 'incremental' });
  const byView = new Map(g2.views.map((v) => [v.view, v]));
  const cut2 = byView.get(requestsPerStatusHour.name)!.cut;
  const newChunks = (p: number) => (cut2[String(p)] - cut1[String(p)]) / CHUNK;
  const comparable = [0, 1, 2].reduce((s, p) => s + newChunks(p), 0);
  for (const v of g2.views) {
    expect(v.conformity!.compared).toBe(comparable);
    expect(v.conformity!.notCompared).toBe(newChunks(3));
  }
  expect(newChunks(3)).toBeGreaterThan(0);
  const drift = byView.get(requestsPerStatusHour.name)!.conformity!;
  expect(drift.mismatches).toBe(1);
  expect(drift.examples[0]).toMatchObject({ partition: 1, chunk: Number(altered.chunk), key: altered.key, bucket: Number(altered.bucket) });
  expect((drift.examples[0].speed as { requests: number }).requests).toBe((drift.examples[0].batch as { requests: number }).requests + 1);
  expect(byView.get(requestsPerUrlMinute.name)!.conformity!.mismatches).toBe(0);

  // ... recorded with the run, exposed as a metric and logged at error level.
  const { rows } = await env.db.pool.query(`SELECT conformity FROM tandem_batch_runs WHERE run_id = $1`, [g2.runId]);
  expect(rows[0].conformity.find((c: { view: string }) => c.view === requestsPerStatusHour.name).mismatches).toBe(1);
  const metric = await registry.getSingleMetric('tandem_batch_drift_cells')!.get();
  expect(metric.values.find((m) => m.labels['view'] === requestsPerStatusHour.name)!.value).toBe(1);
  expect(metric.values.find((m) => m.labels['view'] === requestsPerUrlMinute.name)!.value).toBe(0);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/DRIFT: view requests_per_status_hour/);

  // The realtime rows wholly below the new cut are gone; the rest stay for serving.
  const { rows: left } = await env.db.pool.query(`SELECT partition, min(chunk)::int AS first FROM tandem_realtime GROUP BY partition`);
  for (const r of left) expect(r.first * CHUNK).toBeGreaterThanOrEqual(cut2[String(r.partition)]);

  // BatchCompleted reached the control topic, after the flip.
  const kafka = new Kafka({ brokers: testEnv().brokers, clientId: 'batch-conformity-reader', logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: uniqueName('control-reader') });
  await consumer.connect();
  await consumer.subscribe({ topic: CONTROL_TOPIC, fromBeginning: true });
  const seen = new Map<string, ReturnType<typeof decodeControlEvent>>();
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        const event = decodeControlEvent(message.value!);
        seen.set(event.runId, event);
        if (seen.has(g1.runId) && seen.has(g2.runId)) resolve();
      },
    });
  });
  await consumer.disconnect();
  expect(g2.published).toBe(true);
  const published = seen.get(g2.runId)!;
  expect(published).toMatchObject({ type: 'BatchCompleted', generation: g2.generation, mode: 'incremental' });
  expect(published.cut[topic]).toEqual(Object.fromEntries(Object.entries(cut2).map(([p, o]) => [p, String(o)])));
  expect(published.views.map((v) => v.view).sort()).toEqual(views.map((v) => v.name).sort());
  await runner.close();
});
