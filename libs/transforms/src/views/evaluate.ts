import type { AnyView, View } from './define-view';
import { bucketOf } from './granularity';

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
  private readonly map = new Map<string, ViewCell<S>>();

  constructor(
    readonly view: View<E, S, O>,
    /** Event time of an event, epoch ms (the stream contract's). */
    private readonly eventTime: (event: E) => number = view.stream.eventTime as (event: E) => number,
  ) {}

  /** Folds one event in; returns false when the view's filter rejects it. */
  add(event: E): boolean {
    const view = this.view;
    if (!view.accepts(event)) return false;
    const key = view.keyOf(event);
    const bucket = bucketOf(this.eventTime(event), view.granularity);
    const id = cellId(key, bucket);
    let cell = this.map.get(id);
    if (cell === undefined) {
      cell = { key, bucket, state: view.aggregator.zero() };
      this.map.set(id, cell);
    }
    cell.state = view.aggregator.add(cell.state, event);
    return true;
  }

  /** Merges a cell's state in (e.g. a shard's partial result). */
  merge(key: string, bucket: number, state: S): void {
    const id = cellId(key, bucket);
    const cell = this.map.get(id);
    if (cell === undefined) {
      this.map.set(id, { key, bucket, state: this.view.aggregator.plus(this.view.aggregator.zero(), state) });
    } else {
      cell.state = this.view.aggregator.plusInto(cell.state, state);
    }
  }

  get size(): number {
    return this.map.size;
  }

  cells(): IterableIterator<ViewCell<S>> {
    return this.map.values();
  }

  get(key: string, bucket: number): ViewCell<S> | undefined {
    return this.map.get(cellId(key, bucket));
  }

  clear(): void {
    this.map.clear();
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
