import type { PoolClient } from 'pg';
import type { Json } from '@tandem/transforms';
import type { PartitionSpan } from '../recompute/lake-scan';
import type { RealtimeCell } from './conformity-check';

/**
 * The speed layer's rows of one view and transform version for some chunks of a partition,
 * grouped by chunk. Read inside the flip transaction, just before those rows are deleted.
 */
export async function readRealtimeChunks(
  client: PoolClient,
  view: string,
  transformVersion: string,
  span: PartitionSpan,
): Promise<Map<number, RealtimeCell[]>> {
  const [partition, fromChunk, toChunk] = span;
  const { rows } = await client.query<{ chunk: string; key: string; bucket: string; state: Json }>(
    `SELECT chunk, key, bucket, state FROM tandem_realtime
      WHERE view = $1 AND transform_version = $2 AND partition = $3 AND chunk >= $4 AND chunk < $5`,
    [view, transformVersion, partition, fromChunk, toChunk],
  );
  const out = new Map<number, RealtimeCell[]>();
  for (const r of rows) {
    const chunk = Number(r.chunk);
    let list = out.get(chunk);
    if (!list) out.set(chunk, (list = []));
    list.push({ key: r.key, bucket: Number(r.bucket), state: r.state });
  }
  return out;
}
