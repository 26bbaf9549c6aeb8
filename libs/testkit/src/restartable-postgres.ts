import { type PostgresServer, startPostgres } from '@tandem/platform';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A PostgreSQL of a test's own, kept on disk, that the test may stop (a fast shutdown: every
 * session ended, open transactions rolled back) and start again on the same data and port,
 * as a restart or a failover would. For outage tests; never a server other tests share.
 */
export interface RestartablePostgres {
  /** The same URL across restarts. */
  readonly url: string;
  /** Fast shutdown; the data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same data and port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  close(): Promise<void>;
}

export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-pg-restartable-'));
  chmodSync(directory, 0o755); // PostgreSQL runs as its own user when the tests run as root
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
