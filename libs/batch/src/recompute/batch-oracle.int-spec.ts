import { flights, httpRequests } from '@tandem/contracts';
import { readFlights } from '@tandem/platform';
import { flightsPerOriginHour, flightsPerRouteDay, requestsPerStatusHour, requestsPerUrlMinute } from '@tandem/transforms';
import { accessLogEvents, type BatchTestEnv, openBatchTestEnv, testRunner } from './testing/batch-test-env';
import { batchCells, belowCut, duckCells, type DuckConnection, expectEqualCells, openDuckDb } from './testing/duckdb-oracle';
import { LakeFixture } from './testing/lake-fixture';

/**
 * The batch views computed from the lake equal an independent engine's answer over the same
 * Parquet files: DuckDB groups the lake's rows by key and event-time bucket, restricted to
 * the offsets below the run's cut, and every cell's count, sum, min, max and mean must match
 * exactly.
 */
const FLIGHT_ROWS = 200_000;
jest.setTimeout(180_000);

let env: BatchTestEnv;
let duck: DuckConnection;

beforeAll(async () => {
  env = await openBatchTestEnv('batch_oracle');
  const http = new LakeFixture(env.storage, httpRequests);
  await http.appendByKey(accessLogEvents(), 700);
  const air = new LakeFixture(env.storage, flights);
  for await (const slice of readFlights({ limit: FLIGHT_ROWS, batchSize: 50_000 })) await air.appendByKey(slice, 12_000);
  duck = await openDuckDb();
});

afterAll(async () => {
  duck?.closeSync();
  await env?.close();
});

describe('batch views against DuckDB over the same lake files', () => {
  let summary: Awaited<ReturnType<ReturnType<typeof testRunner>['run']>>;

  beforeAll(async () => {
    // Two worker threads even for this small lake: the parallel scan is what is under test.
    const runner = testRunner(env, [requestsPerUrlMinute, requestsPerStatusHour, flightsPerOriginHour, flightsPerRouteDay], { workers: 2, minRowsPerWorker: 1 });
    summary = await runner.run({ mode: 'full' });
    await runner.close();
  });

  it('scanned the lake with worker threads and covered whole chunks only', () => {
    expect(summary.workers).toBe(2);
    for (const v of summary.views) {
      expect(v.flipped).toBe(true);
      for (const offset of Object.values(v.cut)) expect(offset % 500).toBe(0);
    }
    // 200,000 flights + the access log's records, minus what lies beyond the cuts
    expect(summary.records).toBeGreaterThan(FLIGHT_ROWS);
  });

  it('requests_per_url_minute: count, sum and max per URL and minute', async () => {
    const { cut, cells } = await batchCells(env.db, requestsPerUrlMinute);
    const duckdb = await duckCells(duck, `
      SELECT path AS k, (ts // 60000) * 60000 AS b, count(*) AS requests, sum(bytes) AS bytes, max(bytes) AS max_bytes
        FROM read_parquet('${env.lakeDir}/http_requests/**/*.parquet') WHERE ${belowCut(cut)} GROUP BY 1, 2`);
    expectEqualCells(cells, duckdb, [['requests', 'requests'], ['bytes', 'bytes'], ['max_bytes', 'max_bytes']]);
  });

  it('requests_per_status_hour: count and sum per status and hour', async () => {
    const { cut, cells } = await batchCells(env.db, requestsPerStatusHour);
    const duckdb = await duckCells(duck, `
      SELECT CAST(status AS VARCHAR) AS k, (ts // 3600000) * 3600000 AS b, count(*) AS requests, sum(bytes) AS bytes
        FROM read_parquet('${env.lakeDir}/http_requests/**/*.parquet') WHERE ${belowCut(cut)} GROUP BY 1, 2`);
    expectEqualCells(cells, duckdb, [['requests', 'requests'], ['bytes', 'bytes']]);
  });

  it('flights_per_origin_hour: count, mean, min and max delay per origin and hour', async () => {
    const { cut, cells } = await batchCells(env.db, flightsPerOriginHour);
    const duckdb = await duckCells(duck, `
      SELECT origin AS k, (ts // 3600000) * 3600000 AS b, count(*) AS flights, avg(delay) AS delay_mean, min(delay) AS delay_min, max(delay) AS delay_max
        FROM read_parquet('${env.lakeDir}/flights/**/*.parquet') WHERE ${belowCut(cut)} GROUP BY 1, 2`);
    expectEqualCells(cells, duckdb, [['flights', 'flights'], ['delay_mean', 'delay_mean'], ['delay_min', 'delay_min'], ['delay_max', 'delay_max']]);
  });

  it('flights_per_route_day: count, mean delay and total distance per route and day', async () => {
    const { cut, cells } = await batchCells(env.db, flightsPerRouteDay);
    const duckdb = await duckCells(duck, `
      SELECT to_json([origin, destination])::VARCHAR AS k, (ts // 86400000) * 86400000 AS b, count(*) AS flights, avg(delay) AS delay_mean, sum(distance) AS distance
        FROM read_parquet('${env.lakeDir}/flights/**/*.parquet') WHERE ${belowCut(cut)} GROUP BY 1, 2`);
    expectEqualCells(cells, duckdb, [['flights', 'flights'], ['delay_mean', 'delay_mean'], ['distance', 'distance']]);
  });
});
