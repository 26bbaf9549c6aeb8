import { type Cut, ImpossibleStateError, TandemError } from '@tandem/platform';
import type { AnyView, Json } from '@tandem/transforms';
import type { Pool, PoolClient } from 'pg';
import { type BatchPointer, type BatchPointerRow, parseBatchPointer, quoteTableName } from '../merge/batch-pointer';
import type { LayerHead, SpeedOffset } from '../merge/provenance';
import { servedTransformVersion } from '../merge/provenance';

/**
 * Reads of the serving layer, all parameterised: the only text spliced into SQL is a batch
 * table name, and only after parseBatchPointer checked it is an identifier.
 *
 * A query reads the batch pointer, the speed offsets and the rows in one REPEATABLE READ,
 * READ ONLY transaction (DESIGN.md section 4): a batch flip or a speed commit that lands
 * mid-query is either wholly visible or not at all, so no offset is counted twice or missed.
 */
export interface StoredCell {
  readonly key: string;
  /** Bucket start, epoch ms. */
  readonly bucket: number;
  readonly state: Json;
  readonly events: number;
}

export interface RealtimeCell extends StoredCell {
  readonly partition: number;
  readonly chunk: number;
}

export interface ServingStoreOptions {
  readonly pool: Pool;
  /** Consumer group of the speed layer (its rows in tandem_speed_offsets). */
  readonly speedConsumer: string;
  /** Offsets per chunk, as agreed by the deployment. */
  readonly chunkSize: number;
  /** Upper bound of one query's time in PostgreSQL and of waiting for a connection. */
  readonly statementTimeoutMs: number;
  /** Prefix of every topic name in the deployment (TANDEM_TOPIC_PREFIX). */
  readonly topicPrefix: string;
}

const HEAD_SQL = `
SELECT
  (SELECT row_to_json(p) FROM (
     SELECT transform_version, batch_version, table_name, topic, cut, run_id, flipped_at
     FROM tandem_batch_current WHERE view = $1) p) AS pointer,
  (SELECT coalesce(json_agg(json_build_object(
       'topic', topic, 'partition', partition, 'nextOffset', next_offset, 'lastLogTime', last_log_time)
     ORDER BY partition), '[]'::json)
   FROM tandem_speed_offsets
   WHERE consumer = $2
     AND topic = coalesce((SELECT topic FROM tandem_batch_current WHERE view = $1), $3)) AS offsets`;

const HEADS_SQL = `
SELECT
  (SELECT coalesce(json_agg(row_to_json(p)), '[]'::json) FROM (
     SELECT view, transform_version, batch_version, table_name, topic, cut, run_id, flipped_at
     FROM tandem_batch_current) p) AS pointers,
  (SELECT coalesce(json_agg(json_build_object(
       'topic', topic, 'partition', partition, 'nextOffset', next_offset, 'lastLogTime', last_log_time)
     ORDER BY topic, partition), '[]'::json)
   FROM tandem_speed_offsets WHERE consumer = $1) AS offsets`;

// Realtime rows at or above the cut: a chunk is either wholly above it or wholly below
// (cuts are chunk boundaries), and partitions missing from the cut are at 0.
const ABOVE_CUT = `chunk * $CHUNK::bigint >= coalesce(($CUT::jsonb ->> partition::text)::bigint, 0)`;

const REALTIME_OF_KEY_SQL = `
SELECT bucket, partition, chunk, state, events FROM tandem_realtime
WHERE view = $1 AND transform_version = $2 AND key = $3 AND bucket >= $4 AND bucket < $5
  AND ${ABOVE_CUT.replace('$CHUNK', '$6').replace('$CUT', '$7')}`;

const REALTIME_OF_RANGE_SQL = `
SELECT key, bucket, partition, chunk, state -> $6::text AS state, events FROM tandem_realtime
WHERE view = $1 AND transform_version = $2 AND bucket >= $3 AND bucket < $4
  AND ${ABOVE_CUT.replace('$CHUNK', '$5').replace('$CUT', '$7')}`;

export class ServingStore {
  constructor(readonly options: ServingStoreOptions) {}

  /** Runs `work` in one REPEATABLE READ, READ ONLY transaction. */
  async snapshot<T>(work: (reader: SnapshotReader) => Promise<T>): Promise<T> {
    const client = await this.connect();
    let broken: Error | undefined;
    try {
      await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = ${Math.trunc(this.options.statementTimeoutMs)}`);
      const result = await work(new SnapshotReader(client, this.options, this));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      const failure = asStoreError(error);
      // A connection that failed or timed out is dropped from the pool rather than reused
      // (an error of the work itself, already a TandemError, says nothing of the connection).
      if (failure !== error && failure instanceof TandemError && failure.retriable) broken = failure;
      await client.query('ROLLBACK').catch(() => undefined);
      throw failure;
    } finally {
      client.release(broken);
    }
  }

  /** Heads of several views in one statement (one snapshot). */
  async heads(views: readonly AnyView[]): Promise<Map<string, LayerHead>> {
    const client = await this.connect();
    try {
      const { rows } = await client.query<{ pointers: (BatchPointerRow & { view: string })[]; offsets: SpeedOffsetJson[] }>(HEADS_SQL, [this.options.speedConsumer]);
      const pointers = new Map(rows[0].pointers.map((p) => [p.view, p]));
      const offsets = rows[0].offsets.map(speedOffsetOf);
      const heads = new Map<string, LayerHead>();
      for (const view of views) {
        const row = pointers.get(view.name);
        const pointer = row === undefined ? null : parseBatchPointer(view.name, row, this.options.chunkSize);
        const topic = pointer?.topic ?? this.topicOf(view);
        heads.set(view.name, {
          view: view.name,
          codeTransformVersion: view.transformVersion,
          codeTopic: this.topicOf(view),
          pointer,
          speedOffsets: offsets.filter((o) => o.topic === topic),
          speedConsumer: this.options.speedConsumer,
        });
      }
      return heads;
    } catch (error) {
      throw asStoreError(error);
    } finally {
      client.release();
    }
  }

  /** The view's topic in this deployment. */
  topicOf(view: AnyView): string {
    return `${this.options.topicPrefix}${view.stream.topic}`;
  }

  /** Whether PostgreSQL answers (health). */
  async ping(): Promise<void> {
    const client = await this.connect();
    try {
      await client.query('SELECT 1');
    } finally {
      client.release();
    }
  }

  private async connect(): Promise<PoolClient> {
    const { pool, statementTimeoutMs } = this.options;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const connecting = pool.connect();
    try {
      return await Promise.race([
        connecting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            timedOut = true;
            reject(new TandemError(`PostgreSQL: no connection within ${statementTimeoutMs} ms`, true));
          }, statementTimeoutMs);
        }),
      ]);
    } catch (error) {
      // A connection that arrives after we gave up goes straight back to the pool.
      if (timedOut) connecting.then((c) => c.release(), () => undefined);
      throw asStoreError(error);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Reads inside one snapshot. */
export class SnapshotReader {
  constructor(
    private readonly client: PoolClient,
    private readonly options: ServingStoreOptions,
    private readonly store: ServingStore,
  ) {}

  /** The batch pointer of a view and the speed layer's progress on the topic it serves. */
  async head(view: AnyView): Promise<LayerHead> {
    const topic = this.store.topicOf(view);
    const { rows } = await this.client.query<{ pointer: BatchPointerRow | null; offsets: SpeedOffsetJson[] }>(HEAD_SQL, [
      view.name,
      this.options.speedConsumer,
      topic,
    ]);
    const pointer = rows[0].pointer === null ? null : parseBatchPointer(view.name, rows[0].pointer, this.options.chunkSize);
    if (pointer !== null && pointer.transformVersion === view.transformVersion && pointer.topic !== topic) {
      throw new ImpossibleStateError(
        `view "${view.name}": the current batch of transform version ${pointer.transformVersion} was computed from topic ` +
          `${pointer.topic}, but that transform version reads ${topic} in this deployment`,
      );
    }
    return {
      view: view.name,
      codeTransformVersion: view.transformVersion,
      codeTopic: topic,
      pointer,
      speedOffsets: rows[0].offsets.map(speedOffsetOf),
      speedConsumer: this.options.speedConsumer,
    };
  }

  /**
   * Realtime rows of one key with bucket in [from, to), at or above the cut, or at or above
   * `above` per partition (never below the cut: the caller holds the rows in between).
   */
  async realtimeOfKey(head: LayerHead, key: string, from: number, to: number, above: Cut = head.pointer?.cut ?? {}): Promise<RealtimeCell[]> {
    const { rows } = await this.client.query<RealtimeRow>(REALTIME_OF_KEY_SQL, [
      head.view,
      servedTransformVersion(head),
      key,
      from,
      to,
      this.options.chunkSize,
      JSON.stringify(above),
    ]);
    return rows.map((r) => realtimeCellOf(key, r));
  }

  /** Realtime rows of every key with bucket in [from, to), at or above the cut (or `above`, as for realtimeOfKey); `state` is one aggregate's. */
  async realtimeOfRange(head: LayerHead, aggregate: string, from: number, to: number, above: Cut = head.pointer?.cut ?? {}): Promise<RealtimeCell[]> {
    const { rows } = await this.client.query<RealtimeRow & { key: string }>(REALTIME_OF_RANGE_SQL, [
      head.view,
      servedTransformVersion(head),
      from,
      to,
      this.options.chunkSize,
      aggregate,
      JSON.stringify(above),
    ]);
    return rows.map((r) => realtimeCellOf(r.key, r));
  }

  /** Batch rows of one key with bucket in [from, to). */
  async batchOfKey(pointer: BatchPointer, key: string, from: number, to: number): Promise<StoredCell[]> {
    const sql = `SELECT bucket, state, events FROM ${quoteTableName(pointer.tableName)} WHERE key = $1 AND bucket >= $2 AND bucket < $3`;
    const { rows } = await this.batchQuery<BatchRow>(pointer, sql, [key, from, to]);
    return rows.map((r) => ({ key, bucket: Number(r.bucket), state: r.state, events: Number(r.events) }));
  }

  /** Batch rows of every key with bucket in [from, to); `state` is one aggregate's. */
  async batchOfRange(pointer: BatchPointer, aggregate: string, from: number, to: number): Promise<StoredCell[]> {
    const sql = `SELECT key, bucket, state -> $1::text AS state, events FROM ${quoteTableName(pointer.tableName)} WHERE bucket >= $2 AND bucket < $3`;
    const { rows } = await this.batchQuery<BatchRow & { key: string }>(pointer, sql, [aggregate, from, to]);
    return rows.map((r) => ({ key: r.key, bucket: Number(r.bucket), state: r.state, events: Number(r.events) }));
  }

  private async batchQuery<R extends object>(pointer: BatchPointer, sql: string, params: unknown[]): Promise<{ rows: R[] }> {
    try {
      return await this.client.query<R>(sql, params);
    } catch (error) {
      if ((error as { code?: string }).code === '42P01') {
        throw new ImpossibleStateError(
          `view "${pointer.view}": the current batch version ${pointer.batchVersion} (run ${pointer.runId}) names table ` +
            `${pointer.tableName}, which does not exist`,
        );
      }
      throw error;
    }
  }
}

interface SpeedOffsetJson {
  readonly topic: string;
  readonly partition: number;
  readonly nextOffset: number | string;
  readonly lastLogTime: number | string | null;
}

interface BatchRow {
  readonly bucket: string;
  readonly state: Json;
  readonly events: string;
}

interface RealtimeRow extends BatchRow {
  readonly partition: number;
  readonly chunk: string;
}

function speedOffsetOf(o: SpeedOffsetJson): SpeedOffset {
  return { topic: o.topic, partition: o.partition, nextOffset: Number(o.nextOffset), lastLogTime: o.lastLogTime === null ? null : Number(o.lastLogTime) };
}

function realtimeCellOf(key: string, r: RealtimeRow): RealtimeCell {
  return { key, bucket: Number(r.bucket), partition: r.partition, chunk: Number(r.chunk), state: r.state, events: Number(r.events) };
}

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P02', '57P03', '53300', '08000', '08003', '08006', '08001', '08004', '57014']);

/** Our errors pass through; a database that is down or overloaded is retriable (503). */
function asStoreError(error: unknown): Error {
  if (error instanceof TandemError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const retriable = (typeof code === 'string' && TRANSIENT_CODES.has(code)) || /Connection terminated|timeout/i.test(message);
  return new TandemError(`PostgreSQL: ${message}`, retriable, { cause: error });
}
