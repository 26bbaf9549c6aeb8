import { DuckDBInstance } from '@duckdb/node-api';
import type { Database } from '@tandem/platform';
import type { AnyView } from '@tandem/transforms';
import { currentTable, tableRows } from './batch-test-env';

/**
 * An independent oracle for batch views: DuckDB groups the lake's Parquet files by key and
 * event-time bucket, restricted to the offsets below a cut; every cell must match exactly.
 */
export type DuckConnection = Awaited<ReturnType<DuckDBInstance['connect']>>;

export async function openDuckDb(): Promise<DuckConnection> {
  return (await DuckDBInstance.create(':memory:')).connect();
}

/** `offset < cut[partition]` as SQL. */
export const belowCut = (cut: Record<string, number>): string =>
  `"offset" < CASE "partition" ${Object.entries(cut).map(([p, o]) => `WHEN ${Number(p)} THEN ${Number(o)}`).join(' ')} ELSE 0 END`;

/** Rows of a query selecting `k` (key) and `b` (bucket) and aggregates, by `key \0 bucket`. */
export async function duckCells(duck: DuckConnection, sql: string): Promise<Map<string, Record<string, unknown>>> {
  const reader = await duck.runAndReadAll(sql);
  return new Map(reader.getRowObjectsJS().map((r) => [`${r['k']}\u0000${Number(r['b'])}`, r]));
}

/** The current batch version of a view: its cut and each cell's presented value. */
export async function batchCells(db: Database, view: AnyView): Promise<{ cut: Record<string, number>; cells: Map<string, Record<string, unknown>> }> {
  const current = await currentTable(db, view.name);
  if (!current) throw new Error(`view ${view.name} has no batch version`);
  const rows = await tableRows(db, current.table);
  const cells = new Map<string, Record<string, unknown>>();
  for (const [id, row] of rows) cells.set(id, view.aggregator.present(view.aggregator.decode(row.state as never)) as Record<string, unknown>);
  return { cut: current.cut, cells };
}

/** Every cell on both sides, every listed field equal (ours, DuckDB's). */
export function expectEqualCells(ours: Map<string, Record<string, unknown>>, theirs: Map<string, Record<string, unknown>>, pairs: readonly [string, string][]): void {
  expect(ours.size).toBe(theirs.size);
  expect(ours.size).toBeGreaterThan(0);
  let checked = 0;
  for (const [id, mine] of ours) {
    const other = theirs.get(id);
    if (other === undefined) throw new Error(`cell ${JSON.stringify(id)} is in the batch view but not in DuckDB's answer`);
    for (const [ourField, duckField] of pairs) {
      const want = Number(other[duckField]);
      if (mine[ourField] !== want) throw new Error(`cell ${JSON.stringify(id)} ${ourField}: batch ${mine[ourField]}, DuckDB ${want}`);
      checked++;
    }
  }
  expect(checked).toBe(ours.size * pairs.length);
}
