import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type HttpRequestEvent, parseApacheLogLine } from '@tandem/contracts';
import { type Database, LocalLakeStorage, openDatabase } from '@tandem/platform';
import { testEnv, withSchema } from '@tandem/testkit';
import type { AnyView } from '@tandem/transforms';
import { Registry } from 'prom-client';
import { type BatchRunnerOptions, createBatchRunner } from '../batch-runner';

/** The real access log shipped in data/ (10,000 requests), as events. */
export function accessLogEvents(): HttpRequestEvent[] {
  const file = path.join(__dirname, '../../../../../data/apache-access-log/apache_logs');
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .flatMap((line) => {
      const parsed = parseApacheLogLine(line);
      return parsed.ok ? [parsed.event] : [];
    });
}

export interface BatchTestEnv {
  readonly db: Database;
  readonly lakeDir: string;
  readonly storage: LocalLakeStorage;
  readonly schemaUrl: string;
  readonly schema: string;
  close(): Promise<void>;
}

/** A fresh PostgreSQL schema (migrated) and an empty local lake in a temporary directory. */
export async function openBatchTestEnv(prefix: string, lakeDir?: string): Promise<BatchTestEnv> {
  const schema = await withSchema(testEnv().databaseUrl, prefix);
  const db = await openDatabase({ url: testEnv().databaseUrl, schema: schema.schema, poolSize: 6 });
  const ownLake = lakeDir === undefined;
  const dir = lakeDir ?? (await mkdtemp(path.join(tmpdir(), 'tandem-lake-')));
  return {
    db,
    lakeDir: dir,
    storage: new LocalLakeStorage(dir),
    schemaUrl: schema.url,
    schema: schema.schema,
    close: async () => {
      await db.close();
      await schema.drop();
      if (ownLake) await rm(dir, { recursive: true, force: true });
    },
  };
}

export const quietLogger = { log: () => undefined, warn: () => undefined, error: () => undefined };

export function testRunner(env: BatchTestEnv, views: readonly AnyView[], extra: Partial<BatchRunnerOptions> = {}) {
  return createBatchRunner({
    db: env.db,
    storage: env.storage,
    views,
    chunkSize: 500,
    registry: new Registry(),
    // In this thread by default: starting worker threads costs more than these small lakes.
    workers: 0,
    logger: quietLogger,
    ...extra,
  });
}

/** The rows of a batch table, by `key \0 bucket`. */
export async function tableRows(db: Database, table: string): Promise<Map<string, { state: unknown; events: number }>> {
  const { rows } = await db.pool.query<{ key: string; bucket: string; state: unknown; events: string }>(`SELECT key, bucket, state, events FROM "${table}"`);
  return new Map(rows.map((r) => [`${r.key}\u0000${Number(r.bucket)}`, { state: r.state, events: Number(r.events) }]));
}

export async function currentTable(db: Database, view: string): Promise<{ table: string; cut: Record<string, number>; version: number } | undefined> {
  const { rows } = await db.pool.query(`SELECT table_name, cut, batch_version FROM tandem_batch_current WHERE view = $1`, [view]);
  return rows[0] ? { table: rows[0].table_name, cut: rows[0].cut, version: Number(rows[0].batch_version) } : undefined;
}
