import { DuckDBInstance } from '@duckdb/node-api';

/**
 * The peer of the benchmark: DuckDB computing the same aggregations over the same Parquet
 * files of the lake, restricted to the same cut, each result materialised into a table (so
 * no aggregate is optimised away and, like the batch run, the result is stored).
 */
export interface PeerRun {
  /** The same aggregations as the views, sketches included (approx_quantile, approx_count_distinct). */
  readonly seconds: number;
  /** CPU seconds of those queries (DuckDB's threads run in this process). */
  readonly cpuSeconds: number;
  /** Only the exact aggregates (count, mean, min, max, sum): what DuckDB does without sketches. */
  readonly exactSeconds: number;
  readonly rows: number;
  readonly cells: { readonly originHour: number; readonly routeDay: number };
  readonly threads: number;
}

export async function runDuckDb(lakeDir: string, cut: Readonly<Record<string, number>>, threads: number): Promise<PeerRun> {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  const db = await instance.connect();
  try {
    const files = `read_parquet('${lakeDir}/flights/**/*.parquet')`;
    const below = `"offset" < CASE "partition" ${Object.entries(cut).map(([p, o]) => `WHEN ${Number(p)} THEN ${Number(o)}`).join(' ')} ELSE 0 END`;
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    await db.run(`
      CREATE TEMP TABLE origin_hour AS
      SELECT origin, (ts // 3600000) * 3600000 AS bucket, count(*) AS flights, avg(delay) AS delay_mean, min(delay) AS delay_min,
             max(delay) AS delay_max, approx_quantile(delay, 0.95) AS delay_p95, approx_count_distinct(destination) AS destinations
        FROM ${files} WHERE ${below} GROUP BY 1, 2`);
    await db.run(`
      CREATE TEMP TABLE route_day AS
      SELECT origin, destination, (ts // 86400000) * 86400000 AS bucket, count(*) AS flights, avg(delay) AS delay_mean, sum(distance) AS distance
        FROM ${files} WHERE ${below} GROUP BY 1, 2, 3`);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const exactStarted = performance.now();
    await db.run(`
      CREATE TEMP TABLE origin_hour_exact AS
      SELECT origin, (ts // 3600000) * 3600000 AS bucket, count(*) AS flights, avg(delay) AS delay_mean, min(delay) AS delay_min, max(delay) AS delay_max
        FROM ${files} WHERE ${below} GROUP BY 1, 2`);
    await db.run(`
      CREATE TEMP TABLE route_day_exact AS
      SELECT origin, destination, (ts // 86400000) * 86400000 AS bucket, count(*) AS flights, avg(delay) AS delay_mean, sum(distance) AS distance
        FROM ${files} WHERE ${below} GROUP BY 1, 2, 3`);
    const exactSeconds = (performance.now() - exactStarted) / 1000;
    const count = async (sql: string) => Number((await db.runAndReadAll(sql)).getRowsJS()[0][0]);
    return {
      seconds,
      cpuSeconds,
      exactSeconds,
      rows: await count(`SELECT count(*) FROM ${files} WHERE ${below}`),
      cells: { originHour: await count('SELECT count(*) FROM origin_hour'), routeDay: await count('SELECT count(*) FROM route_day') },
      threads,
    };
  } finally {
    db.closeSync();
  }
}
