import { Client, type ClientConfig, type Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { TandemError } from '../errors/tandem-error';
import { migrations } from './migrations';

/**
 * PostgreSQL access: TypeORM owns the connection pool and the schema migrations; hot paths
 * (upserts of realtime rows, COPY into batch tables, serving reads) use the same pool
 * through `pool()` with plain parameterised SQL.
 */
export interface DatabaseOptions {
  /** postgres://user:pass@host:port/db */
  readonly url: string;
  /** Schema to use (created if missing); default `public`. */
  readonly schema?: string;
  /** Pool size; default 10. */
  readonly poolSize?: number;
  /** Application name reported to PostgreSQL. */
  readonly applicationName?: string;
}

export interface Database {
  readonly dataSource: DataSource;
  readonly pool: Pool;
  readonly schema: string;
  close(): Promise<void>;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A pool's client with an 'error' listener of its own. pg's pool listens for errors only on idle
 * clients; a client that is checked out between two queries (a batch run's lock session, a
 * transaction waiting on other work) has none, so the server ending its connection (a restart,
 * a fast shutdown, an administrator's pg_terminate_backend) would be an uncaught 'error' event
 * that kills the process. With this listener the error surfaces where it belongs: the client's
 * next query rejects, and the pool discards the broken client when it is released.
 */
class PoolClientWithErrorListener extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const schema = options.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema)) throw new TandemError(`database schema "${schema}" must match ${SCHEMA_NAME}`);
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.url,
    schema,
    migrations,
    migrationsTableName: 'tandem_migrations',
    migrationsTransactionMode: 'all',
    poolSize: options.poolSize ?? 10,
    applicationName: options.applicationName ?? 'tandem',
    // Every connection works in the configured schema, so plain table names resolve there.
    extra: { options: `-c search_path=${schema}`, Client: PoolClientWithErrorListener },
    logging: false,
  });
  try {
    await dataSource.initialize();
  } catch (err) {
    throw new TandemError(`cannot connect to PostgreSQL: ${(err as Error).message}`, true, { cause: err });
  }
  if (schema !== 'public') await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  // Concurrent start-ups (several services at once) must not race on migrations. The
  // advisory lock belongs to a session, so it is taken and released on one connection.
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query(`SELECT pg_advisory_lock(hashtext('tandem_migrations:' || $1))`, [schema]);
    await dataSource.runMigrations({ transaction: 'all' });
  } finally {
    await lock.query(`SELECT pg_advisory_unlock(hashtext('tandem_migrations:' || $1))`, [schema]).catch(() => undefined);
    await lock.release();
  }
  const pool = (dataSource.driver as PostgresDriver).master as Pool;
  return { dataSource, pool, schema, close: () => dataSource.destroy() };
}

/**
 * Records a deployment-wide setting on first use and checks it on every later start-up:
 * two services that disagree on, say, the chunk size would silently double count.
 */
export async function agreeOnSetting(db: Database, name: string, value: string): Promise<void> {
  await db.pool.query(`INSERT INTO tandem_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [name, value]);
  const { rows } = await db.pool.query<{ value: string }>(`SELECT value FROM tandem_settings WHERE name = $1`, [name]);
  if (rows[0]?.value !== value) {
    throw new TandemError(`setting ${name}=${value} disagrees with the deployment's recorded value ${rows[0]?.value}; refusing to start`);
  }
}
