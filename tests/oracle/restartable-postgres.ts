import { type PostgresServer, startPostgres } from '@tandem/testkit';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RestartableDatabase } from './chaos-run';

/** A PostgreSQL of the run's own, kept on disk, that the chaos driver may stop and start again. */
export interface OwnPostgres extends RestartableDatabase {
  /** The same URL across restarts (same port and data). */
  readonly url: string;
  /** Stops it for good and removes its data. */
  close(): Promise<void>;
}

export async function startRestartablePostgres(): Promise<OwnPostgres> {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-oracle-pg-'));
  chmodSync(directory, 0o755); // PostgreSQL runs as its own user when the run is root's
  let server: PostgresServer = await startPostgres({ directory });
  const port = server.port;
  return {
    url: server.url,
    stop: () => server.stop(),
    start: async () => {
      server = await startPostgres({ directory, port });
    },
    close: async () => {
      await server.stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
