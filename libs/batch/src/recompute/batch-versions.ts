import type { Cut } from '@tandem/platform';
import type { Pool } from 'pg';
import { batchTableName, countRows, createVersionTable, dropRelation, tableIdentifier } from './batch-view-table';

/**
 * The registry of batch view versions (tandem_batch_versions) and their relations' life
 * cycle: building -> ready (at the flip) -> dropped (by retention). A version still
 * `building` when a run starts belongs to a run that died: its relations are dropped.
 */

/** A full version is one table; a delta version is a view over a base table and a delta table. */
export type VersionLayout = 'table' | 'delta';

export interface VersionStart {
  readonly view: string;
  readonly version: number;
  readonly transformVersion: string;
  readonly runId: string;
  readonly mode: 'full' | 'incremental';
  readonly cut: Cut;
  readonly layout: VersionLayout;
  /** The base table a delta version reads (the previous version's). */
  readonly base?: string;
}

export interface VersionRelations {
  /** What serving reads: the table, or the view over base and delta. */
  readonly table: string;
  readonly base: string;
  /** The delta table of a delta version. */
  readonly delta?: string;
}

/** Records the version and creates its (empty) table — the delta table for a delta version — in one transaction. */
export async function startVersion(pool: Pool, v: VersionStart): Promise<VersionRelations> {
  const table = batchTableName(v.view, v.version);
  const delta = v.layout === 'delta' ? batchTableName(v.view, v.version, 'bvd') : undefined;
  const base = v.layout === 'delta' ? v.base : table;
  if (base === undefined) throw new Error(`delta version ${table} needs a base table`);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO tandem_batch_versions (view, batch_version, transform_version, table_name, base_table, delta_table, run_id, mode, status, cut)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'building', $9)`,
      [v.view, v.version, v.transformVersion, table, base, delta ?? null, v.runId, v.mode, JSON.stringify(v.cut)],
    );
    // Leftovers of a run that died before recording them.
    await dropRelation(client, table);
    if (delta) await dropRelation(client, delta);
    await createVersionTable(client, delta ?? table);
    await client.query('COMMIT');
    return { table, base, delta };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export interface VersionRecord extends VersionRelations {
  readonly rows: number;
  readonly events: number;
  /** Rows of the delta table (0 for a table version). */
  readonly deltaRows: number;
  /** Rows of the base table. */
  readonly baseRows: number;
}

/**
 * What a version is made of and holds, from its registry row (and counts where the row has
 * none). A version made outside this registry is taken as a plain table.
 */
export async function versionRecord(pool: Pool, table: string): Promise<VersionRecord> {
  const { rows } = await pool.query<{ base_table: string; delta_table: string | null; rows: string | null; events: string | null }>(
    `SELECT base_table, delta_table, rows, events FROM tandem_batch_versions WHERE table_name = $1`,
    [table],
  );
  const r = rows[0];
  const client = await pool.connect();
  try {
    const base = r?.base_table ?? table;
    const delta = r?.delta_table ?? undefined;
    const total = r?.rows != null ? Number(r.rows) : await countRows(client, table);
    let events = r?.events != null ? Number(r.events) : undefined;
    if (events === undefined) {
      const summed = await client.query<{ events: string | null }>(`SELECT sum(events)::text AS events FROM ${tableIdentifier(table)}`);
      events = Number(summed.rows[0].events ?? 0);
    }
    const deltaRows = delta ? await countRows(client, delta) : 0;
    const baseRows = delta ? await countRows(client, base) : total;
    return { table, base, delta, rows: total, events, deltaRows, baseRows };
  } finally {
    client.release();
  }
}

export interface DroppedVersion {
  readonly view: string;
  readonly version: number;
  readonly table: string;
  readonly reason: 'unfinished' | 'retention';
}

/**
 * Drops the versions that never became ready, and ready versions beyond the newest `keep`
 * per view; then the base tables no remaining version reads. The version serving now is
 * never dropped (it is the newest ready one, and reads its own base). Must run under the
 * batch lock: a `building` version of a live run would be taken for a dead one.
 */
export async function collectVersions(pool: Pool, keep: number): Promise<DroppedVersion[]> {
  const { rows } = await pool.query<{ view: string; batch_version: string; table_name: string; delta_table: string | null; status: string; rank: string; current: boolean }>(
    `SELECT v.view, v.batch_version, v.table_name, v.delta_table, v.status,
            row_number() OVER (PARTITION BY v.view, v.status ORDER BY v.batch_version DESC) AS rank,
            EXISTS (SELECT 1 FROM tandem_batch_current c WHERE c.table_name = v.table_name) AS current
       FROM tandem_batch_versions v
      WHERE v.status IN ('building', 'ready')`,
  );
  const doomed: (DroppedVersion & { readonly delta: string | null })[] = [];
  for (const r of rows) {
    if (r.current) continue;
    const version = Number(r.batch_version);
    if (r.status === 'building') doomed.push({ view: r.view, version, table: r.table_name, delta: r.delta_table, reason: 'unfinished' });
    else if (Number(r.rank) > keep) doomed.push({ view: r.view, version, table: r.table_name, delta: r.delta_table, reason: 'retention' });
  }
  const client = await pool.connect();
  try {
    for (const d of doomed) {
      await client.query('BEGIN');
      // A delta version owns its view and delta table; a table version's table is a base,
      // dropped below once no version reads it.
      if (d.delta !== null) {
        await dropRelation(client, d.table);
        await dropRelation(client, d.delta);
      }
      await client.query(`UPDATE tandem_batch_versions SET status = 'dropped', dropped_at = now() WHERE view = $1 AND batch_version = $2`, [d.view, d.version]);
      await client.query('COMMIT');
    }
    const { rows: orphans } = await client.query<{ base_table: string }>(
      `SELECT DISTINCT v.base_table FROM tandem_batch_versions v
        WHERE v.status = 'dropped'
          AND NOT EXISTS (SELECT 1 FROM tandem_batch_versions w WHERE w.base_table = v.base_table AND w.status IN ('building', 'ready'))
          AND NOT EXISTS (SELECT 1 FROM tandem_batch_current c WHERE c.table_name = v.base_table)
          AND to_regclass(quote_ident(v.base_table)) IS NOT NULL`,
    );
    for (const o of orphans) await dropRelation(client, o.base_table);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  return doomed.map(({ view, version, table, reason }) => ({ view, version, table, reason }));
}
