import { Type } from '@sinclair/typebox';
import { loadConfig } from '../config/env-config';
import { ConfigError } from '../errors/tandem-error';
import { resolveKafkaOptions } from './kafka-options';
import { KAFKA_SETTINGS, kafkaOptionsFromSettings } from './kafka-settings';

const settings = Type.Object(KAFKA_SETTINGS);
const fromEnv = (env: Record<string, string>) => kafkaOptionsFromSettings(loadConfig(settings, env));

describe('Kafka options', () => {
  it('builds a plain client from brokers alone', () => {
    const resolved = resolveKafkaOptions(fromEnv({ KAFKA_BROKERS: 'a:9092, b:9092' }));
    expect(resolved.client).toMatchObject({ brokers: ['a:9092', 'b:9092'], clientId: 'tandem' });
    expect(resolved.client.ssl).toBeUndefined();
    expect(resolved.client.sasl).toBeUndefined();
    expect(resolved.producer.idempotent).toBe(true);
  });

  it('configures SASL over TLS as Azure Event Hubs expects', () => {
    const resolved = resolveKafkaOptions(
      fromEnv({
        KAFKA_BROKERS: 'ns.servicebus.windows.net:9093',
        KAFKA_SSL: 'true',
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: '$ConnectionString',
        KAFKA_SASL_PASSWORD: 'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s',
      }),
    );
    expect(resolved.client.ssl).toBe(true);
    expect(resolved.client.sasl).toEqual({ mechanism: 'plain', username: '$ConnectionString', password: expect.stringContaining('Endpoint=') });
  });

  it('names the missing SASL settings', () => {
    expect(() => fromEnv({ KAFKA_BROKERS: 'a:9092', KAFKA_SASL_USERNAME: 'u' })).toThrow(/KAFKA_SASL_MECHANISM.*\n.*KAFKA_SASL_PASSWORD/s);
  });

  it('rejects an unknown SASL mechanism by name', () => {
    expect(() => fromEnv({ KAFKA_BROKERS: 'a:9092', KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toThrow(
      /KAFKA_SASL_MECHANISM/,
    );
  });

  it('lists every bad field at once', () => {
    let error: unknown;
    try {
      resolveKafkaOptions({ brokers: ['no-port', 'ok:1'], consumer: { heartbeatInterval: 40_000, maxBytesPerPartition: 0 } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/"no-port" is not host:port/);
    expect(problems).toMatch(/heartbeatInterval \(40000\) must be below sessionTimeout/);
    expect(problems).toMatch(/maxBytesPerPartition: expected a positive integer, got 0/);
  });
});
