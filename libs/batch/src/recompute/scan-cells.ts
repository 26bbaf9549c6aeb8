import type { AnyView } from '@tandem/transforms';
import { type CellLines, CellLinesWriter, CellMerger } from './cell-merger';
import type { CountedState } from './counted-view';
import { chunkKey, type ScanOutput, type ViewScan } from './lake-scan';

/**
 * The cells of a scan shard in a form that crosses a thread (or process) boundary: per view,
 * its cells already written as the table's COPY lines (`CellLines`; encoded states are what
 * the algebra guarantees to survive a round trip, live sketch objects are not), in buffers
 * that move to the receiving thread without a copy (`transferablesOf`); and the few cells of
 * conformity chunks as parallel arrays.
 */
export interface EncodedChunkCells {
  readonly keys: string[];
  readonly buckets: number[];
  readonly states: string[];
  readonly events: number[];
  readonly partitions: number[];
  readonly chunks: number[];
}

export interface EncodedViewScan {
  readonly view: string;
  readonly records: number;
  readonly cells: CellLines;
  readonly chunks: EncodedChunkCells;
}

export interface EncodedScan {
  readonly views: EncodedViewScan[];
  readonly records: number;
  readonly files: number;
}

export function encodeScan(output: ScanOutput): EncodedScan {
  return {
    records: output.records,
    files: output.files,
    views: output.views.map((v) => {
      const enc = (s: CountedState<unknown>) => v.view.aggregator.encodeText(s.state);
      const lines = new CellLinesWriter();
      const aggregator = v.view.aggregator;
      for (const c of v.cells.cells()) lines.addState(c.key, c.bucket, aggregator, c.state.state, c.state.events);
      const chunks: EncodedChunkCells = { keys: [], buckets: [], states: [], events: [], partitions: [], chunks: [] };
      for (const ch of v.chunks.values()) {
        for (const c of ch.cells.cells()) {
          chunks.partitions.push(ch.partition);
          chunks.chunks.push(ch.chunk);
          chunks.keys.push(c.key);
          chunks.buckets.push(c.bucket);
          chunks.states.push(enc(c.state));
          chunks.events.push(c.state.events);
        }
      }
      return { view: v.view.name, records: v.records, cells: lines.finish(), chunks };
    }),
  };
}

/** The buffers of an encoded scan that can be transferred rather than copied. */
export function transferablesOf(scan: EncodedScan): ArrayBuffer[] {
  return scan.views.flatMap((v) => {
    const c = v.cells;
    return [...c.chunks.map((t) => t.buffer), c.chunkEnds.buffer, c.lineEnds.buffer, c.events.buffer, c.runBuckets.buffer, c.runEnds.buffer] as ArrayBuffer[];
  });
}

/** The merged cells of one view over every shard. */
export interface ViewCells {
  readonly view: AnyView;
  readonly cells: CellMerger<unknown>;
  /** Per (partition, chunk): the cells of the chunks conformity compares. */
  readonly chunks: Map<string, { readonly partition: number; readonly chunk: number; readonly cells: CellMerger<unknown> }>;
  records: number;
}

/**
 * Merges shard results (encoded from workers, or live from an in-process scan). A shard's
 * cells are taken whole (`CellMerger` merges only the cells shards share); the few cells of
 * conformity chunks are merged one by one.
 */
export class ScanMerge {
  private readonly byView = new Map<string, ViewCells>();
  records = 0;
  files = 0;

  constructor(views: readonly AnyView[]) {
    for (const view of views) this.byView.set(view.name, { view, cells: new CellMerger(view.aggregator), chunks: new Map(), records: 0 });
  }

  addEncoded(scan: EncodedScan): void {
    this.records += scan.records;
    this.files += scan.files;
    for (const v of scan.views) {
      const target = this.target(v.view);
      target.records += v.records;
      target.cells.addLines(v.cells);
      const ch = v.chunks;
      for (let i = 0; i < ch.keys.length; i++) {
        this.chunkTarget(target, ch.partitions[i], ch.chunks[i]).addEncoded(ch.keys[i], ch.buckets[i], ch.states[i], ch.events[i]);
      }
    }
  }

  /** Takes the cells of an in-process scan (which must not be used afterwards). */
  addLive(output: ScanOutput): void {
    this.records += output.records;
    this.files += output.files;
    for (const v of output.views) this.addLiveView(v);
  }

  result(): ViewCells[] {
    return [...this.byView.values()];
  }

  private addLiveView(v: ViewScan): void {
    const target = this.target(v.view.name);
    target.records += v.records;
    target.cells.addLiveCells(v.cells);
    for (const ch of v.chunks.values()) {
      const merger = this.chunkTarget(target, ch.partition, ch.chunk);
      for (const c of ch.cells.cells()) merger.addState(c.key, c.bucket, c.state.state, c.state.events);
    }
  }

  private target(name: string): ViewCells {
    const t = this.byView.get(name);
    if (!t) throw new RangeError(`scan result for unknown view "${name}"`);
    return t;
  }

  private chunkTarget(target: ViewCells, partition: number, chunk: number): CellMerger<unknown> {
    const id = chunkKey(partition, chunk);
    let entry = target.chunks.get(id);
    if (entry === undefined) {
      entry = { partition, chunk, cells: new CellMerger(target.view.aggregator) };
      target.chunks.set(id, entry);
    }
    return entry.cells;
  }
}
