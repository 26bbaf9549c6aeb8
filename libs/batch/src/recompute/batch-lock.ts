import type { Pool, PoolClient } from 'pg';
import { TandemError } from '@tandem/platform';

/**
 * Batch runs are serialised by a PostgreSQL advisory lock held by one session for the whole
 * run. If the process dies the session ends and PostgreSQL releases the lock, so a crash never
 * leaves the lake "locked" the way a lock row would.
 */
export class BatchRunInProgressError extends TandemError {
  override readonly name = 'BatchRunInProgressError';
  constructor() {
    super('another batch run holds the batch lock; try again when it has finished', true);
  }
}

export interface BatchLock {
  release(): Promise<void>;
}

const LOCK_KEY = `hashtext('tandem_batch:' || current_schema())`;

export async function acquireBatchLock(pool: Pool, options: { readonly wait?: boolean } = {}): Promise<BatchLock> {
  const client: PoolClient = await pool.connect();
  try {
    if (options.wait) {
      await client.query(`SELECT pg_advisory_lock(${LOCK_KEY})`);
    } else {
      const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_KEY}) AS locked`);
      if (!rows[0].locked) throw new BatchRunInProgressError();
    }
  } catch (error) {
    client.release();
    throw error;
  }
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      try {
        await client.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`);
        client.release();
      } catch (error) {
        // A broken session has lost the lock anyway; do not return it to the pool.
        client.release(error as Error);
      }
    },
  };
}
