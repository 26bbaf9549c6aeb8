import { canonicalJson, type Json } from '@tandem/transforms';
import type { MergedCell } from '../recompute/cell-merger';

/**
 * The comparison itself: the cells the batch layer computes for one (partition, chunk) from
 * the lake against the speed layer's rows of the same view, transform version, partition and
 * chunk. States are compared exactly, through their canonical encoding (the algebra makes
 * every aggregator's merge exact, sketches included).
 */
export interface RealtimeCell {
  readonly key: string;
  readonly bucket: number;
  readonly state: Json;
}

export interface CellMismatch {
  readonly partition: number;
  readonly chunk: number;
  readonly key: string;
  readonly bucket: number;
  /** The batch layer's encoded state; null when only the speed layer has the cell. */
  readonly batch: Json;
  /** The speed layer's encoded state; null when only the batch layer has the cell. */
  readonly speed: Json;
}

export function compareChunk(partition: number, chunk: number, batchCells: Iterable<MergedCell>, speedCells: readonly RealtimeCell[]): CellMismatch[] {
  const speed = new Map<string, RealtimeCell>();
  for (const row of speedCells) speed.set(`${row.bucket}\u0000${row.key}`, row);
  const mismatches: CellMismatch[] = [];
  for (const cell of batchCells) {
    const id = `${cell.bucket}\u0000${cell.key}`;
    const mine = JSON.parse(cell.state) as Json;
    const theirs = speed.get(id);
    speed.delete(id);
    if (theirs === undefined) {
      mismatches.push({ partition, chunk, key: cell.key, bucket: cell.bucket, batch: mine, speed: null });
    } else if (canonicalJson(mine) !== canonicalJson(theirs.state)) {
      mismatches.push({ partition, chunk, key: cell.key, bucket: cell.bucket, batch: mine, speed: theirs.state });
    }
  }
  for (const row of speed.values()) mismatches.push({ partition, chunk, key: row.key, bucket: row.bucket, batch: null, speed: row.state });
  return mismatches;
}

/** What a run records per view (tandem_batch_runs.conformity). */
export interface ViewConformity {
  readonly view: string;
  readonly transformVersion: string;
  /** Chunks compared with the speed layer's rows. */
  readonly compared: number;
  /** Newly covered chunks the speed layer had not passed yet. */
  readonly notCompared: number;
  /** Cells that differ. */
  readonly mismatches: number;
  /** A few mismatching cells, states truncated, to start an investigation from. */
  readonly examples: readonly CellMismatch[];
}

export const MAX_EXAMPLES = 5;

/** Shortens a state for the run record: sketches can be kilobytes. */
export function excerpt(state: Json, maxChars = 300): Json {
  if (state === null) return null;
  const text = canonicalJson(state);
  return text.length <= maxChars ? state : `${text.slice(0, maxChars)}…`;
}
