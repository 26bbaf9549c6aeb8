import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { MergedCell } from './cell-merger';

/**
 * A batch view version is read through one relation, `tandem_bv_<view>_<version>`, with the
 * columns (key text, bucket bigint, state jsonb, events bigint), one row per (key, bucket):
 *
 * - a full version is a table with that name, PRIMARY KEY (key, bucket);
 * - an incremental version is a view with that name over a base table (an earlier full
 *   version's) and its own delta table `tandem_bvd_<view>_<version>` of the cells changed
 *   since that base, whose rows replace the base's.
 *
 * Tables are filled with COPY and indexed after the load (building a B-tree over sorted input
 * beats maintaining it row by row), and serving never sees them before the flip.
 */
const MAX_IDENTIFIER = 63;

export type RelationKind = 'bv' | 'bvd';

export function batchTableName(view: string, version: number, kind: RelationKind = 'bv'): string {
  const plain = `tandem_${kind}_${view}_${version}`;
  if (plain.length <= MAX_IDENTIFIER) return plain;
  // PostgreSQL truncates longer identifiers silently; two long view names could then collide.
  const hash = createHash('sha256').update(view).digest('hex').slice(0, 8);
  const room = MAX_IDENTIFIER - `tandem_${kind}___${hash}_${version}`.length + 1;
  return `tandem_${kind}_${view.slice(0, room)}_${hash}_${version}`;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Quotes a table name we generated; anything else is refused rather than escaped. */
export function tableIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new RangeError(`not a batch table name: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

export async function createVersionTable(client: PoolClient, table: string): Promise<void> {
  await client.query(`CREATE TABLE ${tableIdentifier(table)} (key text NOT NULL, bucket bigint NOT NULL, state jsonb NOT NULL, events bigint NOT NULL)`);
}

/** Adds the primary key once the table is loaded, and statistics for the planner. */
export async function sealVersionTable(client: PoolClient, table: string): Promise<void> {
  const id = tableIdentifier(table);
  await client.query(`ALTER TABLE ${id} ADD PRIMARY KEY (key, bucket)`);
  await client.query(`ANALYZE ${id}`);
}

// COPY text format: backslash, tab, newline and carriage return must be escaped.
const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const copyText = (s: string): string => (NEEDS_ESCAPE.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]) : s);

const COPY_BLOCK_CHARS = 1 << 18;

/** Streams cells into a table with COPY; returns the rows and the events they hold. */
export async function copyCells(
  client: PoolClient,
  table: string,
  cells: Iterable<MergedCell>,
  onRows?: (rows: number) => void,
): Promise<{ readonly rows: number; readonly events: number }> {
  let rows = 0;
  let events = 0;
  function* blocks(): Generator<string> {
    let block = '';
    for (const c of cells) {
      block += `${copyText(c.key)}\t${c.bucket}\t${copyText(c.state)}\t${c.events}\n`;
      rows++;
      events += c.events;
      if (block.length >= COPY_BLOCK_CHARS) {
        yield block;
        block = '';
        onRows?.(rows);
      }
    }
    if (block.length > 0) yield block;
    onRows?.(rows);
  }
  const sink = client.query(copyFrom(`COPY ${tableIdentifier(table)} (key, bucket, state, events) FROM STDIN`));
  await pipeline(Readable.from(blocks(), { objectMode: false }), sink);
  return { rows, events };
}

/** Rows of a table for the given cells (those an incremental run changes). */
export async function readCellsOf(
  client: PoolClient,
  table: string,
  cells: readonly { readonly key: string; readonly bucket: number }[],
): Promise<MergedCell[]> {
  const out: MergedCell[] = [];
  const BATCH = 20_000;
  for (let i = 0; i < cells.length; i += BATCH) {
    const part = cells.slice(i, i + BATCH);
    const { rows } = await client.query<{ key: string; bucket: string; state: string; events: string }>(
      `SELECT p.key, p.bucket, p.state::text AS state, p.events
         FROM ${tableIdentifier(table)} p
         JOIN unnest($1::text[], $2::bigint[]) AS t(key, bucket) ON p.key = t.key AND p.bucket = t.bucket`,
      [part.map((c) => c.key), part.map((c) => c.bucket)],
    );
    for (const r of rows) out.push({ key: r.key, bucket: Number(r.bucket), state: r.state, events: Number(r.events) });
  }
  return out;
}

/**
 * Copies, inside PostgreSQL, the rows of `from` that `into` does not hold yet: the unchanged
 * cells of an incremental run, which never travel to the client.
 */
export async function copyUnchangedRows(client: PoolClient, from: string, into: string): Promise<number> {
  const src = tableIdentifier(from);
  const dst = tableIdentifier(into);
  const result = await client.query(
    `INSERT INTO ${dst} (key, bucket, state, events)
     SELECT p.key, p.bucket, p.state, p.events FROM ${src} p
      WHERE NOT EXISTS (SELECT 1 FROM ${dst} n WHERE n.key = p.key AND n.bucket = p.bucket)`,
  );
  return result.rowCount ?? 0;
}

/** The view of an incremental version: the delta's rows, and the base's rows the delta does not replace. */
export async function createVersionView(client: PoolClient, name: string, base: string, delta: string): Promise<void> {
  const d = tableIdentifier(delta);
  await client.query(
    `CREATE VIEW ${tableIdentifier(name)} AS
       SELECT key, bucket, state, events FROM ${d}
       UNION ALL
       SELECT b.key, b.bucket, b.state, b.events FROM ${tableIdentifier(base)} b
        WHERE NOT EXISTS (SELECT 1 FROM ${d} x WHERE x.key = b.key AND x.bucket = b.bucket)`,
  );
}

/** Whether a table or view of that name exists (in the schema on the search path). */
export async function tableExists(client: PoolClient, table: string): Promise<boolean> {
  const { rows } = await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [tableIdentifier(table)]);
  return rows[0].present === true;
}

/** Drops a table or a view of that name, if there is one. */
export async function dropRelation(client: PoolClient, name: string): Promise<void> {
  const { rows } = await client.query<{ relkind: string }>(`SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass($1)`, [tableIdentifier(name)]);
  const kind = rows[0]?.relkind;
  if (kind === 'v') await client.query(`DROP VIEW ${tableIdentifier(name)}`);
  else if (kind !== undefined) await client.query(`DROP TABLE ${tableIdentifier(name)}`);
}

/** Rows of a table or view. */
export async function countRows(client: PoolClient, table: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${tableIdentifier(table)}`);
  return Number(rows[0].n);
}
