// @tandem/testkit: the real servers the integration tests run against, and small helpers that
// keep test files from colliding on a shared broker and database. Imported by tests and by
// tools (the harness CLI, benchmarks); never by production code.
export { testEnv, uniqueName, type TestEnv } from './test-env';
export { createTopic } from './kafka-topics';
export { withSchema, type TestSchema } from './postgres-schema';
export { startKafkaBroker, randomClusterId, type KafkaBroker, type KafkaBrokerOptions } from './kafka-broker';
export { ensureKafkaDistribution, kafkaHome, tandemCacheDir, KAFKA_VERSION, type KafkaDistribution } from './kafka-distribution';
export { startPostgres, type PostgresServer, type PostgresServerOptions } from '@tandem/platform';
export { startAzurite, AZURITE_ACCOUNT, AZURITE_ACCOUNT_KEY, type AzuriteServer, type AzuriteOptions } from './azurite';
export { startRestartablePostgres, type RestartablePostgres } from './restartable-postgres';
export { quietLogger } from './quiet-logger';
