import { chunkOf } from '@tandem/platform';
import { type AnyView, type CountedState, type CountedView, countedView as sharedCountedView, ViewAccumulator } from '@tandem/transforms';

/**
 * The deltas one partition batch adds to the realtime rows: per offset chunk and view, the
 * cells (key, bucket) with their state and the number of events folded into them.
 *
 * Folding is the shared evaluator's (`ViewAccumulator`, the same one batch uses); the only
 * addition is an event count per cell, which the realtime table records next to the state.
 */
export interface DecodedEvent {
  readonly offset: number;
  readonly event: unknown;
}

export type { CountedView } from '@tandem/transforms';

export interface ChunkDelta {
  readonly chunk: number;
  /** One accumulator per view of the stream, in the binding's view order. */
  readonly views: readonly ViewAccumulator<unknown, CountedState<unknown>, unknown>[];
}

export interface PartitionDelta {
  /** Events below this offset were left out (already applied). */
  readonly from: number;
  readonly chunks: readonly ChunkDelta[];
  /** Events folded (accepted by at least the offset filter; a view's own filter may drop some). */
  readonly events: number;
}

/** Wraps a view so its states count the events folded into them (the shared product with a count). */
export const countedView = (view: AnyView): CountedView => sharedCountedView(view) as CountedView;

/**
 * Builds a partition delta one event at a time, so a batch can be folded in slices between
 * which the event loop runs (transactions in flight, heartbeats).
 */
export class PartitionDeltaBuilder {
  private readonly chunks: ChunkDelta[] = [];
  private current: ChunkDelta | undefined;
  private folded = 0;

  constructor(
    private readonly views: readonly CountedView[],
    /** Events below this offset are left out (already applied). */
    readonly from: number,
    private readonly chunkSize: number,
  ) {}

  add(offset: number, event: unknown): void {
    if (offset < this.from) return;
    const chunk = chunkOf(offset, this.chunkSize);
    let current = this.current;
    if (current === undefined || current.chunk !== chunk) {
      current = { chunk, views: this.views.map((v) => new ViewAccumulator(v)) };
      this.chunks.push(current);
      this.current = current;
    }
    const accumulators = current.views;
    for (let v = 0; v < accumulators.length; v++) accumulators[v].add(event);
    this.folded++;
  }

  delta(): PartitionDelta {
    return { from: this.from, chunks: this.chunks, events: this.folded };
  }
}

/** Folds the events at or above `from` into per-chunk accumulators. */
export function accumulatePartition(views: readonly CountedView[], events: readonly DecodedEvent[], from: number, chunkSize: number): PartitionDelta {
  const builder = new PartitionDeltaBuilder(views, from, chunkSize);
  for (let i = 0; i < events.length; i++) builder.add(events[i].offset, events[i].event);
  return builder.delta();
}
