import { Kafka, logLevel } from 'kafkajs';
import type { KafkaConsumerTuning } from '@tandem/platform';

/**
 * The peer of the benchmark: a kafkajs consumer group that does nothing with its batches
 * but resolve them (eachBatchAutoResolve: false, as the speed layer runs), with the same
 * fetch tuning. Its rate is what the client and broker allow on this machine.
 */
export interface NoopRun {
  readonly records: number;
  /** From the group join to the last record resolved, seconds. */
  readonly seconds: number;
  readonly batches: number;
}

export async function runNoopConsumer(brokers: string[], topic: string, expected: number, tuning: Required<KafkaConsumerTuning>): Promise<NoopRun> {
  const kafka = new Kafka({ clientId: 'bench-noop', brokers, logLevel: logLevel.WARN });
  const consumer = kafka.consumer({
    groupId: `bench-noop-${Date.now()}`,
    maxBytesPerPartition: tuning.maxBytesPerPartition,
    maxBytes: tuning.maxBytes,
    minBytes: tuning.minBytes,
    maxWaitTimeInMs: tuning.maxWaitTimeInMs,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let records = 0;
  let batches = 0;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  let joinedAt = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt = performance.now()));
  await consumer.run({
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: tuning.partitionsConsumedConcurrently,
    eachBatch: async ({ batch, resolveOffset }) => {
      const last = batch.messages[batch.messages.length - 1];
      if (!last) return;
      records += batch.messages.length;
      batches++;
      resolveOffset(last.offset);
      if (records >= expected) finished();
    },
  });
  await done;
  const seconds = (performance.now() - joinedAt) / 1000;
  await consumer.disconnect();
  return { records, seconds, batches };
}
