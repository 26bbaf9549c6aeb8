import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { MergedCell } from './cell-merger';

/**
 * A batch view version is read through one relation, `tandem_bv_<view>_<version>`, with the
 * columns (key text, bucket bigint, state json, events bigint), one row per (key, bucket):
 *
 * - a full version is a table with that name, PRIMARY KEY (key, bucket);
 * - an incremental version is a view with that name over a base table (an earlier full
 *   version's) and its own delta table `tandem_bvd_<view>_<version>` of the cells changed
 *   since that base, whose rows replace the base's.
 *
 * States are `json`, not `jsonb`: jsonb's binary form costs most of a COPY's work to build,
 * and a version's states are written once while serving reads them once per version when it
 * caches them (a top-N's `state -> 'name'` parses each row's text, slower than jsonb's
 * lookup; the realtime rows, read on every query, stay jsonb). Versions written before may
 * hold `jsonb` states; reads and the incremental path (`copyUnchangedRows`,
 * `createVersionView`) accept either.
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
  await client.query(`CREATE TABLE ${tableIdentifier(table)} (key text NOT NULL, bucket bigint NOT NULL, state json NOT NULL, events bigint NOT NULL)`);
}

/**
 * Adds the primary key once the table is loaded, and statistics for the planner: of the
 * columns queries select rows by, not of the states (sampling the states' sketches costs more than
 * the rest of ANALYZE, and no query filters on a state).
 */
export async function sealVersionTable(client: PoolClient, table: string): Promise<void> {
  const id = tableIdentifier(table);
  await client.query(`ALTER TABLE ${id} ADD PRIMARY KEY (key, bucket)`);
  // The primary key serves reads of one key; serving's top-N reads every key of a bucket
  // range, which without this index scans the whole version.
  await client.query(`CREATE INDEX ON ${id} (bucket)`);
  await client.query(`ANALYZE ${id} (key, bucket)`);
}

// COPY text format: backslash, tab, newline and carriage return must be escaped. Most values
// hold none; four plain searches rule that out several times faster than a character class.
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const UNESCAPES: Record<string, string> = { '\\': '\\', t: '\t', n: '\n', r: '\r' };
const needsEscape = (s: string): boolean => s.includes('\\') || s.includes('\t') || s.includes('\n') || s.includes('\r');
const copyText = (s: string): string => (needsEscape(s) ? s.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]) : s);
const plainText = (s: string): string => (s.includes('\\') ? s.replace(/\\(.)/gs, (_, c: string) => UNESCAPES[c] ?? c) : s);

/** One row of a batch view table in COPY text format (`key, bucket, state, events`), with its newline. */
export const copyLine = (key: string, bucket: number, state: string, events: number): string =>
  `${copyText(key)}\t${bucket}\t${copyText(state)}\t${events}\n`;

/**
 * `copyLine` for a state as `JSON.stringify` writes it, which holds no raw tab, newline or
 * carriage return (it escapes them inside strings and writes no whitespace between tokens):
 * only its backslashes need escaping, one search instead of four per state. (Were one there
 * anyway, the line would split and COPY would refuse it; nothing would be stored wrongly.)
 */
export const copyJsonLine = (key: string, bucket: number, json: string, events: number): string =>
  `${copyText(key)}\t${bucket}\t${json.includes('\\') ? json.replace(/\\/g, '\\\\') : json}\t${events}\n`;

/** The cell of a line `copyLine` wrote (with or without its newline). */
export function parseCopyLine(line: string): MergedCell {
  const fields = (line.endsWith('\n') ? line.slice(0, -1) : line).split('\t');
  if (fields.length !== 4) throw new RangeError(`not a batch view COPY line: ${JSON.stringify(line.slice(0, 120))}`);
  return { key: plainText(fields[0]), bucket: Number(fields[1]), state: plainText(fields[2]), events: Number(fields[3]) };
}

/** Whole COPY lines, as text or UTF-8 bytes, and what they hold. */
export interface CopyBlock {
  readonly text: string | Uint8Array;
  readonly rows: number;
  readonly events: number;
}

const COPY_BLOCK_CHARS = 1 << 18;

/** Cells as blocks of COPY lines. */
export function* blocksOfCells(cells: Iterable<MergedCell>): Generator<CopyBlock> {
  let text = '';
  let rows = 0;
  let events = 0;
  for (const c of cells) {
    text += copyLine(c.key, c.bucket, c.state, c.events);
    rows++;
    events += c.events;
    if (text.length >= COPY_BLOCK_CHARS) {
      yield { text, rows, events };
      text = '';
      rows = 0;
      events = 0;
    }
  }
  if (rows > 0) yield { text, rows, events };
}

/** Streams cells into a table with COPY; returns the rows and the events they hold. */
export async function copyCells(
  client: PoolClient,
  table: string,
  cells: Iterable<MergedCell>,
  onRows?: (rows: number) => void,
): Promise<{ readonly rows: number; readonly events: number }> {
  return copyBlocksOver([client], table, blocksOfCells(cells), onRows);
}

/**
 * COPYs blocks of lines into a table over several connections at once: PostgreSQL parses each
 * COPY's rows (checking the JSON states above all) in its own backend, so one large view loads on
 * several cores. Each block goes to whichever COPY is ready for more. The table must not be
 * visible to readers yet (the caller makes it so), since the COPYs commit one by one.
 */
export async function copyBlocksOver(
  clients: readonly PoolClient[],
  table: string,
  blocks: Iterable<CopyBlock>,
  onRows?: (rows: number) => void,
): Promise<{ readonly rows: number; readonly events: number }> {
  let rows = 0;
  let events = 0;
  const source = blocks[Symbol.iterator]();
  const sql = `COPY ${tableIdentifier(table)} (key, bucket, state, events) FROM STDIN`;
  const copies = await Promise.allSettled(
    clients.map((client) => {
      const text = new Readable({
        read() {
          try {
            const next = source.next();
            if (next.done) {
              this.push(null);
              return;
            }
            rows += next.value.rows;
            events += next.value.events;
            onRows?.(rows);
            this.push(next.value.text);
          } catch (error) {
            this.destroy(error as Error);
          }
        },
      });
      return pipeline(text, client.query(copyFrom(sql)));
    }),
  );
  // Every COPY has ended (none still runs on a connection the caller is about to release).
  const failed = copies.find((c) => c.status === 'rejected');
  if (failed) throw failed.reason;
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
     SELECT p.key, p.bucket, p.state::json, p.events FROM ${src} p
      WHERE NOT EXISTS (SELECT 1 FROM ${dst} n WHERE n.key = p.key AND n.bucket = p.bucket)`,
  );
  return result.rowCount ?? 0;
}

/** The view of an incremental version: the delta's rows, and the base's rows the delta does not replace. */
export async function createVersionView(client: PoolClient, name: string, base: string, delta: string): Promise<void> {
  const d = tableIdentifier(delta);
  await client.query(
    `CREATE VIEW ${tableIdentifier(name)} AS
       SELECT key, bucket, state::json AS state, events FROM ${d}
       UNION ALL
       SELECT b.key, b.bucket, b.state::json, b.events FROM ${tableIdentifier(base)} b
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
