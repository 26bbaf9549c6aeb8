import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type Archiver, type BatchRunner, createArchiver, createBatchRunner } from '@tandem/batch';
import type { StreamContract } from '@tandem/contracts';
import { IngestService } from '@tandem/ingest';
import { type Database, KafkaLog, LocalLakeStorage, openDatabase } from '@tandem/platform';
import { QueryService } from '@tandem/serving';
import { createSpeedLayer, type SpeedLayer } from '@tandem/speed';
import { quietLogger, testEnv, uniqueName, withSchema, type TestSchema } from '@tandem/testkit';
import type { AnyView } from '@tandem/transforms';
import { Registry } from 'prom-client';
import type { AcceptedEvent } from './accepted-log';
import { sleep } from './service-process';


/**
 * The layers in one process over the real broker and PostgreSQL, for the properties that
 * need precise control of when the batch runs (late events, conformity, transform versions).
 * The chaos suite runs them as separate processes.
 */
export class InProcessStack {
  readonly accepted: AcceptedEvent[] = [];
  private constructor(
    readonly schema: TestSchema,
    readonly db: Database,
    readonly log: KafkaLog,
    readonly ingest: IngestService,
    readonly speed: SpeedLayer,
    readonly archiver: Archiver,
    readonly batch: BatchRunner,
    readonly queries: QueryService,
    readonly speedGroup: string,
    readonly lakeDir: string,
  ) {}

  static async start(stream: StreamContract, views: readonly AnyView[], options: { readonly chunkSize: number; readonly first: Record<string, unknown> }): Promise<InProcessStack> {
    const { brokers, databaseUrl } = testEnv();
    const schema = await withSchema(databaseUrl, 'oracle_stack');
    const db = await openDatabase({ url: databaseUrl, schema: schema.schema, poolSize: 6 });
    const lakeDir = await mkdtemp(path.join(tmpdir(), 'tandem-oracle-lake-'));
    const storage = new LocalLakeStorage(lakeDir);
    const prefix = `${schema.schema}.`;
    const log = new KafkaLog({ brokers, clientId: 'oracle-stack', logger: quietLogger });
    const ingest = new IngestService({ log, topicPrefix: prefix, streams: [stream] });
    const speedGroup = uniqueName('oracle_speed');
    const stack = new InProcessStack(
      schema,
      db,
      log,
      ingest,
      createSpeedLayer({ log, db, views, groupId: speedGroup, chunkSize: options.chunkSize, topicPrefix: prefix, cleanupIntervalMs: 0, logger: quietLogger }),
      createArchiver({ log, storage, streams: [stream], groupId: uniqueName('oracle_archiver'), maxAgeMs: 100, topicOf: (c) => `${prefix}${c.topic}`, registry: new Registry(), logger: quietLogger }),
      createBatchRunner({ db, storage, views, chunkSize: options.chunkSize, registry: new Registry(), workers: 0, topicPrefix: prefix, speedConsumer: speedGroup, logger: quietLogger }),
      new QueryService({ pool: db.pool, chunkSize: options.chunkSize, speedConsumer: speedGroup, topicPrefix: prefix }),
      speedGroup,
      lakeDir,
    );
    // The topic exists once ingest has published; the consumers start after that.
    await stack.publish(stream.name, [options.first]);
    await stack.speed.start();
    await stack.archiver.start();
    return stack;
  }

  async publish(stream: string, events: readonly Record<string, unknown>[]): Promise<void> {
    const result = await this.ingest.publishValues(stream, events);
    const results = (result as unknown as { results: { accepted: boolean; partition?: number; offset?: number; reason?: string }[] }).results;
    results.forEach((r, i) => {
      if (!r.accepted) throw new Error(`event ${i} rejected: ${r.reason}`);
      this.accepted.push({ partition: r.partition!, offset: r.offset!, event: events[i] });
    });
  }

  /** Waits until the speed layer and the archiver have every accepted event. */
  async settle(timeoutMs = 30_000): Promise<void> {
    const ends = new Map<number, number>();
    for (const e of this.accepted) ends.set(e.partition, Math.max(ends.get(e.partition) ?? 0, e.offset + 1));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await this.db.pool.query<{ partition: number; next_offset: string }>(`SELECT partition, next_offset FROM tandem_speed_offsets WHERE consumer = $1`, [this.speedGroup]);
      const speedDone = [...ends].every(([p, end]) => rows.some((r) => r.partition === p && Number(r.next_offset) >= end));
      const archived = this.archiver.status().partitions;
      const lakeDone = [...ends].every(([p, end]) => archived.some((a) => a.partition === p && a.archivedUntil >= end && a.buffered === 0));
      if (speedDone && lakeDone) return;
      if (Date.now() > deadline) throw new Error(`speed (${speedDone}) or archiver (${lakeDone}) did not catch up within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  async close(): Promise<void> {
    await this.archiver.stop().catch(() => undefined);
    await this.speed.stop().catch(() => undefined);
    await this.batch.close().catch(() => undefined);
    await this.ingest.close().catch(() => undefined);
    await this.log.close().catch(() => undefined);
    await this.db.close().catch(() => undefined);
    await this.schema.drop();
    await rm(this.lakeDir, { recursive: true, force: true });
  }
}
