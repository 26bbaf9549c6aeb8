import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { chunkOf, ImpossibleStateError, partitionKey, TandemError } from '@tandem/platform';
import type { CountedState, Json } from '@tandem/transforms';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { accumulatePartition, type CountedView, type DecodedEvent, type PartitionDelta } from './partition-delta';
import { cellRowId, CopyTextBuilder, type EncodedRows, encodeRows, type OpenCell } from './realtime-rows';

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
 *
 * The rows of a work usually arrive encoded already (`EncodedRows`, made while an earlier
 * transaction ran); they are used as they are when the store stands where the work begins.
 */
export interface PartitionWork {
  readonly topic: string;
  readonly partition: number;
  /** The stream's views (counting wrappers), in the binding's order. */
  readonly views: readonly CountedView[];
  /** Valid events of the batch, in offset order (read only to refold; may be a getter that decodes again). */
  readonly events: readonly DecodedEvent[];
  /** Last offset of the batch (valid or not): the partition moves to lastOffset + 1. */
  readonly lastOffset: number;
  /** Log time of the newest record, epoch ms. */
  readonly lastLogTime: number;
  /**
   * Deltas folded from the position the consumer expected; recomputed if the store differs.
   * Read only when `rows` is absent or stale, so it may be a getter that folds again.
   */
  readonly delta: PartitionDelta;
  /** The delta's rows, encoded ahead of the transaction (`encodeRows`); made here from `delta` if absent. */
  readonly rows?: EncodedRows;
  /**
   * The work continues an earlier work of the same batch, submitted before it: if the store
   * is still below `delta.from`, that work did not commit, and this one must not apply.
   */
  readonly continuation?: boolean;
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

/** A stored row merged with a cell of the batch, for the upsert. */
interface MergedRow {
  readonly v: string;
  readonly t: string;
  readonly k: string;
  readonly b: number;
  readonly p: number;
  readonly c: number;
  readonly s: Json;
  readonly e: number;
}

/** The cells this writer knows to exist in a partition's open chunk, as of its last commit. */
interface KnownCells {
  readonly nextOffset: number;
  readonly chunk: number;
  readonly ids: Set<string>;
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

// The whole open chunk of each partition and view, by the primary key's prefix: one index
// range per (view, partition), whatever the planner knows of the table. (A join on every
// cell's full key let it pick the by-bucket index and filter thousands of rows per cell.)
// States come back as text and are parsed only for the cells that merge.
const READ_OPEN_CHUNKS = `
  SELECT r.view, r.partition, r.bucket, r.key, r.state::text AS state, r.events
  FROM tandem_realtime r
  WHERE (r.view, r.transform_version, r.partition, r.chunk) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[]))`;

const UPSERT_MERGED_ROWS = `
  INSERT INTO tandem_realtime (view, transform_version, key, bucket, partition, chunk, state, events)
  SELECT v, t, k, b, p, c, s, e
  FROM json_to_recordset($1::json) AS x(v text, t text, k text, b bigint, p int, c bigint, s jsonb, e bigint)
  ON CONFLICT (view, transform_version, partition, chunk, bucket, key)
  DO UPDATE SET state = EXCLUDED.state, events = EXCLUDED.events`;

const COPY_NEW_ROWS = `COPY tandem_realtime (view, transform_version, key, bucket, partition, chunk, state, events) FROM STDIN`;

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

  /**
   * Applies the batches of several partitions in one transaction; one outcome per work, in
   * order. A partition may appear again only with pieces that continue its batch, in order.
   */
  async write(works: readonly PartitionWork[]): Promise<PartitionOutcome[]> {
    if (works.length === 0) return [];
    const keys = new Set<string>();
    for (const work of works) {
      const key = partitionKey(work);
      if (keys.has(key) && !work.continuation) throw new RangeError('one transaction takes at most one batch per partition (and the pieces that continue it)');
      keys.add(key);
    }
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

    const copyText: Buffer[] = [];
    const extra = new CopyTextBuilder();
    const lookups: { partition: number; cell: OpenCell }[] = [];
    const advances = new Map<string, { t: string; p: number; n: number; l: number }>();
    const outcomes: PartitionOutcome[] = [];
    const known = new Map<string, KnownCells>();
    const starts: { v: string; t: string; topic: string; p: number; s: number }[] = [];
    const startIds: string[] = [];
    // Where each partition stands within this transaction, after the works applied so far.
    const position = new Map(stored);
    const appliedHere = new Set<string>();
    for (const work of works) {
      const key = partitionKey(work);
      const next = position.get(key)!;
      const from = work.rows?.from ?? work.delta.from;
      if (work.continuation && next < from) {
        throw new TandemError(`${key}: the store stands at ${next}, below this batch's start ${from}: an earlier batch of the partition did not commit`, true);
      }
      for (const view of work.views) {
        const id = `${view.name}\u0000${view.transformVersion}\u0000${key}`;
        if (this.startsRecorded.has(id) || startIds.includes(id)) continue;
        starts.push({ v: view.name, t: view.transformVersion, topic: work.topic, p: work.partition, s: next });
        startIds.push(id);
      }
      if (next > work.lastOffset) {
        outcomes.push({ applied: false, nextOffset: next, events: 0, rows: 0 });
        continue;
      }
      const nextOffset = work.lastOffset + 1;
      const lastChunk = chunkOf(work.lastOffset, chunkSize);
      const openChunk = next % chunkSize === 0 ? -1 : chunkOf(next, chunkSize);
      let rows = work.rows !== undefined && work.rows.from === next ? work.rows : undefined;
      if (rows === undefined) {
        // Another member (or a replay) moved the partition since the batch was folded.
        const delta = work.delta.from === next ? work.delta : accumulatePartition(work.views, work.events, next, chunkSize);
        rows = encodeRows(delta, work.partition, lastChunk, openChunk);
      }
      // Rows an earlier piece wrote in this transaction are not in the table yet: a piece that
      // follows one here starts on a chunk boundary (see SpeedConsumer), so it has none to merge.
      if (appliedHere.has(key) && rows.open.length > 0) throw new RangeError(`${key}: a piece that continues another in one transaction must start a fresh chunk`);
      const remembered = appliedHere.has(key) ? known.get(key) : this.known.get(key);
      const existing = remembered && remembered.nextOffset === next && remembered.chunk === openChunk ? remembered.ids : undefined;
      copyText.push(...rows.copyText);
      for (const cell of rows.open) {
        if (existing === undefined || existing.has(cell.id)) lookups.push({ partition: work.partition, cell });
        else extra.row(cell.view, cell.key, cell.bucket, work.partition, cell.chunk, cell.view.aggregator.inner.encodeText(cell.state.state), cell.state.events);
      }
      // The cells of the chunk the next batch starts in (none if it starts on a boundary):
      // complete if the chunk starts in this batch, or if its earlier cells were known.
      const earlier = nextOffset % chunkSize === 0 ? undefined : lastChunk !== openChunk ? [] : existing;
      if (earlier !== undefined) known.set(key, { nextOffset, chunk: lastChunk, ids: new Set([...earlier, ...rows.lastChunkIds]) });
      else known.delete(key);
      const lastLogTime = Math.max(work.lastLogTime, advances.get(key)?.l ?? 0);
      advances.set(key, { t: work.topic, p: work.partition, n: nextOffset, l: lastLogTime });
      position.set(key, nextOffset);
      appliedHere.add(key);
      outcomes.push({ applied: true, nextOffset, events: rows.events, rows: rows.copyRows + rows.open.length });
    }

    const merged = await this.mergeOpenCells(client, lookups, extra);
    copyText.push(...extra.pieces());
    await this.copyNewRows(client, copyText);
    // A merged row deleted meanwhile (the clean-up below a batch cut) is written back; it is
    // below the cut, so no answer reads it, and the next clean-up removes it again.
    if (merged.length > 0) await client.query(UPSERT_MERGED_ROWS, [JSON.stringify(merged)]);
    if (advances.size > 0) await client.query(ADVANCE_OFFSETS, [consumer, JSON.stringify([...advances.values()])]);
    if (starts.length > 0) await client.query(RECORD_STARTS, [JSON.stringify(starts)]);
    return { outcomes, known, starts: startIds };
  }

  /** Locks the offsets rows of the works' partitions (creating missing ones) and returns their next offsets. */
  private async lockOffsets(client: PoolClient, works: readonly PartitionWork[]): Promise<Map<string, number>> {
    const partitions = [...new Map(works.map((w) => [partitionKey(w), w])).values()];
    const params = [this.options.consumer, partitions.map((w) => w.topic), partitions.map((w) => w.partition)];
    let { rows } = await client.query<{ topic: string; partition: number; next_offset: string }>(LOCK_OFFSETS, params);
    if (rows.length < partitions.length) {
      await client.query(INSERT_OFFSETS, params);
      ({ rows } = await client.query<{ topic: string; partition: number; next_offset: string }>(LOCK_OFFSETS, params));
    }
    return new Map(rows.map((r) => [partitionKey(r), Number(r.next_offset)]));
  }

  /** Writes rows that cannot exist yet with COPY; fails loudly if one does. */
  private async copyNewRows(client: PoolClient, copyText: readonly Buffer[]): Promise<void> {
    if (copyText.length === 0) return;
    try {
      await pipeline(Readable.from(copyText), client.query(copyFrom(COPY_NEW_ROWS)));
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
   * Reads the stored rows of the partially written chunks and merges the cells that have one
   * with it; the others are new and join the COPY. Returns the merged rows, to upsert.
   */
  private async mergeOpenCells(client: PoolClient, lookups: readonly { partition: number; cell: OpenCell }[], copy: CopyTextBuilder): Promise<MergedRow[]> {
    if (lookups.length === 0) return [];
    const chunks = new Map<string, { v: string; t: string; p: number; c: number }>();
    const wanted = new Map<string, { partition: number; cell: OpenCell }>();
    for (const lookup of lookups) {
      const { view, chunk, id } = lookup.cell;
      chunks.set(`${view.name}\u0000${lookup.partition}`, { v: view.name, t: view.transformVersion, p: lookup.partition, c: chunk });
      wanted.set(`${lookup.partition}\u0000${id}`, lookup);
    }
    const groups = [...chunks.values()];
    const { rows } = await client.query<{ view: string; partition: number; bucket: string; key: string; state: string; events: string }>(READ_OPEN_CHUNKS, [
      groups.map((g) => g.v),
      groups.map((g) => g.t),
      groups.map((g) => g.p),
      groups.map((g) => g.c),
    ]);
    const merged: MergedRow[] = [];
    for (const row of rows) {
      const id = `${row.partition}\u0000${cellRowId(row.view, Number(row.bucket), row.key)}`;
      const lookup = wanted.get(id);
      if (lookup === undefined) continue; // a cell of the chunk this batch does not touch
      wanted.delete(id);
      const { view, state, key, bucket, chunk } = lookup.cell;
      const inner = view.aggregator.inner;
      const total: CountedState<unknown> = { state: inner.decode(JSON.parse(row.state) as Json), events: Number(row.events) };
      view.aggregator.plusInto(total, state);
      merged.push({ v: view.name, t: view.transformVersion, k: key, b: bucket, p: lookup.partition, c: chunk, s: inner.encode(total.state), e: total.events });
    }
    for (const { partition, cell } of wanted.values()) {
      copy.row(cell.view, cell.key, cell.bucket, partition, cell.chunk, cell.view.aggregator.inner.encodeText(cell.state.state), cell.state.events);
    }
    return merged;
  }
}
