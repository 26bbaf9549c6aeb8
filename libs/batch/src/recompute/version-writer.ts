import type { Pool, PoolClient } from 'pg';
import { CellMerger, type MergedCell } from './cell-merger';
import { copyBlocksOver, copyCells, copyUnchangedRows, createVersionView, readCellsOf, sealVersionTable } from './batch-view-table';
import type { VersionLayout, VersionRecord, VersionRelations } from './batch-versions';
import type { ViewCells } from './scan-cells';

/**
 * Fills a new version.
 *
 * - Full: every cell of the scan, by COPY, into the version's table.
 * - Incremental, as a delta (the usual case): `batch(g-1) ⊕ new cells` written as the cells
 *   that changed since the base — the previous delta's rows carried over inside PostgreSQL,
 *   the touched cells merged with their previous states by `plus` and copied in — and a view
 *   over base and delta. Its cost follows what changed, not the size of the view.
 * - Incremental, compacted (when the delta has grown past a share of its base): the same
 *   merge, written as a table of its own; the untouched rows are copied from the previous
 *   version inside PostgreSQL. Later deltas start from it.
 */
export interface WrittenVersion {
  readonly layout: VersionLayout;
  readonly rows: number;
  /** Events folded into the version's cells (all of them, not only this run's). */
  readonly events: number;
  /** Cells computed from the lake in this run. */
  readonly cellsFromLake: number;
  /** Previous-version cells merged with new ones. */
  readonly cellsMerged: number;
  /** Rows carried over unchanged inside PostgreSQL (incremental). */
  readonly rowsCarried: number;
  /** Rows of the delta table (delta layout). */
  readonly deltaRows: number;
}

/**
 * A full version is loaded over one COPY connection per this many bytes of lines, up to
 * `MAX_COPY_CONNECTIONS` (when the pool has them to spare). PostgreSQL's work follows the
 * bytes (checking the JSON states above all), so views written at the same time finish
 * their COPYs at about the same time and build their indexes side by side, rather than one
 * large view's load and indexes running alone at the end.
 */
const BYTES_PER_COPY_CONNECTION = 32 << 20;
const MAX_COPY_CONNECTIONS = 4;

export async function writeFullVersion(pool: Pool, table: string, cells: ViewCells, onRows?: (rows: number) => void): Promise<WrittenVersion> {
  const client = await pool.connect();
  const extra: PoolClient[] = [];
  try {
    const size = cells.cells.size;
    const wanted = Math.min(MAX_COPY_CONNECTIONS, Math.ceil(cells.cells.textBytes / BYTES_PER_COPY_CONNECTION)) - 1;
    // Only connections the pool has spare: waiting for one while holding another could
    // deadlock lanes that write at the same time.
    for (let i = 0; i < wanted && spareConnections(pool) > 0; i++) extra.push(await pool.connect());
    const copied = await copyBlocksOver([client, ...extra], table, cells.cells.copyBlocks(), onRows);
    for (const c of extra.splice(0)) c.release();
    await sealVersionTable(client, table);
    return { layout: 'table', rows: copied.rows, events: copied.events, cellsFromLake: size, cellsMerged: 0, rowsCarried: 0, deltaRows: 0 };
  } finally {
    for (const c of extra) c.release();
    client.release();
  }
}

function spareConnections(pool: Pool): number {
  const max = pool.options.max ?? 10;
  return max - pool.totalCount + pool.idleCount - pool.waitingCount;
}

/** The previous version's states of the cells a run touches: its delta's first, then its base's. */
async function previousStates(client: PoolClient, previous: VersionRecord, fresh: readonly MergedCell[]): Promise<MergedCell[]> {
  if (previous.delta === undefined) return readCellsOf(client, previous.base, fresh);
  const fromDelta = await readCellsOf(client, previous.delta, fresh);
  const found = new Set(fromDelta.map((c) => `${c.bucket}\u0000${c.key}`));
  const fromBase = await readCellsOf(client, previous.base, fresh.filter((c) => !found.has(`${c.bucket}\u0000${c.key}`)));
  return [...fromDelta, ...fromBase];
}

async function mergeWithPrevious(client: PoolClient, previous: VersionRecord, cells: ViewCells) {
  const fresh = [...cells.cells.cells()];
  const before = await previousStates(client, previous, fresh);
  const merged = new CellMerger<unknown>(cells.view.aggregator);
  for (const c of before) merged.addEncoded(c.key, c.bucket, c.state, c.events);
  let newEvents = 0;
  for (const c of fresh) {
    merged.addEncoded(c.key, c.bucket, c.state, c.events);
    newEvents += c.events;
  }
  return { fresh, before, merged, newEvents, newCells: merged.size - before.length };
}

export async function writeDeltaVersion(
  pool: Pool,
  relations: VersionRelations,
  previous: VersionRecord,
  cells: ViewCells,
  onRows?: (rows: number) => void,
): Promise<WrittenVersion> {
  const delta = relations.delta;
  if (delta === undefined) throw new Error(`version ${relations.table} has no delta table`);
  const client = await pool.connect();
  try {
    const { fresh, before, merged, newEvents, newCells } = await mergeWithPrevious(client, previous, cells);
    const copied = await copyCells(client, delta, merged.cells(), onRows);
    const carried = previous.delta === undefined ? 0 : await copyUnchangedRows(client, previous.delta, delta);
    await sealVersionTable(client, delta);
    await createVersionView(client, relations.table, relations.base, delta);
    return {
      layout: 'delta',
      rows: previous.rows + newCells,
      events: previous.events + newEvents,
      cellsFromLake: fresh.length,
      cellsMerged: before.length,
      rowsCarried: carried,
      deltaRows: copied.rows + carried,
    };
  } finally {
    client.release();
  }
}

export async function writeCompactedVersion(
  pool: Pool,
  table: string,
  previous: VersionRecord,
  cells: ViewCells,
  onRows?: (rows: number) => void,
): Promise<WrittenVersion> {
  const client = await pool.connect();
  try {
    const { fresh, before, merged, newEvents } = await mergeWithPrevious(client, previous, cells);
    const copied = await copyCells(client, table, merged.cells(), onRows);
    const carried = await copyUnchangedRows(client, previous.table, table);
    await sealVersionTable(client, table);
    return {
      layout: 'table',
      rows: copied.rows + carried,
      events: previous.events + newEvents,
      cellsFromLake: fresh.length,
      cellsMerged: before.length,
      rowsCarried: carried,
      deltaRows: 0,
    };
  } finally {
    client.release();
  }
}
