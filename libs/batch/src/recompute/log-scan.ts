import { decodeEvent, type StreamContract } from '@tandem/contracts';
import { type Log, type LogBatch, partitionKey, TandemError, type TopicPartition } from '@tandem/platform';
import type { AnyView } from '@tandem/transforms';
import { LakeScan, type ScanOutput, type ScanTask } from './lake-scan';

/**
 * The scan of a rebuild from the log (the Kappa path): instead of the lake's files, the
 * stream's topic is read from the start by a consumer of its own, every record decoded and
 * checked against the contract exactly as the speed layer and the archiver do, and the valid
 * ones folded by the same `LakeScan` (the shared evaluator) a lake scan uses. So the cells
 * are the ones a lake scan of the same offsets gives, and what the log holds beyond the lake
 * (not archived yet, or a lake that was lost) is read as well.
 *
 * Each partition is read over `[from, to)` and no further. Records the contract rejects are
 * counted and left out (the speed layer dead-letters them; the lake never holds them). A
 * partition whose first record lies above `from` has lost offsets to retention: the scan
 * fails rather than return a view with a hole in it.
 */
export interface LogScanJob {
  readonly log: Log;
  readonly topic: string;
  readonly contract: StreamContract;
  readonly views: readonly AnyView[];
  readonly tasks: readonly ScanTask[];
  /** Per partition, the offsets to read. */
  readonly ranges: ReadonlyMap<number, readonly [number, number]>;
  readonly chunkSize: number;
  /** Consumer group of this scan alone (its positions are kept here, never committed). */
  readonly groupId: string;
  /** Fail when no partition moves for this long while some are unfinished (default 120 s). */
  readonly stallMs?: number;
  readonly onProgress?: (progress: { readonly records: number }) => void;
}

export interface LogScanOutput extends ScanOutput {
  /** Records the contract rejected (undecodable or invalid). */
  readonly rejected: number;
}

export class LogGapError extends TandemError {}

export async function scanLog(job: LogScanJob): Promise<LogScanOutput> {
  const scan = new LakeScan(job.views, job.tasks, job.chunkSize);
  // Per partition the next offset to fold: a redelivered batch (after a rebalance or a failed
  // batch) starts where this says, so nothing is folded twice.
  const next = new Map<number, number>();
  const pending = new Set<number>();
  for (const [p, [from, to]] of job.ranges) {
    if (to <= from) continue;
    next.set(p, from);
    pending.add(p);
  }
  let rejected = 0;
  let read = 0;
  if (pending.size === 0) return { ...scan.finish(), rejected };

  const consumer = job.log.consumer(`${job.groupId}-reader`);
  let settle!: (error?: Error) => void;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  let lastMove = Date.now();
  const fail = (error: Error) => {
    pending.clear();
    settle(error);
  };

  const eachBatch = async (batch: LogBatch): Promise<void> => {
    const p = batch.partition;
    if (!pending.has(p)) return;
    const range = job.ranges.get(p) as readonly [number, number];
    const to = range[1];
    let at = next.get(p) as number;
    for (const record of batch.records) {
      if (record.offset < at) continue;
      if (at === range[0] && record.offset > at) {
        fail(
          new LogGapError(
            `the log no longer holds offsets ${at}-${record.offset - 1} of ${job.topic} partition ${p} (retention?): ` +
              'it cannot rebuild the view from the log; rebuild from the lake instead',
          ),
        );
        return;
      }
      if (record.offset >= to) break;
      read++;
      const decoded = record.value === null ? undefined : decodeEvent(job.contract, record.value);
      if (decoded?.ok) scan.add(p, record.offset, decoded.value);
      else rejected++;
      at = record.offset + 1;
    }
    next.set(p, at);
    lastMove = Date.now();
    job.onProgress?.({ records: read });
    if (at >= to || batch.records.some((r) => r.offset >= to)) {
      pending.delete(p);
      if (pending.size === 0) settle();
    }
  };

  const stallMs = job.stallMs ?? 120_000;
  const watchdog = setInterval(() => {
    if (pending.size > 0 && Date.now() - lastMove > stallMs) {
      const where = [...pending].map((p) => `partition ${p} at ${next.get(p)} of ${job.ranges.get(p)?.[1]}`).join(', ');
      fail(new TandemError(`reading ${job.topic} from the log made no progress for ${Math.round(stallMs / 1000)} s (${where})`));
    }
  }, Math.min(1_000, stallMs));
  try {
    await consumer.start({
      groupId: job.groupId,
      topics: [job.topic],
      startOffsets: async (assigned: readonly TopicPartition[]) =>
        new Map(assigned.map((tp) => [partitionKey(tp), next.get(tp.partition) ?? job.ranges.get(tp.partition)?.[1] ?? 0])),
      eachBatch,
    });
    await finished;
    return { ...scan.finish(), rejected };
  } finally {
    clearInterval(watchdog);
    await consumer.stop().catch(() => undefined);
  }
}
