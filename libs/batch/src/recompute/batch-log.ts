import type { StreamContract } from '@tandem/contracts';
import type { Log } from '@tandem/platform';

/**
 * What a rebuild from the log reads: the stream's topic up to its end when the run plans.
 * The log's end plays the part the manifest's coverage plays for a lake run: the cut is the
 * last chunk boundary below it, so the new version covers every record accepted so far
 * (to the chunk) whether or not the archiver has written it to the lake yet.
 */
export interface LogView {
  readonly stream: StreamContract;
  readonly topic: string;
  /** Per partition, the first offset not in the log yet. */
  readonly coverage: Map<number, number>;
  readonly readAt: string;
}

export async function viewLog(log: Log, stream: StreamContract, topic: string): Promise<LogView> {
  const admin = await log.admin();
  try {
    const ends = await admin.endOffsets(topic);
    return { stream, topic, coverage: new Map(ends), readAt: new Date().toISOString() };
  } finally {
    await admin.close();
  }
}

/** The lineage record of a log read: the topic and how far it was read. */
export interface LogLineage {
  readonly stream: string;
  readonly source: 'log';
  readonly topic: string;
  /** Per partition, the log's end when the run planned. */
  readonly endOffsets: Record<string, number>;
  readonly readAt: string;
}

export function logLineage(view: LogView): LogLineage {
  return {
    stream: view.stream.name,
    source: 'log',
    topic: view.topic,
    endOffsets: Object.fromEntries([...view.coverage].map(([p, o]) => [String(p), o])),
    readAt: view.readAt,
  };
}
