import { flights, httpRequests } from '@tandem/contracts';
import { readFlights } from '@tandem/platform';
import { type AnyView, canonicalJson, flightsPerOriginHour, flightsPerRouteDay, type Json, requestsPerStatusHour, requestsPerUrlMinute } from '@tandem/transforms';
import { accessLogEvents, type BatchTestEnv, currentTable, openBatchTestEnv, tableRows, testRunner } from './testing/batch-test-env';
import { LakeFixture } from './testing/lake-fixture';

/**
 * batch(g) = batch(g-1) ⊕ lake[C_{g-1}, C_g): a deployment that only ever runs incrementally
 * and one that recomputes everything at every step, over the same lake, hold identical
 * tables after every increment (exact states, sketches included, and event counts).
 */
jest.setTimeout(180_000);

const views: AnyView[] = [requestsPerUrlMinute, requestsPerStatusHour, flightsPerOriginHour, flightsPerRouteDay];

let incremental: BatchTestEnv;
let full: BatchTestEnv;

beforeAll(async () => {
  incremental = await openBatchTestEnv('batch_incr');
  full = await openBatchTestEnv('batch_full', incremental.lakeDir);
});

afterAll(async () => {
  await full?.close();
  await incremental?.close();
});

/** The current tables of `view` in two deployments are equal, row for row; returns the rows. */
async function expectSameTables(view: AnyView, one: BatchTestEnv = incremental, other: BatchTestEnv = full): Promise<number> {
  const a = (await currentTable(one.db, view.name))!;
  const b = (await currentTable(other.db, view.name))!;
  expect(a.cut).toEqual(b.cut);
  const rowsA = await tableRows(one.db, a.table);
  const rowsB = await tableRows(other.db, b.table);
  expect(rowsA.size).toBe(rowsB.size);
  for (const [id, row] of rowsA) {
    const other = rowsB.get(id);
    if (!other) throw new Error(`${view.name}: cell ${JSON.stringify(id)} only in the incremental table`);
    expect(row.events).toBe(other.events);
    if (canonicalJson(row.state as Json) !== canonicalJson(other.state as Json)) {
      throw new Error(`${view.name}: cell ${JSON.stringify(id)} differs:\n incremental ${canonicalJson(row.state as Json)}\n full        ${canonicalJson(other.state as Json)}`);
    }
  }
  return rowsA.size;
}

it('gives tables identical to full recomputes after each of four increments', async () => {
  const http = new LakeFixture(incremental.storage, httpRequests);
  const air = new LakeFixture(incremental.storage, flights);
  const logEvents = accessLogEvents();
  const flightSlices: unknown[][] = [];
  for await (const slice of readFlights({ limit: 40_000, batchSize: 10_000 })) flightSlices.push(slice);

  // A delta may grow to 1.5 times its base: with increments about as large as the data
  // before them, the runs alternate between deltas and compacted tables.
  const incrementalRunner = testRunner(incremental, views, { compactRatio: 1.5 });
  const fullRunner = testRunner(full, views);
  const modes: string[][] = [];
  const layouts = new Set<string>();
  const quarter = Math.ceil(logEvents.length / 4);
  for (let step = 0; step < 4; step++) {
    // Files of odd sizes, so increments end inside files and inside chunks.
    await http.appendByKey(logEvents.slice(step * quarter, (step + 1) * quarter), 333);
    await air.appendByKey(flightSlices[step], 2_777);
    const a = await incrementalRunner.run({ mode: 'incremental' });
    const b = await fullRunner.run({ mode: 'full' });
    if (process.env['BATCH_TEST_TIMINGS']) console.log(JSON.stringify({ incremental: a.timingsMs, full: b.timingsMs, a: a.durationMs, b: b.durationMs }));
    modes.push(a.views.map((v) => v.mode));
    if (step > 0) for (const v of a.views) layouts.add(v.layout!);
    if (step > 0) {
      // only what arrived since the last run was folded in (plus what the last cut left out)
      const leftOver = 500 * 4;
      for (const v of a.views) {
        const arrived = v.view.startsWith('flights') ? flightSlices[step].length : quarter;
        expect(v.recordsIn).toBeLessThanOrEqual(arrived + leftOver);
      }
    }
    for (const view of views) expect(await expectSameTables(view)).toBeGreaterThan(0);
  }
  expect(modes[0]).toEqual(['full', 'full', 'full', 'full']); // first run: nothing to add to
  expect(modes.slice(1).flat().every((m) => m === 'incremental')).toBe(true);
  expect([...layouts].sort()).toEqual(['delta', 'table']);
  await incrementalRunner.close();
  await fullRunner.close();
});

it('keeps the current version when an incremental run finds nothing new', async () => {
  const runner = testRunner(incremental, views);
  const before = (await currentTable(incremental.db, requestsPerStatusHour.name))!;
  const summary = await runner.run({ mode: 'incremental' });
  expect(summary.views.every((v) => !v.flipped)).toBe(true);
  expect((await currentTable(incremental.db, requestsPerStatusHour.name))!.table).toBe(before.table);
  await runner.close();
});

it('keeps only the newest versions (BATCH_RETENTION), never the current one nor a base a kept version reads', async () => {
  const { rows } = await incremental.db.pool.query<{ view: string; table_name: string; base_table: string; delta_table: string | null; status: string }>(
    `SELECT view, table_name, base_table, delta_table, status FROM tandem_batch_versions ORDER BY batch_version`,
  );
  const exists = async (name: string) => (await incremental.db.pool.query(`SELECT to_regclass($1) IS NOT NULL AS e`, [`"${name}"`])).rows[0].e as boolean;
  for (const view of views) {
    const mine = rows.filter((r) => r.view === view.name);
    const live = mine.filter((r) => r.status === 'ready');
    expect(live).toHaveLength(3);
    expect(mine.filter((r) => r.status === 'dropped').length).toBeGreaterThanOrEqual(1);
    expect(live.at(-1)!.table_name).toBe((await currentTable(incremental.db, view.name))!.table);
    for (const r of live) {
      expect(await exists(r.table_name)).toBe(true);
      expect(await exists(r.base_table)).toBe(true);
      if (r.delta_table) expect(await exists(r.delta_table)).toBe(true);
    }
    for (const r of mine.filter((x) => x.status === 'dropped')) {
      if (r.delta_table) expect(await exists(r.delta_table)).toBe(false);
      expect(await exists(r.table_name)).toBe(live.some((l) => l.base_table === r.table_name));
    }
  }
});

describe('versions written before states became json', () => {
  let legacy: BatchTestEnv;
  let reference: BatchTestEnv;

  beforeAll(async () => {
    legacy = await openBatchTestEnv('batch_legacy');
    reference = await openBatchTestEnv('batch_legacy_ref', legacy.lakeDir);
  });

  afterAll(async () => {
    await reference?.close();
    await legacy?.close();
  });

  it('carries a jsonb base into a json delta and into a compacted table, equal to full recomputes', async () => {
    const air = new LakeFixture(legacy.storage, flights);
    const slices: unknown[][] = [];
    for await (const slice of readFlights({ limit: 15_000, batchSize: 5_000 })) slices.push(slice);
    const airViews = [flightsPerOriginHour, flightsPerRouteDay];
    const compare = async () => {
      for (const view of airViews) expect(await expectSameTables(view, legacy, reference)).toBeGreaterThan(0);
    };

    await air.appendByKey(slices[0], 1_000);
    await testRunner(legacy, airViews).run({ mode: 'full' });
    // What a deployment upgraded from jsonb states holds: its current tables' states as jsonb.
    for (const view of airViews) {
      const { table } = (await currentTable(legacy.db, view.name))!;
      await legacy.db.pool.query(`ALTER TABLE "${table}" ALTER COLUMN state TYPE jsonb USING state::jsonb`);
    }

    await air.appendByKey(slices[1], 1_000);
    const delta = await testRunner(legacy, airViews, { compactRatio: 10 }).run({ mode: 'incremental' });
    expect(delta.views.map((v) => v.layout)).toEqual(['delta', 'delta']);
    await testRunner(reference, airViews).run({ mode: 'full' });
    await compare();

    await air.appendByKey(slices[2], 1_000);
    const compacted = await testRunner(legacy, airViews, { compactRatio: 0 }).run({ mode: 'incremental' });
    expect(compacted.views.map((v) => v.layout)).toEqual(['table', 'table']);
    await testRunner(reference, airViews).run({ mode: 'full' });
    await compare();
  });
});
