import { Client, Pool } from 'pg';
import { uniqueName } from './test-env';

export interface TestSchema {
  /** The schema's name (also first on the search_path of every connection below). */
  schema: string;
  /** DATABASE_URL with `options=-c search_path=<schema>`, for clients that take a URL. */
  url: string;
  /** A pool whose connections use the schema. */
  pool: Pool;
  /** Ends the pool and drops the schema with everything in it. Idempotent. */
  drop(): Promise<void>;
}

/**
 * Creates a fresh, uniquely named schema, so a test file owns its tables while sharing the
 * run's database with the others. Pass `schema` to ORMs that qualify names themselves
 * (TypeORM's `schema` option), or use `url` / `pool`, which resolve unqualified names in it.
 */
export async function withSchema(databaseUrl: string, prefix = 'test'): Promise<TestSchema> {
  const schema = uniqueName(prefix);
  await withClient(databaseUrl, (client) => client.query(`CREATE SCHEMA ${client.escapeIdentifier(schema)}`));

  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const pool = new Pool({ connectionString: url.toString(), max: 5 });
  pool.on('error', () => undefined); // an idle client lost with the server: queries still report it

  let dropped: Promise<void> | undefined;
  const drop = () =>
    (dropped ??= (async () => {
      await pool.end();
      await withClient(databaseUrl, (client) =>
        client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`),
      );
    })());
  return { schema, url: url.toString(), pool, drop };
}

async function withClient<T>(databaseUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
