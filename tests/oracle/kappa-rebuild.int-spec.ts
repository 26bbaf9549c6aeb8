import { httpRequests, parseApacheLogLine } from '@tandem/contracts';
import { type BatchRunner, type BatchRunSummary, createBatchRunner } from '@tandem/batch';
import { floorToChunk, LocalLakeStorage } from '@tandem/platform';
import type { QueryService } from '@tandem/serving';
import { requestsPerStatusHour, requestsPerUrlMinute } from '@tandem/transforms';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import type { AcceptedEvent } from './accepted-log';
import { InProcessStack } from './in-process-stack';
import { compareView } from './layer-checks';
import { sleep } from './service-process';

jest.setTimeout(240_000);

const CHUNK = 25;
const DAY = 86_400_000;
const views = [requestsPerStatusHour, requestsPerUrlMinute];
const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The Kappa rebuild (`tandem rebuild --view V --from log|lake`): a view recomputed from the
 * start of the log, decoded and folded as the speed layer does, becomes a new batch version
 * that equals the batch layer's, and readers switch to it in one step: while it is built and
 * flipped, every answer is the right one.
 */
describe('kappa rebuild', () => {
  const events = readFileSync(path.resolve(__dirname, '..', '..', 'data', 'apache-access-log', 'apache_logs'), 'utf8')
    .split('\n')
    .slice(0, 1_700)
    .flatMap((l) => {
      const p = parseApacheLogLine(l);
      return p.ok ? [p.event as unknown as Record<string, unknown>] : [];
    });
  let stack: InProcessStack;
  /** The stack's batch runner, with the log to rebuild from. */
  let batch: BatchRunner;
  const topic = () => `${stack.schema.schema}.${httpRequests.topic}`;

  beforeAll(async () => {
    stack = await InProcessStack.start(httpRequests, views, { chunkSize: CHUNK, first: events[0] });
    batch = createBatchRunner({ db: stack.db, storage: new LocalLakeStorage(stack.lakeDir), log: stack.log, views, chunkSize: CHUNK, registry: new Registry(), workers: 0, topicPrefix: `${stack.schema.schema}.`, speedConsumer: stack.speedGroup, logger: quiet });
  }, 120_000);
  afterAll(async () => {
    await batch?.close();
    await stack?.close();
  }, 60_000);

  const rangeOf = (accepted: readonly AcceptedEvent[]) => {
    const ts = accepted.map((e) => e.event['ts'] as number);
    return { from: Math.floor(Math.min(...ts) / DAY) * DAY, to: (Math.floor(Math.max(...ts) / DAY) + 1) * DAY };
  };

  /** What a reader sees of the status view: the top list and every status's series. */
  const statusAnswers = async (queries: QueryService, range: { from: number; to: number }) => {
    const top = await queries.topN({ view: requestsPerStatusHour.name, aggregate: 'requests', from: range.from, to: range.to, n: 100 });
    const series = await Promise.all(top.entries.map((e) => queries.timeSeries({ view: requestsPerStatusHour.name, key: e.key, from: range.from, to: range.to })));
    const urls = await queries.topN({ view: requestsPerUrlMinute.name, aggregate: 'requests', from: range.from, to: range.to, n: 20 });
    return {
      values: JSON.stringify({ top: top.entries, series: series.map((s) => s.points.map((p) => [p.bucketStart, p.values])), urls: urls.entries }),
      batchVersion: top.provenance.batch?.version ?? null,
    };
  };

  /**
   * Reads the answers over and over while `work` runs: the data does not change meanwhile, so
   * every answer must equal the one before the work began, whichever batch version it came from.
   */
  const watchWhile = async (work: () => Promise<BatchRunSummary>) => {
    const range = rangeOf(stack.accepted);
    const before = await statusAnswers(stack.queries, range);
    let done = false;
    let reads = 0;
    const wrong: string[] = [];
    const versions = new Set<number | null>([before.batchVersion]);
    const watcher = (async () => {
      while (!done) {
        const now = await statusAnswers(stack.queries, range);
        reads++;
        versions.add(now.batchVersion);
        if (now.values !== before.values) wrong.push(`batch version ${now.batchVersion}: ${now.values.slice(0, 300)}`);
      }
    })();
    try {
      const run = await work();
      // A few more reads after the flip, on the new version.
      const after = reads;
      while (reads < after + 3) await sleep(20);
      return { run, reads, wrong, versions };
    } finally {
      done = true;
      await watcher;
    }
  };

  const tableCells = async (table: string) => {
    const { rows } = await stack.db.pool.query<{ key: string; bucket: string; state: string; events: string }>(
      `SELECT key, bucket, state::text AS state, events FROM "${table}" ORDER BY key, bucket`,
    );
    return rows;
  };

  const waitForSpeed = async (timeoutMs = 60_000) => {
    const ends = new Map<number, number>();
    for (const e of stack.accepted) ends.set(e.partition, Math.max(ends.get(e.partition) ?? 0, e.offset + 1));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await stack.db.pool.query<{ partition: number; next_offset: string }>(`SELECT partition, next_offset FROM tandem_speed_offsets WHERE consumer = $1`, [stack.speedGroup]);
      if ([...ends].every(([p, end]) => rows.some((r) => r.partition === p && Number(r.next_offset) >= end))) return;
      if (Date.now() > deadline) throw new Error('the speed layer did not catch up');
      await sleep(100);
    }
  };

  it('rebuilds from the log into a version equal to the batch recompute, with no window of wrong answers', async () => {
    // A history with one record the contract rejects in the middle of it: the speed layer
    // dead-letters it, the lake never holds it, and the rebuild must leave it out too.
    await stack.publish('http_requests', events.slice(1, 700));
    const producer = await stack.log.producer();
    await producer.send(topic(), [{ key: 'broken', value: Buffer.from('{"ts": "not json') }]);
    await producer.close();
    await stack.publish('http_requests', events.slice(700, 1_000));
    await stack.settle(60_000);
    const first = await batch.run({ mode: 'incremental' });
    expect(first.views.every((v) => v.flipped)).toBe(true);
    await stack.publish('http_requests', events.slice(1_000, 1_200));
    await stack.settle(60_000);
    const baseline = await compareView(stack.queries, requestsPerStatusHour, stack.accepted, rangeOf(stack.accepted), 'before the rebuild');
    expect(baseline.mismatches).toEqual([]);

    // From the log: a new version of each view, flipped while readers keep reading.
    const fromLog = await watchWhile(() => batch.run({ mode: 'full', source: 'log' }));
    expect(fromLog.run.source).toBe('log');
    expect(fromLog.run.rejected).toBe(1);
    // Every offset below the cut was read once: the accepted events there, and the rejected one.
    const cut = fromLog.run.views[0].cut;
    expect(fromLog.run.records).toBe(Object.values(cut).reduce((a, b) => a + b, 0));
    expect(fromLog.run.records - fromLog.run.rejected).toBe(stack.accepted.filter((e) => e.offset < (cut[String(e.partition)] ?? 0)).length);
    for (const v of fromLog.run.views) {
      expect(v).toMatchObject({ flipped: true, mode: 'full', layout: 'table' });
      expect(v.batchVersion).toBeGreaterThan(first.generation);
      for (const [p, offset] of Object.entries(first.views[0].cut)) expect(v.cut[p]).toBeGreaterThanOrEqual(offset);
    }
    expect(fromLog.wrong).toEqual([]);
    expect(fromLog.reads).toBeGreaterThan(3);
    // Readers saw the old version and then the new one.
    expect(fromLog.versions).toEqual(new Set([first.generation, fromLog.run.generation]));

    // The batch layer's full recompute from the lake over the same offsets: the same cells.
    const fromLake = await batch.run({ mode: 'full', source: 'lake' });
    for (const v of fromLake.views) {
      const rebuilt = fromLog.run.views.find((x) => x.view === v.view)!;
      expect(v.cut).toEqual(rebuilt.cut);
      const lakeCells = await tableCells(v.table);
      expect(lakeCells.length).toBeGreaterThan(0);
      expect(await tableCells(rebuilt.table)).toEqual(lakeCells);
    }
    for (const view of views) {
      const tally = await compareView(stack.queries, view, stack.accepted, rangeOf(stack.accepted), `${view.name} after the rebuild`);
      expect(tally.mismatches).toEqual([]);
      expect(tally.comparisons).toBeGreaterThan(0);
    }
  });

  it('rebuilds from the log past what the lake holds', async () => {
    // The archiver stops: the log runs ahead of the lake.
    await stack.archiver.stop();
    await stack.publish('http_requests', events.slice(1_200));
    await waitForSpeed();
    const admin = await stack.log.admin();
    const ends = await admin.endOffsets(topic());
    await admin.close();
    const lakeCut = (await batch.run({ mode: 'full', source: 'lake', views: [requestsPerStatusHour.name] })).views[0].cut;

    const rebuilt = await watchWhile(() => batch.run({ mode: 'full', source: 'log', views: [requestsPerStatusHour.name] }));

    expect(rebuilt.wrong).toEqual([]);
    const [view] = rebuilt.run.views;
    expect(view.flipped).toBe(true);
    // The cut is the log's last chunk boundary, beyond the lake's on some partition.
    for (const [p, end] of ends) expect(view.cut[String(p)]).toBe(floorToChunk(end, CHUNK));
    expect(Object.entries(view.cut).some(([p, c]) => c > (lakeCut[p] ?? 0))).toBe(true);
    const tally = await compareView(stack.queries, requestsPerStatusHour, stack.accepted, rangeOf(stack.accepted), 'past the lake');
    expect(tally.mismatches).toEqual([]);
    expect(tally.comparisons).toBeGreaterThan(0);

    // The scheduled batch run keeps that version until the lake catches up, and answers stay right.
    const next = await batch.run({ mode: 'incremental', views: [requestsPerStatusHour.name] });
    expect(next.views[0].flipped).toBe(false);
    const still = await compareView(stack.queries, requestsPerStatusHour, stack.accepted, rangeOf(stack.accepted), 'after the next batch run');
    expect(still.mismatches).toEqual([]);
  });
});
