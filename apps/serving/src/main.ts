import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { agreeOnSetting, CHUNK_SIZE_SETTING, openDatabase, runService } from '@tandem/platform';
import { loadServingConfig, QueryService, startServingEdge } from '@tandem/serving';

/**
 * The serving service: REST (OpenAPI at /docs) and gRPC (with reflection) over the merged
 * batch and speed views. Settings come from the environment (SERVING_SETTINGS in
 * @tandem/serving); a bad one stops the process before anything connects.
 */
runService('serving', () => loadServingConfig(process.env), async (config) => {
  const logger = new Logger('Serving');
  const db = await openDatabase({ ...config.database, applicationName: 'tandem-serving' });
  // Every service must split offsets into the same chunks, or the merge would double count.
  await agreeOnSetting(db, CHUNK_SIZE_SETTING, String(config.chunkSize));
  const queries = new QueryService({
    pool: db.pool,
    chunkSize: config.chunkSize,
    speedConsumer: config.speedConsumer,
    topicPrefix: config.topicPrefix,
    batchCacheEntries: config.batchCacheEntries,
    batchCacheRows: config.batchCacheRows,
    closedChunkCacheRows: config.closedChunkCacheRows,
    statementTimeoutMs: config.statementTimeoutMs,
    maxSeriesPoints: config.maxSeriesPoints,
    maxTopN: config.maxTopN,
  });
  const edge = await startServingEdge({
    queries,
    http: { port: config.port, host: config.host },
    grpc: { port: config.grpcPort, host: config.host },
    apiKeys: config.apiKeys,
    rateLimit: config.rateLimit,
  });
  logger.log(`REST on ${config.host}:${config.port} (OpenAPI at /docs), gRPC on ${config.host}:${edge.grpcPort}${config.apiKeys.length > 0 ? ', API keys required' : ''}`);
  return async () => {
    await edge.close();
    await db.close();
  };
});
