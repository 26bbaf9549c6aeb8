import { httpRequests, parseApacheLogLine } from '@tandem/contracts';
import { type BatchRunner, createBatchRunner } from '@tandem/batch';
import { LocalLakeStorage } from '@tandem/platform';
import { QueryService } from '@tandem/serving';
import { createSpeedLayer, type SpeedLayer } from '@tandem/speed';
import { count, defineView, distinct, requestsPerStatusHour, sum } from '@tandem/transforms';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { quietLogger } from '@tandem/testkit';
import { Registry } from 'prom-client';
import type { AcceptedEvent } from './accepted-log';
import { InProcessStack } from './in-process-stack';
import { compareView } from './layer-checks';

jest.setTimeout(180_000);

const CHUNK = 20;
const DAY = 86_400_000;

/** View A: the catalog's definition (version 1). */
const viewA = requestsPerStatusHour;
/**
 * View A': the view redeployed as version 2 with an aggregate more — a new transform version
 * whose states have another shape: A's stored states cannot be read with A''s aggregators.
 */
const viewA2 = defineView(httpRequests, {
  name: 'requests_per_status_hour',
  version: 2,
  description: 'Requests per HTTP status code per hour, with distinct clients',
  key: { status: (e) => e.status },
  granularity: 'hour',
  aggregates: { requests: count(), bytes: sum((e) => e.bytes), clients: distinct((e) => e.ip, { precision: 10 }) },
});

/**
 * A new transform version (DESIGN.md sections 3 and 6): a changed view definition is served
 * from the old version until a batch run of the new one flips, never as a mix of both; after
 * the flip the answer is the batch part of the new version plus its realtime rows above the
 * cut, with no gap between where the new version's realtime rows start and that cut.
 *
 * The deploy is the plain one: the speed layer is stopped and restarted with the new
 * definition in the same consumer group, so the new version's realtime rows start at the
 * group's position — after the old version's batch cut, and inside a chunk.
 */
describe('transform versions', () => {
  const events = readFileSync(path.resolve(__dirname, '..', '..', 'data', 'apache-access-log', 'apache_logs'), 'utf8')
    .split('\n')
    .slice(0, 1_400)
    .flatMap((l) => {
      const p = parseApacheLogLine(l);
      return p.ok ? [p.event as unknown as Record<string, unknown>] : [];
    });
  let stack: InProcessStack;
  let speedA2: SpeedLayer | undefined;
  let batchA2: BatchRunner | undefined;

  beforeAll(async () => {
    stack = await InProcessStack.start(httpRequests, [viewA], { chunkSize: CHUNK, first: events[0] });
  }, 120_000);
  afterAll(async () => {
    await speedA2?.stop().catch(() => undefined);
    await batchA2?.close().catch(() => undefined);
    await stack?.close();
  }, 60_000);

  const rangeOf = (accepted: readonly AcceptedEvent[]) => {
    const ts = accepted.map((e) => e.event['ts'] as number);
    return { from: Math.floor(Math.min(...ts) / DAY) * DAY, to: (Math.floor(Math.max(...ts) / DAY) + 1) * DAY };
  };
  const answersOf = async (queries: QueryService, range: { from: number; to: number }) => {
    const top = await queries.topN({ view: viewA.name, aggregate: 'requests', from: range.from, to: range.to, n: 1000 });
    const series = await Promise.all(top.entries.map((e) => queries.timeSeries({ view: viewA.name, key: e.key, from: range.from, to: range.to })));
    return { top, series, total: top.entries.reduce((n, e) => n + (e.value ?? 0), 0) };
  };
  const speedNext = async () => {
    const { rows } = await stack.db.pool.query<{ partition: number; next_offset: string }>(`SELECT partition, next_offset FROM tandem_speed_offsets WHERE consumer = $1`, [stack.speedGroup]);
    return new Map(rows.map((r) => [r.partition, Number(r.next_offset)]));
  };

  it('serves the old version whole until the new one flips, then the new one with no gap', async () => {
    expect(viewA2.transformVersion).not.toBe(viewA.transformVersion);

    // Phase 1: A everywhere. A batch run, then more events the speed layer holds above the cut.
    await stack.publish('http_requests', events.slice(1, 600));
    await stack.settle();
    const first = await stack.batch.run({ mode: 'incremental' });
    expect(first.views[0]).toMatchObject({ view: viewA.name, transformVersion: viewA.transformVersion, flipped: true });
    const cutA = first.views[0].cut;
    await stack.publish('http_requests', events.slice(600, 810));
    await stack.settle();
    const phase1 = [...stack.accepted];
    const tally1 = await compareView(stack.queries, viewA, phase1, rangeOf(phase1), 'A, phase 1');
    expect(tally1.mismatches).toEqual([]);
    expect(tally1.comparisons).toBeGreaterThan(0);

    // Deploy A': the speed layer restarts with the new definition in the same group.
    await stack.speed.stop();
    const startOfA2 = await speedNext();
    // The new version's rows start inside a chunk, above A's cut: the case that can leave a gap.
    expect([...startOfA2].some(([p, next]) => next % CHUNK !== 0 && next > (cutA[p] ?? 0))).toBe(true);
    speedA2 = createSpeedLayer({ log: stack.log, db: stack.db, views: [viewA2], groupId: stack.speedGroup, chunkSize: CHUNK, topicPrefix: `${stack.schema.schema}.`, cleanupIntervalMs: 0, logger: quietLogger });
    await speedA2.start();
    // Fewer events than a chunk per partition: the lake's coverage stays inside the chunk A' started in.
    await stack.publish('http_requests', events.slice(810, 840));
    await stack.settle(60_000);
    const { rows: a2Rows } = await stack.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM tandem_realtime WHERE view = $1 AND transform_version = $2`, [viewA2.name, viewA2.transformVersion]);
    expect(Number(a2Rows[0].n)).toBeGreaterThan(0);

    // Serving with the new code while the pointer still names A: A's rows alone, read with A's
    // definition (kept among the retired ones during the rollout), never a mix.
    const servingOptions = { pool: stack.db.pool, chunkSize: CHUNK, speedConsumer: stack.speedGroup, topicPrefix: `${stack.schema.schema}.` };
    const servingA2 = new QueryService({ ...servingOptions, views: [viewA2], retiredViews: [viewA] });
    const beforeFlip = await answersOf(servingA2, rangeOf(stack.accepted));
    for (const answer of [beforeFlip.top, ...beforeFlip.series]) {
      expect(answer.provenance.transformVersion).toBe(viewA.transformVersion);
      expect(answer.provenance.codeTransformVersion).toBe(viewA2.transformVersion);
      expect(answer.provenance.notes.some((n) => n.includes(`serving transform version ${viewA.transformVersion}`))).toBe(true);
    }
    // A's aggregates: the new one is not there until A' is current.
    for (const s of beforeFlip.series) for (const p of s.points) expect(Object.keys(p.values).sort()).toEqual(['bytes', 'requests']);
    await expect(servingA2.topN({ view: viewA.name, aggregate: 'clients', from: 0, to: DAY, n: 1 })).rejects.toThrow(/no aggregate "clients"/);
    // Exactly what A counted (every event up to the redeploy), none of A's rows added twice.
    expect(beforeFlip.total).toBe(phase1.length);
    const stale = await compareView(servingA2, viewA, phase1, rangeOf(stack.accepted), 'A\' code, pointer on A');
    expect(stale.mismatches).toEqual([]);
    expect(stale.comparisons).toBeGreaterThan(0);
    // Without A's definition, the new code refuses to read A's states rather than misread them.
    const withoutHistory = new QueryService({ ...servingOptions, views: [viewA2], retiredViews: [] });
    await expect(answersOf(withoutHistory, rangeOf(stack.accepted))).rejects.toThrow(new RegExp(`transform version ${viewA.transformVersion}.*not defined`));

    // Batch with A': a full run is forced by the transform version change.
    batchA2 = createBatchRunner({ db: stack.db, storage: new LocalLakeStorage(stack.lakeDir), views: [viewA2], chunkSize: CHUNK, registry: new Registry(), workers: 0, topicPrefix: `${stack.schema.schema}.`, speedConsumer: stack.speedGroup, logger: quietLogger });
    let run = await batchA2.run({ mode: 'incremental' });
    expect(run.views[0]).toMatchObject({ view: viewA2.name, transformVersion: viewA2.transformVersion, mode: 'full', reason: 'transform-version-changed' });
    // The lake ends inside the chunk A' realtime rows started in, so the cut it allows lies below
    // their start on some partition: flipping now would leave those offsets in neither layer.
    expect(run.views[0].flipped).toBe(false);
    {
      // Held: the lake does not yet reach where A' realtime rows start. A keeps serving, whole.
      const held = await answersOf(servingA2, rangeOf(stack.accepted));
      expect(held.top.provenance.transformVersion).toBe(viewA.transformVersion);
      expect(held.total).toBe(phase1.length);
      await stack.publish('http_requests', events.slice(840));
      await stack.settle(60_000);
      run = await batchA2.run({ mode: 'incremental' });
      expect(run.views[0]).toMatchObject({ mode: 'full', reason: 'transform-version-changed' });
    }
    expect(run.views[0].flipped).toBe(true);
    const cutA2 = run.views[0].cut;
    for (const [p, c] of Object.entries(cutA)) expect(cutA2[p] ?? 0).toBeGreaterThanOrEqual(c);

    // After the flip: A' batch part plus A' realtime rows at or above the new cut, over every event.
    const afterFlip = await answersOf(servingA2, rangeOf(stack.accepted));
    for (const answer of [afterFlip.top, ...afterFlip.series]) expect(answer.provenance.transformVersion).toBe(viewA2.transformVersion);
    const tally = await compareView(servingA2, viewA2, stack.accepted, rangeOf(stack.accepted), 'A\' after its flip');
    expect(tally.mismatches).toEqual([]);
    expect(tally.comparisons).toBeGreaterThan(0);
    expect(afterFlip.total).toBe(stack.accepted.length);
  });
});
