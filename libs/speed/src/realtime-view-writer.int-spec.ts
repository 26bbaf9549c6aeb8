// RealtimeViewWriter against a real PostgreSQL: chunked rows merge across transactions, the
// store-side offset guard makes replays and overlapping writers harmless, and a row it did not
// expect aborts the transaction instead of being overwritten.
import { type Database, ImpossibleStateError, openDatabase } from '@tandem/platform';
import { testEnv, withSchema, type TestSchema } from '@tandem/testkit';
import { type AnyView, requestsPerStatusHour, requestsPerUrlMinute } from '@tandem/transforms';
import { accumulatePartition, countedView, type DecodedEvent } from './partition-delta';
import { RealtimeCleanup } from './realtime-cleanup';
import { type PartitionWork, RealtimeViewWriter } from './realtime-view-writer';
import { accessLogEvents, expectedTotals, realtimeTotals, totalsDiff } from './testing/speed-fixtures';

const { databaseUrl } = testEnv();
const views = [requestsPerUrlMinute, requestsPerStatusHour];
const counted = views.map(countedView);
const TOPIC = 'writer.tandem.http_requests.v1';
const CHUNK = 50;

/** Offsets 0..n-1 of one partition carry the first n events of the access log. */
const events = accessLogEvents().slice(0, 1_000);
const decoded: DecodedEvent[] = events.map((event, offset) => ({ offset, event }));

function work(from: number, to: number, expectedFrom = from): PartitionWork {
  const slice = decoded.slice(from, to);
  return {
    topic: TOPIC,
    partition: 0,
    views: counted,
    events: slice,
    lastOffset: to - 1,
    lastLogTime: 1_000 + to,
    delta: accumulatePartition(counted, slice, expectedFrom, CHUNK),
  };
}

describe('RealtimeViewWriter', () => {
  let schema: TestSchema;
  let db: Database;

  beforeEach(async () => {
    schema = await withSchema(databaseUrl, 'speed_writer');
    db = await openDatabase({ url: databaseUrl, schema: schema.schema, poolSize: 4 });
  });

  afterEach(async () => {
    await db?.close();
    await schema?.drop();
  });

  const expectTotals = async (upTo: number) => {
    for (const view of views) {
      expect(totalsDiff(await realtimeTotals(db.pool, view), expectedTotals(view, events.slice(0, upTo)))).toEqual([]);
    }
  };

  it('merges batches that split chunks into exact totals, one row per cell and chunk', async () => {
    const writer = new RealtimeViewWriter({ pool: db.pool, consumer: 'g', chunkSize: CHUNK });
    let rows = 0;
    for (let from = 0; from < events.length; from += 37) {
      const [outcome] = await writer.write([work(from, Math.min(events.length, from + 37))]);
      expect(outcome.applied).toBe(true);
      rows += outcome.rows;
    }
    await expectTotals(events.length);
    expect((await writer.storedOffsets([{ topic: TOPIC, partition: 0 }])).get(`${TOPIC}:0`)).toBe(events.length);
    const { rows: chunks } = await db.pool.query<{ n: string; max: string }>(`SELECT count(DISTINCT chunk) AS n, max(chunk) AS max FROM tandem_realtime`);
    expect(Number(chunks[0].n)).toBe(events.length / CHUNK);
    // Cells split across transactions were updated in place, not duplicated.
    const { rows: count } = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM tandem_realtime`);
    expect(Number(count[0].n)).toBeLessThan(rows);
  });

  it('ignores replayed records and refolds a batch overlapping another writer', async () => {
    const a = new RealtimeViewWriter({ pool: db.pool, consumer: 'g', chunkSize: CHUNK });
    const b = new RealtimeViewWriter({ pool: db.pool, consumer: 'g', chunkSize: CHUNK });
    await a.write([work(0, 120)]);
    // b, a member that just took the partition over, replays from an older position.
    const [replay] = await b.write([work(60, 110)]);
    expect(replay).toMatchObject({ applied: false, nextOffset: 120, events: 0 });
    const [overlap] = await b.write([work(90, 230)]);
    expect(overlap).toMatchObject({ applied: true, nextOffset: 230, events: 110 });
    // a, now a zombie, still believes the partition is at 120.
    const [zombie] = await a.write([work(120, 260)]);
    expect(zombie).toMatchObject({ applied: true, nextOffset: 260, events: 30 });
    await a.write([work(260, 300)]);
    await b.write([work(300, 333)]);
    await expectTotals(333);
  });

  it('stores keys with tabs, newlines and backslashes exactly', async () => {
    const writer = new RealtimeViewWriter({ pool: db.pool, consumer: 'g', chunkSize: CHUNK });
    const odd = ['/a\\b', '/tab\there', '/line\nbreak', '/cr\r', '/quote"\\.'].map((path, i) => ({ offset: i, event: { ...events[i], path } }));
    const slice = [...odd, ...decoded.slice(odd.length, 40)];
    await writer.write([{ topic: TOPIC, partition: 0, views: counted, events: slice, lastOffset: 39, lastLogTime: 1, delta: accumulatePartition(counted, slice, 0, CHUNK) }]);
    const totals = await realtimeTotals(db.pool, requestsPerUrlMinute);
    expect(totalsDiff(totals, expectedTotals(requestsPerUrlMinute, slice.map((d) => d.event)))).toEqual([]);
    expect([...totals.values()].map((c) => c.key)).toEqual(expect.arrayContaining(['/a\\b', '/tab\there', '/line\nbreak', '/cr\r', '/quote"\\.']));
  });

  it('writes several partitions in one transaction and keeps them apart', async () => {
    const writer = new RealtimeViewWriter({ pool: db.pool, consumer: 'g', chunkSize: CHUNK });
    const other = { ...work(0, 200), partition: 1 };
    const outcomes = await writer.write([work(0, 200), other]);
    expect(outcomes.map((o) => o.nextOffset)).toEqual([200, 200]);
    const offsets = await writer.storedOffsets([
      { topic: TOPIC, partition: 0 },
      { topic: TOPIC, partition: 1 },
    ]);
    expect([...offsets.values()]).toEqual([200, 200]);
    const totals = await realtimeTotals(db.pool, requestsPerStatusHour);
    const once = expectedTotals(requestsPerStatusHour, events.slice(0, 200));
    for (const [id, cell] of once) expect(totals.get(id)?.events).toBe(2 * cell.events);
  });

  it('refuses to overwrite a row it did not expect, and recovers by reading it', async () => {
    const writer = new RealtimeViewWriter({ pool: db.pool, consumer: 'g', chunkSize: CHUNK });
    await writer.write([work(0, 120)]);
    // A foreign row in the open chunk that this writer's memory does not know of: a cell the
    // next batch folds into but none of the chunk's earlier offsets (100..119) did.
    const view: AnyView = requestsPerUrlMinute;
    const before = new Set([...accumulatePartition([counted[0]], decoded.slice(100, 120), 100, CHUNK).chunks[0].views[0].cells()].map((c) => `${c.key}@${c.bucket}`));
    const cell = [...accumulatePartition([counted[0]], decoded.slice(120, 140), 120, CHUNK).chunks[0].views[0].cells()].find((c) => !before.has(`${c.key}@${c.bucket}`))!;
    expect(cell).toBeDefined();
    await db.pool.query(
      `INSERT INTO tandem_realtime (view, transform_version, key, bucket, partition, chunk, state, events) VALUES ($1, $2, $3, $4, 0, 2, $5, 1)`,
      [view.name, view.transformVersion, cell.key, cell.bucket, JSON.stringify(view.aggregator.encode(cell.state.state))],
    );
    await expect(writer.write([work(120, 140)])).rejects.toBeInstanceOf(ImpossibleStateError);
    // The failed transaction made the writer forget; it now reads the open chunk and merges.
    const [outcome] = await writer.write([work(120, 140)]);
    expect(outcome.applied).toBe(true);
    const totals = await realtimeTotals(db.pool, view);
    const expected = expectedTotals(view, events.slice(0, 140));
    const id = [...expected.keys()].find((k) => expected.get(k)!.key === cell.key && expected.get(k)!.bucket === cell.bucket)!;
    expect(totals.get(id)!.events).toBe(expected.get(id)!.events + 1);
  });

  it('cleans up only rows wholly below the current cut of their view and transform version', async () => {
    const writer = new RealtimeViewWriter({ pool: db.pool, consumer: 'g', chunkSize: CHUNK });
    await writer.write([work(0, 230), { ...work(0, 230), partition: 1 }]);
    const cleanup = new RealtimeCleanup(db.pool, views, CHUNK);
    const chunksOf = async (view: string) => {
      const { rows } = await db.pool.query<{ partition: number; chunk: string }>(
        `SELECT DISTINCT partition, chunk FROM tandem_realtime WHERE view = $1 ORDER BY partition, chunk`,
        [view],
      );
      return rows.map((r) => `${r.partition}:${r.chunk}`);
    };
    const all = ['0:0', '0:1', '0:2', '0:3', '0:4', '1:0', '1:1', '1:2', '1:3', '1:4'];
    expect(await cleanup.run()).toBe(0); // no batch version yet: no cut
    const point = (view: string, transformVersion: string, cut: Record<string, unknown>) =>
      db.pool.query(
        `INSERT INTO tandem_batch_current (view, transform_version, batch_version, table_name, topic, cut, run_id) VALUES ($1, $2, 1, 't', $3, $4, 'r')
         ON CONFLICT (view) DO UPDATE SET transform_version = EXCLUDED.transform_version, cut = EXCLUDED.cut`,
        [view, transformVersion, TOPIC, JSON.stringify(cut)],
      );
    // Cut at 120 on partition 0 (chunks 0 and 1 end at or below it), "50" on partition 1.
    await point(requestsPerStatusHour.name, requestsPerStatusHour.transformVersion, { '0': 120, '1': '50' });
    // Another transform version's cut says nothing about this version's rows.
    await point(requestsPerUrlMinute.name, 'v0-other', { '0': 1000, '1': 1000 });
    expect(await cleanup.run()).toBeGreaterThan(0);
    expect(await chunksOf(requestsPerStatusHour.name)).toEqual(['0:2', '0:3', '0:4', '1:1', '1:2', '1:3', '1:4']);
    expect(await chunksOf(requestsPerUrlMinute.name)).toEqual(all);
    expect(await cleanup.run()).toBe(0);
  });
});
