// The ingest process of the benchmark, started by run.ts: the ingest edge (REST and gRPC)
// over the Kafka log, as apps/ingest runs it.
import 'reflect-metadata';
import { IngestMetrics, IngestService, startIngestEdge } from '@tandem/ingest';
import { KafkaLog } from '@tandem/platform';

async function main(): Promise<void> {
  const brokers = process.env['KAFKA_BROKERS']!.split(',');
  const prefix = process.env['BENCH_TOPIC_PREFIX']!;
  const log = new KafkaLog({ brokers, clientId: 'bench-ingest' });
  const metrics = new IngestMetrics();
  const ingest = new IngestService({ log, topicPrefix: prefix, observer: metrics, sendTimeoutMs: 30_000 });
  const edge = await startIngestEdge({
    ingest,
    metrics,
    http: { port: 0, host: '127.0.0.1' },
    grpc: { port: 0, host: '127.0.0.1' },
    apiKeys: [],
    rateLimit: { limit: 0, windowMs: 1_000 },
    maxBodyBytes: 5 * 1024 * 1024,
    logger: false,
  });
  // Topics are ensured on the first publish; do it before the clock starts.
  await ingest.publishValues('flights', [{ ts: 0, delay: 0, distance: 1, origin: 'AAA', destination: 'BBB' }]);
  process.on('message', (message: { type: string }) => {
    if (message.type === 'stop') void edge.close().then(() => ingest.close()).then(() => log.close()).then(() => process.exit(0));
  });
  process.send!({ type: 'ready', http: edge.httpUrl, grpc: edge.grpcPort });
}

main().catch((error) => {
  process.stderr.write(`bench ingest process: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
