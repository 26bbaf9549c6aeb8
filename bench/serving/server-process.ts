// The serving process of the benchmark, started by run.ts: two serving edges over one pool
// (batch cache off and on), and the "direct SQL" peer, which runs the same statements in the
// same kind of snapshot through the same pool without decoding, merging or any transport.
import 'reflect-metadata';
import { openDatabase } from '@tandem/platform';
import { QueryService, startServingEdge } from '@tandem/serving';
import { viewByName } from '@tandem/transforms';
import { ServingStore } from '../../libs/serving/src/store/serving-store';
import { closedLoop } from './latency';

export interface DirectRequest {
  readonly type: 'direct';
  readonly shape: 'point' | 'top';
  readonly view: string;
  readonly key: string;
  readonly aggregate: string;
  readonly from: number;
  readonly to: number;
  readonly seconds: number;
  readonly concurrency: number;
}

async function main(): Promise<void> {
  const url = process.env['DATABASE_URL']!;
  const schema = process.env['BENCH_SCHEMA']!;
  const chunkSize = Number(process.env['BENCH_CHUNK_SIZE']);
  const poolSize = Number(process.env['BENCH_POOL_SIZE'] ?? 10);
  const db = await openDatabase({ url, schema, poolSize, applicationName: 'bench-serving' });
  const edgeOf = (queries: QueryService) =>
    startServingEdge({ queries, http: { port: 0, host: '127.0.0.1' }, grpc: { port: 0, host: '127.0.0.1' }, apiKeys: [], rateLimit: { limit: 0, windowMs: 1_000 }, logger: false });
  const uncached = await edgeOf(new QueryService({ pool: db.pool, chunkSize, batchCacheEntries: 0, closedChunkCacheRows: 0 }));
  const cached = await edgeOf(new QueryService({ pool: db.pool, chunkSize }));
  const store = new ServingStore({ pool: db.pool, chunkSize, speedConsumer: 'tandem-speed', statementTimeoutMs: 30_000, topicPrefix: '' });

  process.on('message', (message: DirectRequest | { type: 'stop' } | { type: 'cpu' }) => {
    if (message.type === 'cpu') {
      const used = process.cpuUsage();
      process.send!({ type: 'cpu', micros: used.user + used.system });
      return;
    }
    if (message.type === 'stop') {
      void Promise.all([uncached.close(), cached.close()]).then(() => db.close()).then(() => process.exit(0));
      return;
    }
    const view = viewByName(message.view);
    const call =
      message.shape === 'point'
        ? () =>
            store.snapshot(async (r) => {
              const head = await r.head(view);
              await r.realtimeOfKey(head, message.key, message.from, message.to);
              return r.batchOfKey(head.pointer!, message.key, message.from, message.to);
            })
        : () =>
            store.snapshot(async (r) => {
              const head = await r.head(view);
              await r.realtimeOfRange(head, message.aggregate, message.from, message.to);
              return r.batchOfRange(head.pointer!, message.aggregate, message.from, message.to);
            });
    void closedLoop(call, message.concurrency, message.seconds).then((summary) => process.send!({ type: 'direct-result', summary }));
  });
  process.send!({
    type: 'ready',
    uncached: { http: uncached.httpUrl, grpc: uncached.grpcPort },
    cached: { http: cached.httpUrl, grpc: cached.grpcPort },
  });
}

main().catch((error) => {
  process.stderr.write(`bench serving process: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
