import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { IngestMetrics, IngestService, loadIngestConfig, startIngestEdge } from '@tandem/ingest';
import { KafkaLog, runService } from '@tandem/platform';

/**
 * The ingest service: REST and gRPC publishing into Kafka. Settings come from the environment
 * (INGEST_SETTINGS in @tandem/ingest); a bad one stops the process before anything connects.
 * It starts even when Kafka is down, answering 503 with Retry-After until Kafka answers.
 */
runService('ingest', () => loadIngestConfig(process.env), async (config) => {
  const logger = new Logger('Ingest');
  const log = new KafkaLog({ ...config.kafka, clientId: config.kafka.clientId ?? 'tandem-ingest' });
  const metrics = new IngestMetrics();
  const ingest = new IngestService({
    log,
    topicPrefix: config.topicPrefix,
    maxEventBytes: config.maxEventBytes,
    maxEventsPerRequest: config.maxEventsPerRequest,
    sendTimeoutMs: config.sendTimeoutMs,
    deadLetters: config.deadLetters,
    observer: metrics,
  });
  const edge = await startIngestEdge({
    ingest,
    metrics,
    http: { port: config.port, host: config.host },
    grpc: { port: config.grpcPort, host: config.host },
    apiKeys: config.apiKeys,
    rateLimit: config.rateLimit,
    maxBodyBytes: config.maxBodyBytes,
  });
  logger.log(`REST on ${config.host}:${config.port} (OpenAPI at /docs), gRPC on ${config.host}:${edge.grpcPort}${config.apiKeys.length > 0 ? ', API keys required' : ''}`);
  return async () => {
    await edge.close();
    await ingest.close();
    await log.close();
  };
});
