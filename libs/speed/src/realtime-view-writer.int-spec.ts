// RealtimeViewWriter against a real PostgreSQL: chunked rows merge across transactions, the
// store-side offset guard makes replays and overlapping writers harmless, and a row it did not
// expect aborts the transaction instead of being overwritten.
import { type Database, ImpossibleStateError, openDatabase } from '@tandem/platform';
import { testEnv, withSchema, type TestSchema } from '@tandem/testkit';
import { type AnyView, requestsPerStatusHour, requestsPerUrlMinute } from '@tandem/transforms';
import { accumulatePartition, countedView, type DecodedEvent } from './partition-delta';
import { RealtimeCleanup } from './realtime-cleanup';
import { encodeRows } from './realtime-rows';
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

/** A work whose rows were encoded ahead of its transaction, as the speed consumer hands them over. */
function encodedWork(from: number, to: number, continuation = false, partition = 0): PartitionWork {
  const w = work(from, to);
  const openChunk = from % CHUNK === 0 ? -1 : Math.floor(from / CHUNK);
  return { ...w, partition, continuation, rows: encodeRows(w.delta, partition, Math.floor((to - 1) / CHUNK), openChunk) };
}

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

  it('writes rows encoded ahead of the transaction, and encodes afresh when the store moved', async () => {
    const writer = new RealtimeViewWriter({ pool: db.pool, consumer: 'g', chunkSize: CHUNK });
    const other = new RealtimeViewWriter({ pool: db.pool, consumer: 'g', chunkSize: CHUNK });
    for (const [from, to] of [
      [0, 70],
      [70, 100],
      [100, 163],
    ]) {
      const [outcome] = await writer.write([encodedWork(from, to, from > 0)]);
      expect(outcome).toMatchObject({ applied: true, nextOffset: to, events: to - from });
    }
    await expectTotals(163);
    // Another member moved the partition to 180 meanwhile: rows encoded from 163 are stale.
    await other.write([work(163, 180)]);
    const [late] = await writer.write([encodedWork(163, 240)]);
    expect(late).toMatchObject({ applied: true, nextOffset: 240, events: 60 });
    await expectTotals(240);
  });

  it('refuses a continuation whose earlier piece did not commit, and applies nothing of it', async () => {
    const writer = new RealtimeViewWriter({ pool: db.pool, consumer: 'g', chunkSize: CHUNK });
    await writer.write([encodedWork(0, 100)]);
    // The piece 100..150 failed; the piece after it must not skip over its records.
    await expect(writer.write([encodedWork(150, 200, true)])).rejects.toThrow(/below this batch's start 150/);
    expect((await writer.storedOffsets([{ topic: TOPIC, partition: 0 }])).get(`${TOPIC}:0`)).toBe(100);
    await expectTotals(100);
    await writer.write([encodedWork(100, 150, true)]);
    await writer.write([encodedWork(150, 200, true)]);
    await expectTotals(200);
  });

  it('applies consecutive pieces of one batch in one transaction, next to another partition', async () => {
    const writer = new RealtimeViewWriter({ pool: db.pool, consumer: 'g', chunkSize: CHUNK });
    await writer.write([encodedWork(0, 130)]);
    const other = encodedWork(0, 100, false, 1);
    // 130..150 merges into the open chunk 2; the pieces after it start fresh chunks.
    const outcomes = await writer.write([encodedWork(130, 150, true), other, encodedWork(150, 200, true), encodedWork(200, 275, true)]);
    expect(outcomes.map((o) => o.nextOffset)).toEqual([150, 100, 200, 275]);
    const offsets = await writer.storedOffsets([
      { topic: TOPIC, partition: 0 },
      { topic: TOPIC, partition: 1 },
    ]);
    expect([...offsets.values()]).toEqual([275, 100]);
    // The writer remembers the open chunk 5 of the last piece: the next batch merges into it.
    await writer.write([encodedWork(275, 320)]);
    for (const view of views) {
      const totals = await realtimeTotals(db.pool, view);
      const expected = expectedTotals(view, events.slice(0, 320));
      const onPartition1 = expectedTotals(view, events.slice(0, 100));
      for (const [id, cell] of expected) expect(totals.get(id)?.events).toBe(cell.events + (onPartition1.get(id)?.events ?? 0));
    }
    // A new batch of a partition never joins a transaction that already holds one.
    await expect(writer.write([encodedWork(320, 330), encodedWork(330, 340)])).rejects.toBeInstanceOf(RangeError);
  });
});
