import { ConfigError } from '@tandem/platform';
import { loadBatchConfig } from './batch.config';

describe('loadBatchConfig', () => {
  const base = { DATABASE_URL: 'postgres://u:p@localhost:5432/db' };

  it('applies defaults', () => {
    const c = loadBatchConfig(base);
    expect(c).toMatchObject({ chunkSize: 10_000, intervalMs: 300_000, retention: 3, compactRatio: 0.2, speedConsumer: 'tandem-speed', kafka: undefined });
    expect(c.views.map((v) => v.name)).toContain('flights_per_origin_hour');
    expect(c.archiver.enabled).toBe(true);
  });

  it('names every bad setting at once', () => {
    let error: unknown;
    try {
      loadBatchConfig({ ...base, BATCH_RETENTION: '0', TANDEM_CHUNK_SIZE: 'ten', BATCH_INTERVAL_MS: '-1' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as ConfigError).problems.join('\n');
    expect(text).toMatch(/BATCH_RETENTION/);
    expect(text).toMatch(/TANDEM_CHUNK_SIZE/);
    expect(text).toMatch(/BATCH_INTERVAL_MS/);
  });

  it('rejects unknown views and, for the service, a missing broker', () => {
    expect(() => loadBatchConfig({ ...base, TANDEM_VIEWS: 'nope' })).toThrow(/TANDEM_VIEWS: unknown view "nope"/);
    expect(() => loadBatchConfig(base, { requireKafka: true })).toThrow(/KAFKA_BROKERS: required/);
    expect(loadBatchConfig({ ...base, KAFKA_BROKERS: 'k:9092' }, { requireKafka: true }).kafka?.brokers).toEqual(['k:9092']);
  });
});
