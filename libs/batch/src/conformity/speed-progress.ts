import type { Pool, PoolClient } from 'pg';

/**
 * How far the speed layer has durably consumed a topic: per partition its next offset, as
 * it commits it with its rows (tandem_speed_offsets). The consumer id is the speed layer's
 * group id (SPEED_GROUP_ID).
 */
export async function readSpeedProgress(db: Pool | PoolClient, consumer: string, topic: string): Promise<Map<number, number>> {
  const { rows } = await db.query<{ partition: number; next_offset: string }>(
    `SELECT partition, next_offset FROM tandem_speed_offsets WHERE consumer = $1 AND topic = $2`,
    [consumer, topic],
  );
  return new Map(rows.map((r) => [Number(r.partition), Number(r.next_offset)]));
}

/**
 * Where the speed layer's realtime rows of one transform version begin, per partition
 * (tandem_realtime_starts): every offset from there on is counted into that version's rows.
 */
export async function readRealtimeStarts(db: Pool | PoolClient, view: string, transformVersion: string, topic: string): Promise<Map<number, number>> {
  const { rows } = await db.query<{ partition: number; start_offset: string }>(
    `SELECT partition, start_offset FROM tandem_realtime_starts WHERE view = $1 AND transform_version = $2 AND topic = $3`,
    [view, transformVersion, topic],
  );
  return new Map(rows.map((r) => [Number(r.partition), Number(r.start_offset)]));
}
