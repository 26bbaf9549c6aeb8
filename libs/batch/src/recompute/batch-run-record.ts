import type { Pool, PoolClient } from 'pg';

/**
 * tandem_batch_runs: one row per run, `running` from its start, `completed` in the flip
 * transaction, `failed` when it stops with an error. A `running` row found by a run that holds
 * the batch lock belongs to a process that died: it is closed as failed.
 */
export type RunMode = 'full' | 'incremental';

export async function nextGeneration(db: Pool | PoolClient): Promise<number> {
  const { rows } = await db.query<{ g: string | null }>(`SELECT max(generation) AS g FROM tandem_batch_runs`);
  return rows[0].g === null ? 1 : Number(rows[0].g) + 1;
}

export async function recordRunStart(db: Pool | PoolClient, runId: string, generation: number, mode: RunMode): Promise<void> {
  await db.query(`INSERT INTO tandem_batch_runs (run_id, generation, mode, status) VALUES ($1, $2, $3, 'running')`, [runId, generation, mode]);
}

export async function recordRunCompleted(
  client: PoolClient,
  runId: string,
  details: { readonly cut: unknown; readonly lineage: unknown; readonly conformity: unknown },
): Promise<void> {
  const r = await client.query(
    `UPDATE tandem_batch_runs SET status = 'completed', finished_at = now(), cut = $2, lineage = $3, conformity = $4
      WHERE run_id = $1 AND status = 'running'`,
    [runId, JSON.stringify(details.cut), JSON.stringify(details.lineage), JSON.stringify(details.conformity)],
  );
  if (r.rowCount !== 1) throw new Error(`batch run ${runId} is no longer running; refusing to flip`);
}

export async function recordRunFailed(db: Pool | PoolClient, runId: string, error: string, lineage?: unknown): Promise<void> {
  await db.query(
    `UPDATE tandem_batch_runs SET status = 'failed', finished_at = now(), error = $2, lineage = COALESCE($3, lineage) WHERE run_id = $1 AND status = 'running'`,
    [runId, error.slice(0, 4000), lineage === undefined ? null : JSON.stringify(lineage)],
  );
}

/** Closes runs left `running` by processes that died (call only while holding the batch lock). */
export async function closeAbandonedRuns(db: Pool | PoolClient): Promise<string[]> {
  const { rows } = await db.query<{ run_id: string }>(
    `UPDATE tandem_batch_runs SET status = 'failed', finished_at = now(), error = 'abandoned: the process running it stopped before it finished'
      WHERE status = 'running' RETURNING run_id`,
  );
  return rows.map((r) => r.run_id);
}
