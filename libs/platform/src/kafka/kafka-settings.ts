import { type Static, type TObject, Type } from '@sinclair/typebox';
import { Setting, splitList } from '../config/env-config';
import { ConfigError } from '../errors/tandem-error';
import type { KafkaOptions } from './kafka-options';

/**
 * The environment settings of a Kafka client, shared by every service that talks to Kafka.
 * Spread them into a service's config schema: `Type.Object({ ...KAFKA_SETTINGS, ... })`.
 */
export const KAFKA_SETTINGS = {
  KAFKA_BROKERS: Setting.list('Kafka bootstrap brokers, comma-separated host:port'),
  KAFKA_CLIENT_ID: Type.String({ minLength: 1, default: 'tandem', description: 'Client id reported to the brokers' }),
  KAFKA_SASL_MECHANISM: Type.Optional(
    Type.Union([Type.Literal('plain'), Type.Literal('scram-sha-256'), Type.Literal('scram-sha-512')], {
      description: 'SASL mechanism; unset for no SASL',
    }),
  ),
  KAFKA_SASL_USERNAME: Type.Optional(Type.String({ description: 'SASL user ($ConnectionString for Azure Event Hubs)' })),
  KAFKA_SASL_PASSWORD: Type.Optional(Type.String({ description: 'SASL password (the connection string for Azure Event Hubs)' })),
  KAFKA_SSL: Setting.bool(false, 'Connect with TLS (required by Azure Event Hubs)'),
};

export type KafkaSettings = Static<TObject<typeof KAFKA_SETTINGS>>;

/**
 * Kafka options from validated settings. SASL needs all three settings; a partial set is a
 * configuration error rather than a silent unauthenticated connection.
 */
export function kafkaOptionsFromSettings(settings: KafkaSettings): KafkaOptions {
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = settings;
  const anySasl = mechanism !== undefined || username !== undefined || password !== undefined;
  if (anySasl) {
    const missing = [
      mechanism === undefined && 'KAFKA_SASL_MECHANISM',
      !username && 'KAFKA_SASL_USERNAME',
      !password && 'KAFKA_SASL_PASSWORD',
    ].filter((name): name is string => typeof name === 'string');
    if (missing.length > 0) throw new ConfigError(missing.map((name) => `${name}: required when any KAFKA_SASL_* setting is set (not set)`));
  }
  return {
    brokers: splitList(settings.KAFKA_BROKERS),
    clientId: settings.KAFKA_CLIENT_ID,
    ssl: settings.KAFKA_SSL,
    ...(anySasl ? { sasl: { mechanism: mechanism as NonNullable<typeof mechanism>, username: username ?? '', password: password ?? '' } } : {}),
  };
}
