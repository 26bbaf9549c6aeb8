import { ConfigError, DEFAULT_CHUNK_SIZE } from '@tandem/platform';
import { catalog } from '@tandem/transforms';
import { loadSpeedConfig } from './speed.config';

const base = { KAFKA_BROKERS: 'localhost:9092', DATABASE_URL: 'postgres://u:p@localhost:5432/db' };

const problemsOf = (env: Record<string, string>): string => {
  try {
    loadSpeedConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('speed configuration', () => {
  it('fills in the defaults', () => {
    const config = loadSpeedConfig(base);
    expect(config).toMatchObject({
      groupId: 'tandem-speed',
      topicPrefix: '',
      chunkSize: DEFAULT_CHUNK_SIZE,
      port: 3002,
      database: { url: base.DATABASE_URL, schema: 'public' },
      maxBatchRecords: undefined,
      commitDelayMs: 0,
    });
    expect(config.views.map((v) => v.name)).toEqual(catalog.map((v) => v.name));
    expect(config.kafka.brokers).toEqual(['localhost:9092']);
  });

  it('selects views and tunes the consumer', () => {
    const config = loadSpeedConfig({
      ...base,
      TANDEM_VIEWS: 'flights_per_route_day, requests_per_status_hour',
      SPEED_MAX_BATCH_BYTES: '65536',
      SPEED_PARTITIONS_CONCURRENTLY: '2',
      SPEED_SESSION_TIMEOUT_MS: '6000',
      SPEED_HEARTBEAT_INTERVAL_MS: '500',
      SPEED_MAX_BATCH_RECORDS: '100',
    });
    expect(config.views.map((v) => v.name)).toEqual(['flights_per_route_day', 'requests_per_status_hour']);
    expect(config.kafka.consumer).toMatchObject({ maxBytesPerPartition: 65536, partitionsConsumedConcurrently: 2, sessionTimeout: 6000, heartbeatInterval: 500 });
    expect(config.maxBatchRecords).toBe(100);
  });

  it('names each bad setting', () => {
    expect(problemsOf({ DATABASE_URL: base.DATABASE_URL })).toMatch(/KAFKA_BROKERS: .*\(not set\)/);
    expect(problemsOf({ ...base, TANDEM_CHUNK_SIZE: '0' })).toMatch(/TANDEM_CHUNK_SIZE: .*greater or equal to 1/);
    expect(problemsOf({ ...base, KAFKA_SSL: 'maybe' })).toMatch(/KAFKA_SSL/);
    expect(problemsOf({ ...base, TANDEM_VIEWS: 'nope' })).toMatch(/TANDEM_VIEWS: unknown view "nope"/);
    expect(problemsOf({ ...base, DATABASE_SCHEMA: 'Bad-Schema' })).toMatch(/DATABASE_SCHEMA/);
    expect(problemsOf({ ...base, SPEED_SESSION_TIMEOUT_MS: '6000', SPEED_HEARTBEAT_INTERVAL_MS: '6000' })).toMatch(/SPEED_HEARTBEAT_INTERVAL_MS: must be below/);
    expect(problemsOf({ ...base, KAFKA_BROKERS: 'localhost' })).toMatch(/"localhost" is not host:port/);
  });
});
