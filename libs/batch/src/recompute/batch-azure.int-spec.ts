import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { flights, httpRequests } from '@tandem/contracts';
import { AzureBlobLakeStorage, type Database, LakeManifest, openDatabase, readFlights } from '@tandem/platform';
import { startAzurite, testEnv, uniqueName, withSchema, type AzuriteServer } from '@tandem/testkit';
import { flightsPerRouteDay, requestsPerStatusHour } from '@tandem/transforms';
import { Registry } from 'prom-client';
import { createBatchRunner } from './batch-runner';
import { accessLogEvents, quietLogger } from './testing/batch-test-env';
import { batchCells, belowCut, duckCells, type DuckConnection, expectEqualCells, openDuckDb } from './testing/duckdb-oracle';
import { LakeFixture } from './testing/lake-fixture';

/**
 * The batch layer over a lake in Azure Blob Storage (Azurite): worker threads open the same
 * container from the lake settings, and the views equal DuckDB's answer over the very files
 * of that container (downloaded as they are).
 */
jest.setTimeout(180_000);

let azurite: AzuriteServer;
let db: Database;
let dropSchema: () => Promise<void>;
let duck: DuckConnection;
let copyDir: string;

beforeAll(async () => {
  azurite = await startAzurite();
  const schema = await withSchema(testEnv().databaseUrl, 'batch_azure');
  dropSchema = schema.drop;
  db = await openDatabase({ url: testEnv().databaseUrl, schema: schema.schema, poolSize: 6 });
  duck = await openDuckDb();
  copyDir = await mkdtemp(path.join(tmpdir(), 'tandem-azure-copy-'));
});

afterAll(async () => {
  duck?.closeSync();
  await db?.close();
  await dropSchema?.();
  await azurite?.stop();
  if (copyDir) await rm(copyDir, { recursive: true, force: true });
});

it('computes the views from a blob-storage lake with worker threads, equal to DuckDB over the same files', async () => {
  const prefix = uniqueName('lake');
  const storage = new AzureBlobLakeStorage({ connectionString: azurite.connectionString, container: 'tandem-lake', prefix });
  await new LakeFixture(storage, httpRequests).appendByKey(accessLogEvents(), 900);
  const air = new LakeFixture(storage, flights);
  for await (const slice of readFlights({ limit: 40_000, batchSize: 20_000 })) await air.appendByKey(slice, 6_000);

  const runner = createBatchRunner({
    db,
    storage,
    lakeSettings: { LAKE_DIR: '/nonexistent', LAKE_AZURE_CONNECTION_STRING: azurite.connectionString, LAKE_AZURE_CONTAINER: 'tandem-lake', LAKE_AZURE_PREFIX: prefix },
    views: [requestsPerStatusHour, flightsPerRouteDay],
    chunkSize: 500,
    registry: new Registry(),
    workers: 2,
    minRowsPerWorker: 1,
    logger: quietLogger,
  });
  const summary = await runner.run({ mode: 'full' });
  await runner.close();
  expect(summary.workers).toBe(2);

  // The container's data files, byte for byte, for DuckDB.
  const manifest = new LakeManifest(storage);
  for (const stream of ['http_requests', 'flights']) {
    for (const entry of await manifest.load(stream)) {
      const target = path.join(copyDir, entry.file!);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, await storage.get(entry.file!));
    }
  }

  const status = await batchCells(db, requestsPerStatusHour);
  expectEqualCells(
    status.cells,
    await duckCells(duck, `
      SELECT CAST(status AS VARCHAR) AS k, (ts // 3600000) * 3600000 AS b, count(*) AS requests, sum(bytes) AS bytes
        FROM read_parquet('${copyDir}/http_requests/**/*.parquet') WHERE ${belowCut(status.cut)} GROUP BY 1, 2`),
    [['requests', 'requests'], ['bytes', 'bytes']],
  );
  const routes = await batchCells(db, flightsPerRouteDay);
  expectEqualCells(
    routes.cells,
    await duckCells(duck, `
      SELECT to_json([origin, destination])::VARCHAR AS k, (ts // 86400000) * 86400000 AS b, count(*) AS flights, avg(delay) AS delay_mean, sum(distance) AS distance
        FROM read_parquet('${copyDir}/flights/**/*.parquet') WHERE ${belowCut(routes.cut)} GROUP BY 1, 2`),
    [['flights', 'flights'], ['delay_mean', 'delay_mean'], ['distance', 'distance']],
  );
});
