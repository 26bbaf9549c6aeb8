import type { Cut } from '@tandem/platform';
import type { LayerHead } from './provenance';

/**
 * The realtime rows of a snapshot that can no longer change: those of chunks at or above the
 * batch cut that the speed layer has wholly passed. The speed layer writes a chunk's rows and
 * its offsets in one transaction, so once its recorded next offset on a partition has reached
 * the end of a chunk, every row of that chunk is committed and none changes again; the rows
 * go away only when a batch cut passes them, and a new cut names a new range here.
 *
 * A fold of those rows is therefore as immutable as a batch part, and is cached the same way:
 * named by the exact chunk range per partition it covers (with the view, transform version and
 * query shape), so a speed layer that moves on, a new cut or offsets that went back (a reset
 * consumer) all name a different part instead of reusing a stale one. Rows of the chunks still
 * open are read on every query.
 */
export interface SettledChunks {
  /** Per partition, the first offset whose chunk is still open: realtime rows are read from here on. */
  readonly openFrom: Cut;
  /** The same by partition number, for the per-row test. */
  readonly openFromOf: ReadonlyMap<number, number>;
  /** The closed range per partition, `p:<cut>-<openFrom>`, in partition order. */
  readonly id: string;
}

/** The closed chunks of a snapshot above its cut; undefined when there are none. */
export function settledChunks(head: LayerHead, chunkSize: number): SettledChunks | undefined {
  const cut = head.pointer?.cut ?? {};
  const openFrom: Record<string, number> = { ...cut };
  const ranges: [number, string][] = [];
  for (const o of head.speedOffsets) {
    const from = cut[String(o.partition)] ?? 0;
    const closedEnd = Math.floor(o.nextOffset / chunkSize) * chunkSize;
    if (closedEnd <= from) continue;
    openFrom[String(o.partition)] = closedEnd;
    ranges.push([o.partition, `${o.partition}:${from}-${closedEnd}`]);
  }
  if (ranges.length === 0) return undefined;
  const openFromOf = new Map(Object.entries(openFrom).map(([p, o]) => [Number(p), o]));
  return { openFrom, openFromOf, id: ranges.sort((a, b) => a[0] - b[0]).map(([, r]) => r).join(',') };
}

/** Whether a realtime row read above the cut lies in a settled chunk. */
export function isSettled(settled: SettledChunks, partition: number, chunk: number, chunkSize: number): boolean {
  const openFrom = settled.openFromOf.get(partition);
  return openFrom !== undefined && chunk * chunkSize < openFrom;
}
