import { chunkOf, type Cut } from '@tandem/platform';
import { type AnyView, bucketOf, ViewAccumulator } from '@tandem/transforms';
import type { Pool } from 'pg';

/**
 * Writes batch versions, realtime rows and speed offsets the way the batch and speed layers
 * store them (states encoded with the view's own aggregator), for tests and benchmarks of
 * the serving layer. Not part of the serving layer's API.
 */
export interface LoggedEvent<E = unknown> {
  readonly partition: number;
  readonly offset: number;
  readonly event: E;
}

export interface StoredRow {
  readonly key: string;
  readonly bucket: number;
  readonly state: unknown;
  readonly events: number;
}

export interface RealtimeRow extends StoredRow {
  readonly partition: number;
  readonly chunk: number;
}

/** Batch cells of a view over the events below the cut: what a batch run computes. */
export function batchRowsOf(view: AnyView, events: readonly LoggedEvent[], cut: Cut): StoredRow[] {
  const acc = new ViewAccumulator(view);
  const counts = new Map<string, number>();
  for (const e of events) {
    if (e.offset >= (cut[String(e.partition)] ?? 0)) continue;
    if (acc.add(e.event)) {
      const id = `${view.keyOf(e.event)}\u0000${bucketOfEvent(view, e.event)}`;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return [...acc.cells()].map((c) => ({ key: c.key, bucket: c.bucket, state: view.aggregator.encode(c.state), events: counts.get(`${c.key}\u0000${c.bucket}`)! }));
}

/** Realtime rows of a view over events, one per (key, bucket, partition, chunk): what the speed layer writes. */
export function realtimeRowsOf(view: AnyView, events: readonly LoggedEvent[], chunkSize: number): RealtimeRow[] {
  const groups = new Map<string, { partition: number; chunk: number; acc: ViewAccumulator<unknown, unknown, unknown>; counts: Map<string, number> }>();
  for (const e of events) {
    const chunk = chunkOf(e.offset, chunkSize);
    const gid = `${e.partition}:${chunk}`;
    let g = groups.get(gid);
    if (g === undefined) {
      g = { partition: e.partition, chunk, acc: new ViewAccumulator(view), counts: new Map() };
      groups.set(gid, g);
    }
    if (g.acc.add(e.event)) {
      const id = `${view.keyOf(e.event)}\u0000${bucketOfEvent(view, e.event)}`;
      g.counts.set(id, (g.counts.get(id) ?? 0) + 1);
    }
  }
  return [...groups.values()].flatMap((g) =>
    [...g.acc.cells()].map((c) => ({
      key: c.key,
      bucket: c.bucket,
      partition: g.partition,
      chunk: g.chunk,
      state: view.aggregator.encode(c.state),
      events: g.counts.get(`${c.key}\u0000${c.bucket}`)!,
    })),
  );
}

const bucketOfEvent = (view: AnyView, event: unknown): number => bucketOf(view.stream.eventTime(event as never), view.granularity);

export interface BatchVersionSeed {
  readonly version: number;
  readonly cut: Cut;
  readonly rows: readonly StoredRow[];
  /** Default `batch_<view>_v<version>`. */
  readonly tableName?: string;
  readonly transformVersion?: string;
  readonly topic?: string;
  readonly runId?: string;
}

export class LayerSeeder {
  constructor(private readonly pool: Pool) {}

  /** Creates a batch version's table, fills it and makes it current (one transaction). */
  async batchVersion(view: AnyView, seed: BatchVersionSeed): Promise<string> {
    const table = seed.tableName ?? `batch_${view.name}_v${seed.version}`;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`CREATE TABLE "${table}" (key text NOT NULL, bucket bigint NOT NULL, state json NOT NULL, events bigint NOT NULL, PRIMARY KEY (key, bucket))`);
      await insertRows(client, `"${table}"`, ['key', 'bucket', 'state', 'events'], seed.rows.map((r) => [r.key, r.bucket, JSON.stringify(r.state), r.events]));
      // Indexed as the batch layer seals a version: by key (the primary key) and by bucket.
      await client.query(`CREATE INDEX ON "${table}" ("bucket")`);
      await client.query(
        `INSERT INTO tandem_batch_current (view, transform_version, batch_version, table_name, topic, cut, run_id, flipped_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now())
         ON CONFLICT (view) DO UPDATE SET transform_version = EXCLUDED.transform_version, batch_version = EXCLUDED.batch_version,
           table_name = EXCLUDED.table_name, topic = EXCLUDED.topic, cut = EXCLUDED.cut, run_id = EXCLUDED.run_id, flipped_at = now()`,
        [view.name, seed.transformVersion ?? view.transformVersion, seed.version, table, seed.topic ?? view.stream.topic, JSON.stringify(seed.cut), seed.runId ?? `run-${seed.version}`],
      );
      await client.query('COMMIT');
      return table;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }

  async realtimeRows(view: AnyView, rows: readonly RealtimeRow[], transformVersion = view.transformVersion): Promise<void> {
    await insertRows(
      this.pool,
      'tandem_realtime',
      ['view', 'transform_version', 'key', 'bucket', 'partition', 'chunk', 'state', 'events'],
      rows.map((r) => [view.name, transformVersion, r.key, r.bucket, r.partition, r.chunk, JSON.stringify(r.state), r.events]),
    );
  }

  async speedOffsets(consumer: string, topic: string, offsets: readonly { partition: number; nextOffset: number; lastLogTime: number | null }[]): Promise<void> {
    for (const o of offsets) {
      await this.pool.query(
        `INSERT INTO tandem_speed_offsets (consumer, topic, partition, next_offset, last_log_time) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (consumer, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, last_log_time = EXCLUDED.last_log_time, updated_at = now()`,
        [consumer, topic, o.partition, o.nextOffset, o.lastLogTime],
      );
    }
  }

  /** Empties every serving input (not the batch tables themselves). */
  async clear(): Promise<void> {
    await this.pool.query('DELETE FROM tandem_realtime; DELETE FROM tandem_batch_current; DELETE FROM tandem_speed_offsets');
  }
}

async function insertRows(db: { query: Pool['query'] }, table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
  const perStatement = Math.floor(30_000 / columns.length);
  for (let i = 0; i < rows.length; i += perStatement) {
    const slice = rows.slice(i, i + perStatement);
    const values = slice.map((_, r) => `(${columns.map((__, c) => `$${r * columns.length + c + 1}`).join(', ')})`).join(', ');
    await db.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values}`, slice.flat());
  }
}
