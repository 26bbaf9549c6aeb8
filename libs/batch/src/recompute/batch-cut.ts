import { type Cut, floorToChunk, ImpossibleStateError } from '@tandem/platform';

/**
 * The cut of a batch run (DESIGN.md section 4): per partition of the view's topic, the first
 * offset the new batch version does NOT cover.
 *
 * It is the largest chunk boundary the lake covers contiguously from offset 0, and never
 * less than the previous cut: the realtime rows below the previous cut are gone, so moving
 * back would lose their events.
 */
export interface BatchCutInput {
  /** Partitions of the topic (the stream's partition count, at least). */
  readonly partitions: readonly number[];
  /** Per partition, the next offset the lake has not archived (contiguous from 0). */
  readonly coverage: ReadonlyMap<number, number>;
  /** The cut of the version serving now; empty for a view's first run. */
  readonly previous: Cut;
  readonly chunkSize: number;
}

export interface BatchCutChoice {
  readonly cut: Cut;
  /** Partitions whose lake coverage is below the previous cut: the lake lost what a batch already used. */
  readonly behindPrevious: readonly number[];
}

export function chooseBatchCut(input: BatchCutInput): BatchCutChoice {
  const { chunkSize } = input;
  const partitions = new Set<number>(input.partitions);
  for (const p of input.coverage.keys()) partitions.add(p);
  for (const p of Object.keys(input.previous)) partitions.add(Number(p));

  const cut: Record<string, number> = {};
  const behindPrevious: number[] = [];
  for (const p of [...partitions].sort((a, b) => a - b)) {
    const previous = input.previous[String(p)] ?? 0;
    if (previous % chunkSize !== 0) {
      // A cut off a chunk boundary means the chunk size changed under a running deployment:
      // realtime rows would be retired by a different grid than the one they were keyed by.
      throw new ImpossibleStateError(`previous cut ${previous} of partition ${p} is not a multiple of the chunk size ${chunkSize}`);
    }
    const covered = floorToChunk(input.coverage.get(p) ?? 0, chunkSize);
    if (covered < previous) behindPrevious.push(p);
    cut[String(p)] = Math.max(previous, covered);
  }
  return { cut, behindPrevious };
}

/** Per partition `[from, to)`: the offsets a run reads for one view. */
export type OffsetRanges = ReadonlyMap<number, readonly [from: number, to: number]>;

/** The offsets between two cuts; partitions with nothing new are left out. */
export function rangesBetween(from: Cut, to: Cut): Map<number, readonly [number, number]> {
  const ranges = new Map<number, readonly [number, number]>();
  for (const [p, end] of Object.entries(to)) {
    const start = from[p] ?? 0;
    if (end > start) ranges.set(Number(p), [start, end]);
  }
  return ranges;
}

/** Whether `next` moves no partition backwards from `previous`. */
export function cutIsMonotone(previous: Cut, next: Cut): boolean {
  return Object.entries(previous).every(([p, offset]) => (next[p] ?? 0) >= offset);
}

/** A cut as the contracts' control events carry it: decimal strings. */
export const cutAsStrings = (cut: Cut): Record<string, string> =>
  Object.fromEntries(Object.entries(cut).map(([p, offset]) => [p, String(offset)]));
