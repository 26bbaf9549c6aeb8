import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { agreeOnSetting, CHUNK_SIZE_SETTING, ConfigError, openDatabase } from '@tandem/platform';
import { loadServingConfig, QueryService, startServingEdge } from '@tandem/serving';

/**
 * The serving service: REST (OpenAPI at /docs) and gRPC (with reflection) over the merged
 * batch and speed views. Settings come from the environment (SERVING_SETTINGS in
 * @tandem/serving); a bad one stops the process before anything connects.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadServingConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tandem serving: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
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
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: stopping`);
    await edge.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error) => {
  process.stderr.write(`tandem serving: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
