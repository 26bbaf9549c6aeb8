import { ImpossibleStateError } from '@tandem/platform';
import { type Granularity, granularityMs, type Json } from '@tandem/transforms';
import type { LayerHead } from './provenance';

/**
 * Folding stored states into answer cells with the aggregator's own `plusInto`
 * (DESIGN.md section 4: batch(g) ⊕ Σ realtime rows at or above the cut). Only the fold owns
 * its accumulators; the states added are never mutated, so decoded batch parts can be
 * cached and added again.
 */
export class StateFold<K> {
  readonly states = new Map<K, unknown>();
  /** Events summarised per cell (what the dashboard splits by layer). */
  readonly cellEvents = new Map<K, number>();
  rows = 0;
  events = 0;

  constructor(
    private readonly zero: () => unknown,
    private readonly plusInto: (acc: unknown, b: unknown) => unknown,
  ) {}

  add(key: K, state: unknown, events = 0): void {
    const acc = this.states.get(key);
    this.states.set(key, this.plusInto(acc === undefined ? this.zero() : acc, state));
    // Top-N folds pass no counts; skipping the second map keeps that hot loop to one.
    if (events !== 0) this.cellEvents.set(key, (this.cellEvents.get(key) ?? 0) + events);
  }

  /** An empty fold with the same aggregator, e.g. for a part to be cached on its own. */
  empty(): StateFold<K> {
    return new StateFold<K>(this.zero, this.plusInto);
  }

  /** Adds every state of another fold (e.g. a cached batch part) and its counts. */
  addAll(other: FoldResult<K>): void {
    for (const [key, state] of other.states) this.add(key, state, other.cellEvents?.get(key) ?? 0);
    this.rows += other.rows;
    this.events += other.events;
  }
}

export interface FoldResult<K> {
  readonly states: ReadonlyMap<K, unknown>;
  readonly cellEvents?: ReadonlyMap<K, number>;
  readonly rows: number;
  readonly events: number;
}

/** Where stored states come from, for error messages: one object per read, not per row. */
export interface CellSource {
  readonly view: string;
  /** `table <name>` or `tandem_realtime`. */
  readonly source: string;
}

/** The row around a stored state. */
export interface StoredCellLike {
  readonly key: string;
  readonly bucket: number;
  readonly events: number;
}

/**
 * Decodes a stored state after checking the row around it. A row that cannot be read is not
 * a missing value: answering without it would be silently wrong, so it is an impossible state.
 * Runs once per row merged, so it allocates nothing unless it fails.
 */
export function decodeStored(decode: (json: Json) => unknown, state: Json, cell: StoredCellLike, from: CellSource, granularity: Granularity): unknown {
  if (!Number.isSafeInteger(cell.events) || cell.events < 0) throw impossible(from, cell, `events ${cell.events} is not a count`);
  // A bucket start is a whole multiple of the bucket size (what bucketOf(b) === b says, in one division).
  if (!Number.isSafeInteger(cell.bucket) || cell.bucket % granularityMs(granularity) !== 0) {
    throw impossible(from, cell, `bucket ${cell.bucket} is not the start of a ${granularity} bucket`);
  }
  if (state === null || state === undefined) throw impossible(from, cell, 'the row holds no state for the aggregate asked for');
  try {
    return decode(state);
  } catch (error) {
    throw impossible(from, cell, `state cannot be decoded: ${(error as Error).message}`, error);
  }
}

function impossible(from: CellSource, cell: StoredCellLike, what: string, cause?: unknown): ImpossibleStateError {
  const where = `view "${from.view}", ${from.source}, key ${JSON.stringify(cell.key).slice(0, 120)}, bucket ${cell.bucket}`;
  return new ImpossibleStateError(`${where}: ${what}`, false, cause === undefined ? undefined : { cause });
}

/**
 * The speed layer writes its rows and its offsets in one transaction, so no realtime row can
 * hold offsets at or past the speed layer's recorded next offset. One that does means the
 * rows and the offsets disagree (e.g. offsets reset under existing rows): merging would
 * count those offsets again when they are replayed.
 */
export function checkSpeedRows(head: LayerHead, rows: readonly { readonly partition: number; readonly chunk: number; readonly key: string; readonly bucket: number }[], chunkSize: number): void {
  if (head.speedOffsets.length === 0 || rows.length === 0) return;
  const next = new Map(head.speedOffsets.map((o) => [o.partition, o.nextOffset]));
  for (const row of rows) {
    const at = next.get(row.partition);
    if (at !== undefined && row.chunk * chunkSize >= at) {
      throw new ImpossibleStateError(
        `view "${head.view}": a realtime row (partition ${row.partition}, chunk ${row.chunk}, key ${JSON.stringify(row.key).slice(0, 120)}, ` +
          `bucket ${row.bucket}) covers offsets from ${row.chunk * chunkSize}, but the speed layer (consumer ${head.speedConsumer}) ` +
          `records its next offset on that partition as ${at}`,
      );
    }
  }
}
