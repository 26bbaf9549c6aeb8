/**
 * A connection that PostgreSQL ends while the process holds it between two queries (a batch
 * run's lock session, a transaction waiting on other work; what a fast shutdown or a restart
 * does to every session) must not kill the process: the holder's next query fails, the pool
 * discards the client and goes on serving.
 */
import { type Database, openDatabase } from '@tandem/platform';
import { testEnv, withSchema, type TestSchema } from '@tandem/testkit';

const { databaseUrl } = testEnv();

let schema: TestSchema;
let db: Database;
beforeAll(async () => {
  schema = await withSchema(databaseUrl, 'connloss');
  db = await openDatabase({ url: databaseUrl, schema: schema.schema, poolSize: 3, applicationName: 'tandem-connloss' });
});
afterAll(async () => {
  await db?.close();
  await schema?.drop();
});

describe('a pooled connection ended by the server while checked out', () => {
  it('fails the holder’s next query, leaves the process running and the pool usable', async () => {
    const uncaught: Error[] = [];
    const onUncaught = (error: Error) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const held = await db.pool.connect();
      const { rows } = await held.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // Another session ends it, as a fast shutdown ends every session, while no query runs on it.
      const { rows: terminated } = await db.pool.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [rows[0].pid]);
      expect(terminated[0].ok).toBe(true);
      // The server's FATAL message arrives on the idle, checked-out connection.
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline && (held as unknown as { _queryable: boolean })._queryable) await new Promise((r) => setTimeout(r, 20));

      await expect(held.query('SELECT 1')).rejects.toThrow();
      held.release(true);
      expect(uncaught).toEqual([]);

      // Every pooled connection still answers.
      const answers = await Promise.all([1, 2, 3].map((n) => db.pool.query<{ n: number }>('SELECT $1::int AS n', [n])));
      expect(answers.map((a) => a.rows[0].n)).toEqual([1, 2, 3]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
