import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { chunkOf, ImpossibleStateError, partitionKey } from '@tandem/platform';
import type { Json } from '@tandem/transforms';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { CountedState } from '@tandem/transforms';
import { accumulatePartition, type CountedView, type DecodedEvent, type PartitionDelta } from './partition-delta';

/**
 * Writes partition batches into the realtime rows and the consumed offsets in one
 * PostgreSQL transaction (DESIGN.md section 4): a crash, a rebalance or a zombie member can
 * neither apply a record twice nor skip one.
 *
 * The guard is on the store's side: each partition's offsets row is locked (`FOR UPDATE`,
 * in a fixed order, so members never deadlock on each other) and records below its
 * `next_offset` are ignored. Whoever holds the lock owns the partition for that moment.
 *
 * Merging: a partition's rows of chunk c can only exist if an earlier transaction consumed
 * an offset in c, i.e. if `next_offset > c * chunkSize`. The records of a batch start at
 * `next_offset`, so only the chunk holding `next_offset` can have rows already (and only
 * when `next_offset` is not a chunk boundary): those rows are read, merged in Node with the
 * view's own `plusInto` (sketches cannot merge in SQL), and written back in one multi-row
 * upsert. Every other row is new and goes in with COPY, the cheapest way into PostgreSQL; a
 * row that exists after all would break that invariant, and the COPY's unique violation
 * aborts the transaction instead of silently overwriting it.
 *
 * Which rows of that open chunk exist is remembered from this writer's own last commit of
 * the partition, so only those are read back. The memory is trusted only while the stored
 * `next_offset` (read under the lock) is exactly where that commit left it: no one else can
 * have written the partition's rows since. Otherwise every cell of the open chunk is looked
 * up.
 */
export interface PartitionWork {
  readonly topic: string;
  readonly partition: number;
  /** The stream's views (counting wrappers), in the binding's order. */
  readonly views: readonly CountedView[];
  /** Valid events of the batch, in offset order. */
  readonly events: readonly DecodedEvent[];
  /** Last offset of the batch (valid or not): the partition moves to lastOffset + 1. */
  readonly lastOffset: number;
  /** Log time of the newest record, epoch ms. */
  readonly lastLogTime: number;
  /** Deltas folded from the position the consumer expected; recomputed if the store differs. */
  readonly delta: PartitionDelta;
}

export interface PartitionOutcome {
  /** False when the store was already past the whole batch (a replay or a zombie's batch). */
  readonly applied: boolean;
  /** Next offset of the partition in the store after the transaction. */
  readonly nextOffset: number;
  /** Events applied by this transaction. */
  readonly events: number;
  /** Realtime rows inserted or updated. */
  readonly rows: number;
}

export interface RealtimeViewWriterOptions {
  readonly pool: Pool;
  /** Owner of the stored offsets: the consumer group id. */
  readonly consumer: string;
  readonly chunkSize: number;
  /** Test aid: wait this long before COMMIT, so a crash can be made to land mid-transaction. */
  readonly commitDelayMs?: number;
}

interface RowOut {
  v: string;
  t: string;
  k: string;
  b: number;
  p: number;
  c: number;
  s: Json;
  e: number;
}

/** The cells this writer knows to exist in a partition's open chunk, as of its last commit. */
interface KnownCells {
  readonly nextOffset: number;
  readonly chunk: number;
  readonly ids: Set<string>;
}

const rowId = (row: RowOut): string => `${row.v}\u0000${row.b}\u0000${row.k}`;

/** COPY's text format: tab-separated columns, backslash escapes (PostgreSQL docs, COPY, "Text Format"). */
function* copyText(rows: readonly RowOut[]): Generator<string> {
  for (let from = 0; from < rows.length; from += COPY_LINES_PER_CHUNK) {
    let text = '';
    const to = Math.min(rows.length, from + COPY_LINES_PER_CHUNK);
    for (let i = from; i < to; i++) {
      const r = rows[i];
      text += `${copyField(r.v)}\t${copyField(r.t)}\t${copyField(r.k)}\t${r.b}\t${r.p}\t${r.c}\t${copyField(JSON.stringify(r.s))}\t${r.e}\n`;
    }
    yield text;
  }
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const copyField = (text: string): string =>
  NEEDS_ESCAPE.test(text) ? text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : text;

interface OpenCell {
  readonly row: RowOut;
  readonly view: CountedView;
  readonly state: CountedState<unknown>;
}

const LOCK_OFFSETS = `
  SELECT topic, partition, next_offset FROM tandem_speed_offsets
  WHERE consumer = $1 AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))
  ORDER BY topic, partition
  FOR UPDATE`;

const INSERT_OFFSETS = `
  INSERT INTO tandem_speed_offsets (consumer, topic, partition, next_offset)
  SELECT $1, t, p, 0 FROM unnest($2::text[], $3::int[]) AS x(t, p)
  ON CONFLICT (consumer, topic, partition) DO NOTHING`;

const READ_OPEN_CELLS = `
  SELECT x.i, r.state, r.events
  FROM json_to_recordset($1::json) AS x(i int, v text, t text, k text, b bigint, p int, c bigint)
  JOIN tandem_realtime r
    ON r.view = x.v AND r.transform_version = x.t AND r.partition = x.p AND r.chunk = x.c AND r.bucket = x.b AND r.key = x.k`;

const UPSERT_MERGED_ROWS = `
  INSERT INTO tandem_realtime (view, transform_version, key, bucket, partition, chunk, state, events)
  SELECT v, t, k, b, p, c, s, e
  FROM json_to_recordset($1::json) AS x(v text, t text, k text, b bigint, p int, c bigint, s jsonb, e bigint)
  ON CONFLICT (view, transform_version, partition, chunk, bucket, key)
  DO UPDATE SET state = EXCLUDED.state, events = EXCLUDED.events`;

const COPY_NEW_ROWS = `COPY tandem_realtime (view, transform_version, key, bucket, partition, chunk, state, events) FROM STDIN`;

/** Lines of COPY's text format per chunk of the stream. */
const COPY_LINES_PER_CHUNK = 2_000;

const ADVANCE_OFFSETS = `
  UPDATE tandem_speed_offsets AS o
  SET next_offset = x.n, last_log_time = GREATEST(o.last_log_time, x.l), updated_at = now()
  FROM json_to_recordset($2::json) AS x(t text, p int, n bigint, l bigint)
  WHERE o.consumer = $1 AND o.topic = x.t AND o.partition = x.p`;

// Where a transform version's realtime rows begin on a partition: the first transaction that
// carries the view records the stored position (DESIGN.md section 6, read by the batch layer).
const RECORD_STARTS = `
  INSERT INTO tandem_realtime_starts (view, transform_version, topic, partition, start_offset)
  SELECT x.v, x.t, x.topic, x.p, x.s FROM json_to_recordset($1::json) AS x(v text, t text, topic text, p int, s bigint)
  ON CONFLICT DO NOTHING`;

export class RealtimeViewWriter {
  private readonly known = new Map<string, KnownCells>();
  /** Starts recorded by committed transactions of this writer (so each is written once). */
  private readonly startsRecorded = new Set<string>();

  constructor(private readonly options: RealtimeViewWriterOptions) {
    if (!Number.isInteger(options.chunkSize) || options.chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer, got ${options.chunkSize}`);
  }

  /** Applies the batches of several partitions in one transaction; one outcome per work, in order. */
  async write(works: readonly PartitionWork[]): Promise<PartitionOutcome[]> {
    if (works.length === 0) return [];
    const keys = new Set(works.map(partitionKey));
    if (keys.size !== works.length) throw new RangeError('one transaction takes at most one batch per partition');
    const client = await this.options.pool.connect();
    try {
      await client.query('BEGIN');
      const { outcomes, known, starts } = await this.apply(client, works);
      if (this.options.commitDelayMs) await new Promise((resolve) => setTimeout(resolve, this.options.commitDelayMs));
      // Forgotten first: if COMMIT fails, whether it happened is unknown.
      for (const work of works) this.known.delete(partitionKey(work));
      await client.query('COMMIT');
      for (const [key, cells] of known) this.known.set(key, cells);
      for (const start of starts) this.startsRecorded.add(start);
      return outcomes;
    } catch (error) {
      for (const work of works) this.known.delete(partitionKey(work));
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Stored next offsets of partitions (0 for a partition never written). */
  async storedOffsets(partitions: readonly { topic: string; partition: number }[]): Promise<Map<string, number>> {
    const { rows } = await this.options.pool.query<{ topic: string; partition: number; next_offset: string }>(
      `SELECT topic, partition, next_offset FROM tandem_speed_offsets
       WHERE consumer = $1 AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))`,
      [this.options.consumer, partitions.map((p) => p.topic), partitions.map((p) => p.partition)],
    );
    const offsets = new Map<string, number>(partitions.map((p) => [partitionKey(p), 0]));
    for (const row of rows) offsets.set(partitionKey(row), Number(row.next_offset));
    return offsets;
  }

  private async apply(client: PoolClient, works: readonly PartitionWork[]): Promise<{ outcomes: PartitionOutcome[]; known: Map<string, KnownCells>; starts: string[] }> {
    const { chunkSize, consumer } = this.options;
    const stored = await this.lockOffsets(client, works);

    const rows: RowOut[] = [];
    const open: OpenCell[] = [];
    const advances: { t: string; p: number; n: number; l: number }[] = [];
    const outcomes: PartitionOutcome[] = [];
    const known = new Map<string, KnownCells>();
    const starts: { v: string; t: string; topic: string; p: number; s: number }[] = [];
    const startIds: string[] = [];
    for (const work of works) {
      const key = partitionKey(work);
      const next = stored.get(key)!;
      for (const view of work.views) {
        const id = `${view.name}\u0000${view.transformVersion}\u0000${key}`;
        if (this.startsRecorded.has(id)) continue;
        starts.push({ v: view.name, t: view.transformVersion, topic: work.topic, p: work.partition, s: next });
        startIds.push(id);
      }
      if (next > work.lastOffset) {
        outcomes.push({ applied: false, nextOffset: next, events: 0, rows: 0 });
        continue;
      }
      // Another member (or a replay) moved the partition since the batch was folded.
      const delta = work.delta.from === next ? work.delta : accumulatePartition(work.views, work.events, next, chunkSize);
      const openChunk = next % chunkSize === 0 ? -1 : chunkOf(next, chunkSize);
      const remembered = this.known.get(key);
      const existing = remembered && remembered.nextOffset === next && remembered.chunk === openChunk ? remembered.ids : undefined;
      const nextOffset = work.lastOffset + 1;
      const lastChunk = chunkOf(work.lastOffset, chunkSize);
      // The cells of the chunk the next batch starts in (none if it starts on a boundary):
      // complete if the chunk starts in this batch, or if its earlier cells were known.
      const stillOpen = nextOffset % chunkSize === 0 ? undefined : lastChunk !== openChunk ? new Set<string>() : existing;
      const before = rows.length;
      for (const { chunk, views } of delta.chunks) {
        for (const accumulator of views) {
          const view = accumulator.view as CountedView;
          for (const cell of accumulator.cells()) {
            const row: RowOut = { v: view.name, t: view.transformVersion, k: cell.key, b: cell.bucket, p: work.partition, c: chunk, s: null, e: cell.state.events };
            const id = chunk === openChunk || chunk === lastChunk ? rowId(row) : '';
            if (chunk === openChunk && (existing === undefined || existing.has(id))) open.push({ row, view, state: cell.state });
            else row.s = view.aggregator.inner.encode(cell.state.state);
            if (chunk === lastChunk) stillOpen?.add(id);
            rows.push(row);
          }
        }
      }
      if (stillOpen) known.set(key, { nextOffset, chunk: lastChunk, ids: stillOpen });
      advances.push({ t: work.topic, p: work.partition, n: nextOffset, l: work.lastLogTime });
      outcomes.push({ applied: true, nextOffset, events: delta.events, rows: rows.length - before });
    }

    const merged = await this.mergeOpenCells(client, open);
    await this.copyNewRows(client, merged.size === 0 ? rows : rows.filter((row) => !merged.has(row)));
    // A merged row deleted meanwhile (the clean-up below a batch cut) is written back; it is
    // below the cut, so no answer reads it, and the next clean-up removes it again.
    if (merged.size > 0) await client.query(UPSERT_MERGED_ROWS, [JSON.stringify([...merged])]);
    if (advances.length > 0) await client.query(ADVANCE_OFFSETS, [consumer, JSON.stringify(advances)]);
    if (starts.length > 0) await client.query(RECORD_STARTS, [JSON.stringify(starts)]);
    return { outcomes, known, starts: startIds };
  }

  /** Locks the offsets rows of the works' partitions (creating missing ones) and returns their next offsets. */
  private async lockOffsets(client: PoolClient, works: readonly PartitionWork[]): Promise<Map<string, number>> {
    const params = [this.options.consumer, works.map((w) => w.topic), works.map((w) => w.partition)];
    let { rows } = await client.query<{ topic: string; partition: number; next_offset: string }>(LOCK_OFFSETS, params);
    if (rows.length < works.length) {
      await client.query(INSERT_OFFSETS, params);
      ({ rows } = await client.query<{ topic: string; partition: number; next_offset: string }>(LOCK_OFFSETS, params));
    }
    return new Map(rows.map((r) => [partitionKey(r), Number(r.next_offset)]));
  }

  /** Writes rows that cannot exist yet with COPY; fails loudly if one does. */
  private async copyNewRows(client: PoolClient, rows: readonly RowOut[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await pipeline(Readable.from(copyText(rows)), client.query(copyFrom(COPY_NEW_ROWS)));
    } catch (error) {
      if ((error as { code?: unknown }).code === '23505') {
        throw new ImpossibleStateError(
          `realtime rows: a row this writer had to create exists already (${(error as Error).message}); ` +
            `another writer (a second speed deployment with another group id?) writes the same rows`,
          false,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /**
   * Reads the stored states of cells in a partially written chunk and merges them into their
   * rows; returns the rows that existed (now holding the merged state).
   */
  private async mergeOpenCells(client: PoolClient, open: readonly OpenCell[]): Promise<Set<RowOut>> {
    const merged = new Set<RowOut>();
    if (open.length === 0) return merged;
    const keys = open.map(({ row }, i) => ({ i, v: row.v, t: row.t, k: row.k, b: row.b, p: row.p, c: row.c }));
    const { rows } = await client.query<{ i: number; state: Json; events: string }>(READ_OPEN_CELLS, [JSON.stringify(keys)]);
    const stored = new Map(rows.map((r) => [r.i, r]));
    for (let i = 0; i < open.length; i++) {
      const { row, view, state } = open[i];
      const before = stored.get(i);
      const inner = view.aggregator.inner;
      if (before === undefined) {
        row.s = inner.encode(state.state);
        continue;
      }
      const total: CountedState<unknown> = { state: inner.decode(before.state), events: Number(before.events) };
      view.aggregator.plusInto(total, state);
      row.s = inner.encode(total.state);
      row.e = total.events;
      merged.add(row);
    }
    return merged;
  }
}
