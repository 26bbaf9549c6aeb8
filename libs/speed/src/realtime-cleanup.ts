import type { AnyView } from '@tandem/transforms';
import type { Pool } from 'pg';

/**
 * Retires realtime rows the batch layer has taken over: rows whose chunk lies wholly below
 * the current cut of their view (`(chunk + 1) * chunkSize <= cut[partition]`), for the
 * view's transform version as the batch pointer names it. Serving never reads them (it
 * reads chunks at or above the cut), so deleting them changes no answer.
 *
 * The cut is `tandem_batch_current.cut`, `{"<partition>": <offset>}`; a partition missing
 * from it is at 0, and a view without a batch version has no cut: nothing is deleted.
 */
const DELETE_BELOW_CUT = `
  DELETE FROM tandem_realtime r
  USING tandem_batch_current c
  WHERE c.view = ANY($1::text[])
    AND r.view = c.view
    AND r.transform_version = c.transform_version
    AND (r.chunk + 1) * $2::bigint <= coalesce((c.cut ->> r.partition::text)::bigint, 0)`;

export class RealtimeCleanup {
  constructor(
    private readonly pool: Pool,
    private readonly views: readonly AnyView[],
    private readonly chunkSize: number,
  ) {}

  /** Deletes the retired rows; returns how many. */
  async run(): Promise<number> {
    const result = await this.pool.query(DELETE_BELOW_CUT, [this.views.map((v) => v.name), this.chunkSize]);
    return result.rowCount ?? 0;
  }
}
