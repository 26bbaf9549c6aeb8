import { type Aggregator, cellId } from '@tandem/transforms';

/**
 * Merges the cells of a view from several sources (scan shards, the previous batch version)
 * with the aggregator's `plus`.
 *
 * States arrive either decoded (from an in-process scan) or as JSON text of their encoding
 * (from a worker or a table). Text is decoded only when two sources hold the same cell: with
 * a lake sharded by file and views keyed like the stream, most cells come from one source
 * only and go to the table as they came, without a decode/encode round trip.
 */
export interface MergedCell {
  readonly key: string;
  readonly bucket: number;
  /** JSON text of the encoded state. */
  readonly state: string;
  readonly events: number;
}

interface Entry<S> {
  readonly key: string;
  readonly bucket: number;
  text: string | undefined;
  state: S | undefined;
  events: number;
}

export class CellMerger<S> {
  private readonly map = new Map<string, Entry<S>>();
  private collisions = 0;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(private readonly agg: Aggregator<any, S, unknown>) {}

  /** Adds a cell given as encoded JSON text. */
  addEncoded(key: string, bucket: number, text: string, events: number): void {
    const id = cellId(key, bucket);
    const entry = this.map.get(id);
    if (entry === undefined) {
      this.map.set(id, { key, bucket, text, state: undefined, events });
      return;
    }
    this.plusInto(entry, this.decode(text), events);
  }

  /** Adds a decoded state; the merger takes ownership of it (it may be mutated). */
  addState(key: string, bucket: number, state: S, events: number): void {
    const id = cellId(key, bucket);
    const entry = this.map.get(id);
    if (entry === undefined) {
      this.map.set(id, { key, bucket, text: undefined, state, events });
      return;
    }
    this.plusInto(entry, state, events);
  }

  has(key: string, bucket: number): boolean {
    return this.map.has(cellId(key, bucket));
  }

  get size(): number {
    return this.map.size;
  }

  /** How many times a cell came from more than one source (a measure of shard overlap). */
  get merges(): number {
    return this.collisions;
  }

  *cells(): IterableIterator<MergedCell> {
    for (const e of this.map.values()) {
      const state = e.text ?? JSON.stringify(this.agg.encode(e.state as S));
      yield { key: e.key, bucket: e.bucket, state, events: e.events };
    }
  }

  private plusInto(entry: Entry<S>, state: S, events: number): void {
    this.collisions++;
    if (entry.state === undefined) {
      entry.state = this.decode(entry.text as string);
      entry.text = undefined;
    }
    entry.state = this.agg.plusInto(entry.state, state);
    entry.events += events;
  }

  private decode(text: string): S {
    return this.agg.decode(JSON.parse(text));
  }
}
