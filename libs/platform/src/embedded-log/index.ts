// The in-process log (embedded mode): the log port with Kafka's partition, offset and
// consumer-group semantics, durable in segment files when given a directory.
export { EmbeddedLog, openEmbeddedLog, UnknownTopicError, type EmbeddedLogOptions } from './embedded-log';
export type { EmbeddedLogLogger } from './embedded-consumer';
export { murmur2, toPositive, partitionForKey } from './murmur2';
export { rangeAssign } from './consumer-group';
