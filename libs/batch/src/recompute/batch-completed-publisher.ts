import { type BatchCompleted, CONTROL_TOPIC, CONTROL_TOPIC_PARTITIONS, encodeControlEvent } from '@tandem/contracts';
import type { Log, LogProducer } from '@tandem/platform';

/**
 * Publishes BatchCompleted on the control topic after a flip. The event is a notification,
 * not the source of truth (tandem_batch_current is): a failed publish is reported and the
 * run stays completed; readers that missed it find the new version at their next poll.
 */
export class BatchCompletedPublisher {
  private producer: Promise<LogProducer> | undefined;
  private topicReady = false;

  constructor(private readonly log: Log) {}

  async publish(event: BatchCompleted): Promise<void> {
    if (!this.topicReady) {
      const admin = await this.log.admin();
      try {
        await admin.ensureTopic(CONTROL_TOPIC, CONTROL_TOPIC_PARTITIONS);
      } finally {
        await admin.close();
      }
      this.topicReady = true;
    }
    this.producer ??= this.log.producer();
    const producer = await this.producer.catch((error: unknown) => {
      this.producer = undefined;
      throw error;
    });
    await producer.send(CONTROL_TOPIC, [{ key: event.runId, value: encodeControlEvent(event) }]);
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    if (producer) await (await producer.catch(() => undefined))?.close();
  }
}
