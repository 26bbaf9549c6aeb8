import type { Cut } from '@tandem/platform';
import type { Pool, PoolClient } from 'pg';

/**
 * tandem_batch_current: per view, the batch version serving reads and its cut.
 *
 * One row per view. A new transform version replaces the row at its first flip: until then
 * the old version keeps serving (with the old transform version's realtime rows), from then
 * on serving reads the new table and the new transform version's realtime rows. Cuts never
 * move back across that switch, so the speed layer can start a new transform version's rows
 * at the old cut without leaving a gap.
 */
export interface BatchPointer {
  readonly view: string;
  readonly transformVersion: string;
  readonly batchVersion: number;
  readonly table: string;
  readonly topic: string;
  readonly cut: Cut;
  readonly runId: string;
}

interface PointerRow {
  view: string;
  transform_version: string;
  batch_version: string;
  table_name: string;
  topic: string;
  cut: Record<string, number | string>;
  run_id: string;
}

const toPointer = (r: PointerRow): BatchPointer => ({
  view: r.view,
  transformVersion: r.transform_version,
  batchVersion: Number(r.batch_version),
  table: r.table_name,
  topic: r.topic,
  cut: Object.fromEntries(Object.entries(r.cut).map(([p, o]) => [p, Number(o)])),
  runId: r.run_id,
});

export async function readPointers(db: Pool | PoolClient): Promise<Map<string, BatchPointer>> {
  const { rows } = await db.query<PointerRow>(`SELECT view, transform_version, batch_version, table_name, topic, cut, run_id FROM tandem_batch_current`);
  return new Map(rows.map((r) => [r.view, toPointer(r)]));
}

/** Points serving at a new version (inside the flip transaction). */
export async function writePointer(client: PoolClient, p: BatchPointer): Promise<void> {
  await client.query(
    `INSERT INTO tandem_batch_current (view, transform_version, batch_version, table_name, topic, cut, run_id, flipped_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now())
     ON CONFLICT (view) DO UPDATE SET transform_version = EXCLUDED.transform_version, batch_version = EXCLUDED.batch_version,
       table_name = EXCLUDED.table_name, topic = EXCLUDED.topic, cut = EXCLUDED.cut, run_id = EXCLUDED.run_id, flipped_at = now()`,
    [p.view, p.transformVersion, p.batchVersion, p.table, p.topic, JSON.stringify(p.cut), p.runId],
  );
}

/**
 * Deletes the realtime rows of a view wholly below the new cut, whatever their transform
 * version: below the cut the batch version answers, and rows of another transform version are
 * never merged with this one anyway. Rows at or above the cut stay, in every version.
 */
export async function retireRealtimeRows(client: PoolClient, view: string, cut: Cut, chunkSize: number): Promise<number> {
  let deleted = 0;
  for (const [p, offset] of Object.entries(cut)) {
    const below = Math.floor(offset / chunkSize); // chunks < below end at or before the cut
    if (below <= 0) continue;
    const r = await client.query(`DELETE FROM tandem_realtime WHERE view = $1 AND partition = $2 AND chunk < $3`, [view, Number(p), below]);
    deleted += r.rowCount ?? 0;
  }
  return deleted;
}
