import type { AnyView, View } from './define-view';
import { bucketOf, granularityMs } from './granularity';

/**
 * The reference evaluator: applies a view to events and returns its cells (key, bucket,
 * state). Batch and speed both fold events through `ViewAccumulator`; only how they group
 * the cells (by lake shard, or by partition and offset chunk) differs.
 */
export interface ViewCell<S> {
  readonly key: string;
  /** Bucket start, epoch ms. */
  readonly bucket: number;
  state: S;
}

export const cellId = (key: string, bucket: number): string => `${bucket}\u0000${key}`;

export class ViewAccumulator<E, S, O> {
  // Cells by bucket, then key: no string is built per event to find a cell.
  private readonly buckets = new Map<number, Map<string, ViewCell<S>>>();
  private count = 0;
  private readonly eventTime: (event: E) => number;
  private readonly bucketMs: number;
  // The bucket of the last event: events arrive mostly in time order (a lake file, a
  // partition of the log), so most find their bucket's cells without computing it.
  private lastStart = NaN;
  private lastCells: Map<string, ViewCell<S>> | undefined;

  constructor(
    readonly view: View<E, S, O>,
    /** Event time of an event, epoch ms; the stream contract's by default. */
    eventTime?: (event: E) => number,
  ) {
    const stream = view.stream;
    this.eventTime = eventTime ?? ((e: E) => stream.eventTime(e as never));
    this.bucketMs = granularityMs(view.granularity);
  }

  private cellsOf(bucket: number): Map<string, ViewCell<S>> {
    let byKey = this.buckets.get(bucket);
    if (byKey === undefined) {
      byKey = new Map();
      this.buckets.set(bucket, byKey);
    }
    return byKey;
  }

  private cell(key: string, bucket: number): ViewCell<S> {
    return this.cellIn(this.cellsOf(bucket), key, bucket);
  }

  private cellIn(byKey: Map<string, ViewCell<S>>, key: string, bucket: number): ViewCell<S> {
    let cell = byKey.get(key);
    if (cell === undefined) {
      cell = { key, bucket, state: this.view.aggregator.zero() };
      byKey.set(key, cell);
      this.count++;
    }
    return cell;
  }

  /** Folds one event in; returns false when the view's filter rejects it. */
  add(event: E): boolean {
    const view = this.view;
    if (!view.accepts(event)) return false;
    const ts = this.eventTime(event);
    let bucket = this.lastStart;
    let byKey = this.lastCells;
    // Whole milliseconds in the last bucket's range have its start for bucket; anything else
    // (another bucket, the first event, a fractional or NaN time) goes through bucketOf.
    if (!(ts >= bucket && ts < bucket + this.bucketMs && Number.isInteger(ts)) || byKey === undefined) {
      bucket = bucketOf(ts, view.granularity);
      byKey = this.cellsOf(bucket);
      this.lastStart = bucket;
      this.lastCells = byKey;
    }
    const cell = this.cellIn(byKey, view.keyOf(event), bucket);
    cell.state = view.aggregator.add(cell.state, event);
    return true;
  }

  /** Merges a cell's state in (e.g. a shard's partial result); `state` is not modified. */
  merge(key: string, bucket: number, state: S): void {
    const cell = this.cell(key, bucket);
    cell.state = this.view.aggregator.plusInto(cell.state, state);
  }

  get size(): number {
    return this.count;
  }

  *cells(): IterableIterator<ViewCell<S>> {
    for (const byKey of this.buckets.values()) yield* byKey.values();
  }

  get(key: string, bucket: number): ViewCell<S> | undefined {
    return this.buckets.get(bucket)?.get(key);
  }

  clear(): void {
    this.buckets.clear();
    this.count = 0;
    this.lastStart = NaN;
    this.lastCells = undefined;
  }
}

/** Applies one view to events: its cells by `cellId`. */
export function evaluateView<E, S, O>(view: View<E, S, O>, events: Iterable<E>): Map<string, ViewCell<S>> {
  const acc = new ViewAccumulator(view);
  for (const e of events) acc.add(e);
  return new Map([...acc.cells()].map((c) => [cellId(c.key, c.bucket), c]));
}

/** Applies every view of a stream to its events: cells by view name. */
export function evaluateViews(views: readonly AnyView[], events: Iterable<unknown>): Map<string, Map<string, ViewCell<unknown>>> {
  const accs = views.map((v) => new ViewAccumulator(v));
  for (const e of events) for (const a of accs) a.add(e);
  return new Map(accs.map((a) => [a.view.name, new Map([...a.cells()].map((c) => [cellId(c.key, c.bucket), c]))]));
}
