import { decodeEvent, type StreamContract } from '@tandem/contracts';
import type { Log } from '@tandem/platform';

/** One event the log accepted, at its position. */
export interface AcceptedEvent {
  readonly partition: number;
  readonly offset: number;
  readonly event: Record<string, unknown>;
}

/**
 * Every record of the topic, read back from offset 0 to the end of each partition: the
 * oracle's input is what the log holds, not what the driver believes it sent.
 */
export async function readAcceptedEvents(log: Log, topic: string, stream: StreamContract, options: { readonly timeoutMs?: number } = {}): Promise<AcceptedEvent[]> {
  const admin = await log.admin();
  const ends = await admin.endOffsets(topic);
  await admin.close();
  const remaining = new Map([...ends].filter(([, end]) => end > 0));
  // By position: a batch delivered twice (a retried fetch) is still one event per offset.
  const byPosition = new Map<string, AcceptedEvent>();
  if (remaining.size === 0) return [];
  const consumer = log.consumer('oracle-reader');
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await consumer.start({
    groupId: `oracle-reader-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    topics: [topic],
    startOffsets: async () => new Map(),
    eachBatch: async (batch) => {
      const end = remaining.get(batch.partition);
      for (const record of batch.records) {
        if (end === undefined || record.offset >= end) continue;
        const decoded = decodeEvent(stream, record.value);
        if (!decoded.ok) throw new Error(`${topic}[${batch.partition}]@${record.offset} holds an event its contract rejects: ${decoded.reason}`);
        byPosition.set(`${batch.partition}:${record.offset}`, { partition: batch.partition, offset: record.offset, event: decoded.value as Record<string, unknown> });
      }
      const last = batch.records.at(-1);
      if (end !== undefined && last !== undefined && last.offset >= end - 1) {
        remaining.delete(batch.partition);
        if (remaining.size === 0) done();
      }
    },
  });
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      finished,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`reading ${topic} back did not finish within ${timeoutMs} ms`)), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.stop();
  }
  const events = [...byPosition.values()];
  events.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  return events;
}
