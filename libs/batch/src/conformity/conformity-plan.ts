import type { Cut } from '@tandem/platform';
import type { PartitionSpan } from '../recompute/lake-scan';

/**
 * Which chunks a batch run compares with the speed layer (DESIGN.md section 6): the chunks it
 * newly covers, `[previous cut, new cut)` per partition, that the speed layer has fully
 * passed (its next offset is at or beyond the chunk's end). A chunk the speed layer has not
 * finished is "not compared": its realtime rows are partial by design, not drift.
 */
export interface ConformityPlan {
  /** Per partition, `[fromChunk, toChunk)` to compare. */
  readonly compare: readonly PartitionSpan[];
  /** Chunks newly covered by the run. */
  readonly newChunks: number;
  /** Newly covered chunks left out because the speed layer has not passed them. */
  readonly notCompared: number;
}

export function planConformity(previous: Cut, cut: Cut, speedNext: ReadonlyMap<number, number>, chunkSize: number): ConformityPlan {
  const compare: PartitionSpan[] = [];
  let newChunks = 0;
  let notCompared = 0;
  for (const [p, end] of Object.entries(cut)) {
    const partition = Number(p);
    const first = Math.floor((previous[p] ?? 0) / chunkSize);
    const last = Math.floor(end / chunkSize); // exclusive
    if (last <= first) continue;
    newChunks += last - first;
    const passed = Math.floor((speedNext.get(partition) ?? 0) / chunkSize); // chunks < passed are complete
    const to = Math.min(last, passed);
    if (to > first) compare.push([partition, first, to]);
    notCompared += last - Math.max(first, to);
  }
  return { compare, newChunks, notCompared };
}
