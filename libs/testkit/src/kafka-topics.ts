import { Kafka, logLevel, type ITopicConfig } from 'kafkajs';

/**
 * Creates a topic and waits until every partition has a leader, so producing to it right away
 * succeeds. Fails if the topic already exists (use uniqueName for test topics).
 */
export async function createTopic(
  brokers: string[],
  topic: string,
  partitions = 1,
  configEntries: ITopicConfig['configEntries'] = [],
): Promise<void> {
  const admin = new Kafka({ clientId: 'tandem-testkit', brokers, logLevel: logLevel.ERROR }).admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries }],
      waitForLeaders: true,
    });
    if (!created) throw new Error(`topic ${topic} already exists`);
  } finally {
    await admin.disconnect();
  }
}
