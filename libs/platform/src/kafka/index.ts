// The Kafka implementation of the log port (kafkajs).
export { KafkaLog, createKafkaLog } from './kafka-log';
export {
  type KafkaOptions,
  type KafkaSasl,
  type SaslMechanism,
  type KafkaConsumerTuning,
  type KafkaProducerTuning,
  type KafkaLogger,
  SASL_MECHANISMS,
  DEFAULT_CONSUMER_TUNING,
  DEFAULT_RETRY,
  resolveKafkaOptions,
} from './kafka-options';
export { KAFKA_SETTINGS, type KafkaSettings, kafkaOptionsFromSettings } from './kafka-settings';
export { fromKafkaError } from './kafka-errors';
export { planBatch, type BatchPlan } from './batch-plan';
