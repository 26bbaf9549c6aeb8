import { ImpossibleStateError, openDatabase, type Database } from '@tandem/platform';
import { testEnv, withSchema, type TestSchema } from '@tandem/testkit';
import { type AnyView, flightsPerOriginHour, flightsPerRouteDay, sumStates, ViewAccumulator } from '@tandem/transforms';
import { InvalidQueryError, TransformVersionUnavailableError, UnknownKeyError, UnknownViewError } from './query/query-errors';
import { QueryService } from './query-service';
import { batchRowsOf, LayerSeeder, type LoggedEvent, realtimeRowsOf } from './testing/layer-seeder';
import { sampleFlights } from './testing/sample-flights';

// Real servers on a shared machine: hooks and tests get more than Jest's default 5 s.
jest.setTimeout(60_000);

const CHUNK = 100;
const CONSUMER = 'tandem-speed';
const DAY = Date.UTC(2001, 0, 1);
const view = flightsPerOriginHour;

/** What the merge must equal: the view's aggregator over every event of the key in range. */
function expectedValues(v: AnyView, events: readonly LoggedEvent[], key: string, from: number, to: number): unknown {
  const acc = new ViewAccumulator(v);
  for (const e of events) acc.add(e.event);
  const states = [...acc.cells()].filter((c) => c.key === key && c.bucket >= from && c.bucket < to).map((c) => c.state);
  return v.aggregator.present(sumStates(v.aggregator, states));
}

function eventsOf(v: AnyView, events: readonly LoggedEvent[], key: string, pred: (e: LoggedEvent) => boolean): number {
  return events.filter((e) => pred(e) && v.accepts(e.event) && v.keyOf(e.event) === key).length;
}

describe('QueryService over PostgreSQL', () => {
  let schema: TestSchema;
  let db: Database;
  let seeder: LayerSeeder;
  let service: QueryService;
  const events = sampleFlights({ events: 3_000, partitions: 2, seed: 7 });
  // Batch covers offsets below the cut; the speed layer has rows for everything (it has not
  // yet deleted the chunks below the cut), so a merge that ignored the cut would double count.
  const cut = { '0': 700, '1': 400 };
  const nextOffsets = [0, 1].map((p) => Math.max(...events.filter((e) => e.partition === p).map((e) => e.offset)) + 1);

  beforeAll(async () => {
    const env = testEnv();
    schema = await withSchema(env.databaseUrl, 'serving_qs');
    db = await openDatabase({ url: env.databaseUrl, schema: schema.schema, poolSize: 4 });
    seeder = new LayerSeeder(db.pool);
    service = new QueryService({ pool: db.pool, chunkSize: CHUNK, speedConsumer: CONSUMER, now: () => DAY + 2 * 86_400_000 });
  });

  afterAll(async () => {
    await db?.close();
    await schema?.drop();
  });

  beforeEach(async () => {
    await seeder.clear();
    await db.pool.query(`DO $$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'batch_%' LOOP EXECUTE format('DROP TABLE %I', t); END LOOP; END $$`);
  });

  async function seedAll(v: AnyView = view, version = 1): Promise<void> {
    await seeder.batchVersion(v, { version, cut, rows: batchRowsOf(v, events, cut) });
    await seeder.realtimeRows(v, realtimeRowsOf(v, events, CHUNK));
    await seeder.speedOffsets(CONSUMER, v.stream.topic, nextOffsets.map((n, p) => ({ partition: p, nextOffset: n, lastLogTime: DAY + 86_400_000 })));
  }

  it('merges the batch version with exactly the realtime rows at or above its cut', async () => {
    await seedAll();
    for (const origin of ['ATL', 'ORD', 'BOS']) {
      const answer = await service.value({ view: view.name, key: origin, from: DAY, to: DAY + 86_400_000 });
      expect(answer.values).toEqual(expectedValues(view, events, origin, DAY, DAY + 86_400_000));
      const partition = events.find((e) => e.event.origin === origin)!.partition;
      const below = (e: LoggedEvent) => e.offset < cut[String(partition) as '0' | '1'];
      expect(answer.provenance.events).toEqual({
        batch: eventsOf(view, events, origin, below),
        speed: eventsOf(view, events, origin, (e) => !below(e)),
      });
      expect(answer.provenance.events.batch).toBeGreaterThan(0);
      expect(answer.provenance.events.speed).toBeGreaterThan(0);
    }
  });

  it('gives the same answers again from its caches (cached states are never mutated)', async () => {
    await seedAll();
    const ask = async () => [
      await service.value({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000 }),
      await service.timeSeries({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000, granularity: 'day' }),
      await service.topN({ view: view.name, aggregate: 'delay_p95', from: DAY, to: DAY + 86_400_000, n: 5 }),
    ];
    const first = await ask();
    const hits = service.cacheStats().hits;
    const second = await ask();
    const third = await ask();
    expect(service.cacheStats().hits).toBeGreaterThan(hits);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect((first[0] as { values: unknown }).values).toEqual(expectedValues(view, events, 'ATL', DAY, DAY + 86_400_000));
  });

  it('reuses the fold of closed realtime chunks and still reads the open ones as the speed layer moves on', async () => {
    const fresh = new QueryService({ pool: db.pool, chunkSize: CHUNK, speedConsumer: CONSUMER, now: () => DAY + 2 * 86_400_000 });
    await seeder.batchVersion(view, { version: 1, cut, rows: batchRowsOf(view, events, cut) });
    // The speed layer moves from `previous` to `next` per partition: it rewrites the rows of the
    // chunk it was in and writes those of the chunks after it, so its rows hold every event below `next`.
    const speedAt = async (next: readonly number[], previous: readonly number[]) => {
      const redone = previous.map((o) => Math.floor(o / CHUNK));
      for (const [p, chunk] of redone.entries()) await db.pool.query('DELETE FROM tandem_realtime WHERE partition = $1 AND chunk >= $2', [p, chunk]);
      await seeder.realtimeRows(view, realtimeRowsOf(view, events.filter((e) => e.offset >= redone[e.partition] * CHUNK && e.offset < next[e.partition]), CHUNK));
      await seeder.speedOffsets(CONSUMER, view.stream.topic, next.map((n, p) => ({ partition: p, nextOffset: n, lastLogTime: DAY })));
    };
    const range = { from: DAY, to: DAY + 86_400_000 };
    const key = events.find((e) => e.partition === 0 && e.offset >= 1_250 && e.offset < 1_290)!.event.origin;
    const ask = async () => [
      await fresh.value({ view: view.name, key, ...range }),
      await fresh.timeSeries({ view: view.name, key, ...range, layers: true }),
      await fresh.topN({ view: view.name, aggregate: 'flights', ...range, n: 5 }),
    ];
    const expectAnswersOver = (answers: unknown[], next: readonly number[]) => {
      const seen = events.filter((e) => e.offset < next[e.partition]);
      const [value, series, top] = answers as [{ values: unknown; provenance: { events: { batch: number; speed: number } } }, { points: { values: unknown; layers?: { batch: number; speed: number } }[] }, { entries: unknown[] }];
      expect(value.values).toEqual(expectedValues(view, seen, key, range.from, range.to));
      expect(value.provenance.events.batch + value.provenance.events.speed).toBe(eventsOf(view, seen, key, () => true));
      expect(series.points.reduce((n, p) => n + p.layers!.batch + p.layers!.speed, 0)).toBe(eventsOf(view, seen, key, () => true));
      const totals = new Map<string, number>();
      for (const e of seen) totals.set(e.event.origin, (totals.get(e.event.origin) ?? 0) + 1);
      const expected = [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5);
      expect(top.entries).toEqual(expected.map(([origin, n]) => ({ key: { origin }, value: n })));
    };
    const first = [1_250, 1_050];
    await speedAt(first, [0, 0]);
    const before = await ask();
    expectAnswersOver(before, first);
    expect(fresh.settledPartStats()).toMatchObject({ hits: 0, misses: 3, entries: 3 });
    expect(await ask()).toEqual(before);
    expect(fresh.settledPartStats().hits).toBe(3);

    // More events in the same open chunks (12 and 10): the closed chunks' folds still stand, the open rows are read again.
    const later = [1_290, 1_090];
    await speedAt(later, first);
    const grown = await ask();
    expectAnswersOver(grown, later);
    expect(grown[0]).not.toEqual(before[0]);
    expect(fresh.settledPartStats().hits).toBe(6);

    // Those chunks close and more follow: other closed ranges, so other folds.
    const done = nextOffsets;
    await speedAt(done, later);
    expectAnswersOver(await ask(), done);
    expect(fresh.settledPartStats()).toMatchObject({ hits: 6, misses: 6 });
  });

  it('reports provenance: batch version and cut, speed offsets, freshness, transform version', async () => {
    await seedAll();
    const answer = await service.value({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000 });
    expect(answer.provenance).toMatchObject({
      transformVersion: view.transformVersion,
      codeTransformVersion: view.transformVersion,
      batch: { version: 1, runId: 'run-1', topic: 'tandem.flights.v1', cut: [{ partition: 0, offset: 700 }, { partition: 1, offset: 400 }] },
      speed: { consumer: CONSUMER, offsets: nextOffsets.map((n, p) => ({ partition: p, offset: n })), freshnessMs: 86_400_000 },
      notes: [],
    });
    expect(answer.provenance.rows.batch).toBeGreaterThan(0);
  });

  it('gives a series per hour and rolled up per day, equal to the events', async () => {
    await seedAll();
    const hourly = await service.timeSeries({ view: view.name, key: 'ORD', from: DAY, to: DAY + 86_400_000 });
    expect(hourly.granularity).toBe('hour');
    expect(hourly.points.length).toBeGreaterThan(10);
    for (const p of hourly.points) expect(p.values).toEqual(expectedValues(view, events, 'ORD', p.bucketStart, p.bucketStart + 3_600_000));
    const daily = await service.timeSeries({ view: view.name, key: 'ORD', from: DAY, to: DAY + 86_400_000, granularity: 'day', aggregates: ['flights', 'delay_max'] });
    expect(daily.points).toEqual([{ bucketStart: DAY, values: pick(expectedValues(view, events, 'ORD', DAY, DAY + 86_400_000), ['flights', 'delay_max']) }]);
    expect(daily.points[0].values['flights']).toBe(hourly.points.reduce((n, p) => n + (p.values['flights'] as number), 0));
  });

  it('ranks keys by an aggregate over a range', async () => {
    await seedAll();
    const top = await service.topN({ view: view.name, aggregate: 'flights', from: DAY, to: DAY + 86_400_000, n: 3 });
    const totals = new Map<string, number>();
    for (const e of events) totals.set(e.event.origin, (totals.get(e.event.origin) ?? 0) + 1);
    const expected = [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 3);
    expect(top.entries).toEqual(expected.map(([origin, n]) => ({ key: { origin }, value: n })));
    expect(top.provenance.events.batch + top.provenance.events.speed).toBe(events.length);
    const lowest = await service.topN({ view: view.name, aggregate: 'delay_max', from: DAY, to: DAY + 3_600_000, n: 2, order: 'asc' });
    expect(lowest.entries).toHaveLength(2);
    expect(lowest.entries[0].value!).toBeLessThanOrEqual(lowest.entries[1].value!);
  });

  it('ranks multi-dimension keys and resolves them in every form', async () => {
    await seedAll(flightsPerRouteDay);
    const top = await service.topN({ view: flightsPerRouteDay.name, aggregate: 'distance', from: DAY, to: DAY + 86_400_000, n: 1 });
    const { origin, destination } = top.entries[0].key;
    const byJson = await service.value({ view: flightsPerRouteDay.name, key: JSON.stringify([origin, destination]), from: DAY, to: DAY + 86_400_000 });
    const byMap = await service.value({ view: flightsPerRouteDay.name, key: { destination, origin }, from: DAY, to: DAY + 86_400_000 });
    expect(byJson.values).toEqual(byMap.values);
    expect(byJson.values['distance']).toBe(top.entries[0].value);
    expect(byJson.values).toEqual(expectedValues(flightsPerRouteDay, events, flightsPerRouteDay.encodeKey([origin, destination]), DAY, DAY + 86_400_000));
  });

  it('answers from the speed layer alone before the first batch run', async () => {
    await seeder.realtimeRows(view, realtimeRowsOf(view, events, CHUNK));
    const answer = await service.value({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000 });
    expect(answer.values).toEqual(expectedValues(view, events, 'ATL', DAY, DAY + 86_400_000));
    expect(answer.provenance.batch).toBeNull();
    expect(answer.provenance.rows.batch).toBe(0);
    expect(answer.provenance.notes.join('\n')).toMatch(/no batch version yet/);
  });

  it('never merges realtime rows of another transform version', async () => {
    await seedAll();
    await seeder.realtimeRows(view, realtimeRowsOf(view, events, CHUNK), 'v9-other');
    const answer = await service.value({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000 });
    expect(answer.values).toEqual(expectedValues(view, events, 'ATL', DAY, DAY + 86_400_000));
  });

  it('serves the batch pointer\'s transform version during a rollout and says so', async () => {
    const old = 'v0-previous';
    await seeder.batchVersion(view, { version: 1, cut, rows: batchRowsOf(view, events, cut), transformVersion: old });
    await seeder.realtimeRows(view, realtimeRowsOf(view, events, CHUNK), old);
    await seeder.realtimeRows(view, realtimeRowsOf(view, events, CHUNK)); // the new version's rows: not merged yet
    // The earlier definition, kept among the retired ones while the rollout lasts.
    const retired = Object.freeze({ ...view, transformVersion: old }) as AnyView;
    const rollout = new QueryService({ pool: db.pool, chunkSize: CHUNK, speedConsumer: CONSUMER, retiredViews: [retired] });
    const answer = await rollout.value({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000 });
    expect(answer.values).toEqual(expectedValues(view, events, 'ATL', DAY, DAY + 86_400_000));
    expect(answer.provenance.transformVersion).toBe(old);
    expect(answer.provenance.codeTransformVersion).toBe(view.transformVersion);
    expect(answer.provenance.notes.join('\n')).toMatch(/serving transform version v0-previous/);
    // Without it, the service cannot read those states: it says so rather than guess.
    await expect(service.value({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000 })).rejects.toThrow(TransformVersionUnavailableError);
    await expect(service.topN({ view: view.name, aggregate: 'flights', from: DAY, to: DAY + 86_400_000, n: 3 })).rejects.toThrow(/computed by transform version v0-previous, which is not defined/);
    // A retired definition with other cells (another key) is refused at construction.
    expect(() => new QueryService({ pool: db.pool, chunkSize: CHUNK, retiredViews: [Object.freeze({ ...flightsPerRouteDay, name: view.name })] })).toThrow(/a view whose cells change is a new view/);
  });

  it('reads a new batch version as soon as it is current (cached parts are per version)', async () => {
    await seedAll();
    const before = await service.value({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000 });
    await service.value({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000 }); // cached now
    const cut2 = { '0': 1_000, '1': 600 };
    await seeder.batchVersion(view, { version: 2, cut: cut2, rows: batchRowsOf(view, events, cut2) });
    const after = await service.value({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000 });
    expect(after.values).toEqual(before.values);
    expect(after.provenance.batch?.version).toBe(2);
    expect(after.provenance.events.batch).toBeGreaterThan(before.provenance.events.batch);
    expect(service.cacheStats().hits).toBeGreaterThan(0);
  });

  it('notes a batch cut ahead of the speed layer without failing', async () => {
    const ahead = { '0': 10_000, '1': 10_000 };
    await seeder.batchVersion(view, { version: 1, cut: ahead, rows: batchRowsOf(view, events, ahead) });
    await seeder.realtimeRows(view, realtimeRowsOf(view, events.filter((e) => e.offset < 300), CHUNK));
    await seeder.speedOffsets(CONSUMER, view.stream.topic, [0, 1].map((p) => ({ partition: p, nextOffset: 300, lastLogTime: DAY })));
    const answer = await service.value({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000 });
    expect(answer.values).toEqual(expectedValues(view, events, 'ATL', DAY, DAY + 86_400_000));
    expect(answer.provenance.notes.join('\n')).toMatch(/batch cut is ahead of the speed layer on partition 0 \(cut 10000, speed at 300\)/);
  });

  describe('fails loudly on an impossible state', () => {
    it('when the pointer names a table that does not exist', async () => {
      await seedAll();
      await db.pool.query(`DROP TABLE batch_${view.name}_v1`);
      const fresh = new QueryService({ pool: db.pool, chunkSize: CHUNK, speedConsumer: CONSUMER });
      await expect(fresh.value({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000 })).rejects.toThrow(ImpossibleStateError);
      await expect(fresh.value({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000 })).rejects.toThrow(/names table batch_flights_per_origin_hour_v1, which does not exist/);
    });

    it('when the cut is not on a chunk boundary', async () => {
      await seeder.batchVersion(view, { version: 1, cut: { '0': 150 }, rows: [] });
      await expect(service.value({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000 })).rejects.toThrow(/not a multiple of the chunk size 100/);
    });

    it('when realtime rows cover offsets the speed layer has not consumed', async () => {
      await seedAll();
      await seeder.speedOffsets(CONSUMER, view.stream.topic, [{ partition: 0, nextOffset: 700, lastLogTime: DAY }]);
      await expect(service.topN({ view: view.name, aggregate: 'flights', from: DAY, to: DAY + 86_400_000, n: 3 })).rejects.toThrow(ImpossibleStateError);
    });

    it('when a stored state cannot be decoded', async () => {
      await seedAll();
      await db.pool.query(`UPDATE tandem_realtime SET state = '{"flights": "many"}' WHERE key = 'ATL'`);
      await expect(service.value({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000 })).rejects.toThrow(/state cannot be decoded/);
    });
  });

  describe('rejects bad queries', () => {
    it('unknown views and keys are not found', async () => {
      await seedAll();
      await expect(service.value({ view: 'nope', key: 'ATL', from: DAY, to: DAY + 1 })).rejects.toThrow(UnknownViewError);
      await expect(service.value({ view: view.name, key: 'XXX', from: DAY, to: DAY + 86_400_000 })).rejects.toThrow(UnknownKeyError);
    });

    it('SQL-looking keys are plain values and change nothing', async () => {
      await seedAll();
      const before = await db.pool.query('SELECT count(*)::int AS n FROM tandem_realtime');
      for (const key of ["ATL'; DROP TABLE tandem_realtime; --", 'ATL" OR 1=1 --', "' OR '1'='1"]) {
        await expect(service.value({ view: view.name, key, from: DAY, to: DAY + 86_400_000 })).rejects.toThrow(UnknownKeyError);
        await expect(service.timeSeries({ view: view.name, key, from: DAY, to: DAY + 86_400_000 })).rejects.toThrow(UnknownKeyError);
      }
      await expect(service.topN({ view: view.name, aggregate: "flights'; DROP TABLE tandem_realtime; --", from: DAY, to: DAY + 1, n: 1 })).rejects.toThrow(InvalidQueryError);
      const after = await db.pool.query('SELECT count(*)::int AS n FROM tandem_realtime');
      expect(after.rows[0].n).toBe(before.rows[0].n);
      expect((await service.value({ view: view.name, key: 'ATL', from: DAY, to: DAY + 86_400_000 })).values['flights']).toBeGreaterThan(0);
    });

    it('invalid ranges, granularities, aggregates and n name the parameter', async () => {
      const q = { view: view.name, key: 'ATL' };
      await expect(service.value({ ...q, from: DAY, to: DAY })).rejects.toMatchObject({ parameter: 'to' });
      await expect(service.value({ ...q, from: -5, to: DAY })).rejects.toMatchObject({ parameter: 'from' });
      await expect(service.timeSeries({ ...q, from: DAY, to: DAY + 1, granularity: 'minute' })).rejects.toMatchObject({ parameter: 'granularity' });
      await expect(service.timeSeries({ ...q, from: 0, to: DAY, granularity: 'hour' })).rejects.toMatchObject({ parameter: 'to' });
      await expect(service.value({ ...q, from: DAY, to: DAY + 1, aggregates: ['flights', 'bogus'] })).rejects.toMatchObject({ parameter: 'aggregates' });
      await expect(service.topN({ view: view.name, aggregate: 'flights', from: DAY, to: DAY + 1, n: 0 })).rejects.toMatchObject({ parameter: 'n' });
      await expect(service.topN({ view: 'requests_per_url_minute', aggregate: 'clients', from: DAY, to: DAY + 1, n: 5 })).resolves.toMatchObject({ entries: [] });
      await expect(service.value({ view: flightsPerRouteDay.name, key: 'SFO', from: DAY, to: DAY + 1 })).rejects.toMatchObject({ parameter: 'key' });
      await expect(service.value({ ...q, key: 'A\u0000B', from: DAY, to: DAY + 1 })).rejects.toMatchObject({ parameter: 'key' });
    });
  });

  it('lists views with their batch version and freshness', async () => {
    await seedAll();
    const { views } = await service.listViews();
    const info = views.find((v) => v.name === view.name)!;
    expect(info).toMatchObject({ stream: 'flights', granularity: 'hour', dimensions: ['origin'], batch: { version: 1 }, freshnessMs: 86_400_000 });
    expect(info.aggregates.find((a) => a.name === 'delay_p95')).toMatchObject({ kind: 'quantile', numeric: true });
    expect(views.find((v) => v.name === 'requests_per_url_minute')).toMatchObject({ batch: null, freshnessMs: null });
  });
});

function pick(values: unknown, names: string[]): Record<string, unknown> {
  const v = values as Record<string, unknown>;
  return Object.fromEntries(names.map((n) => [n, v[n]]));
}

