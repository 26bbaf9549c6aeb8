import { type AnyView, ViewAccumulator } from '@tandem/transforms';
import { type CountedState, countedView } from './counted-view';

/**
 * The scan of a lake snapshot: folds the records of some data files into the cells of the
 * views of one stream, with the shared evaluator (`ViewAccumulator`).
 *
 * Each view takes the records whose offset lies in its range for their partition (a full run
 * reads from offset 0, an incremental one from the previous cut). Records of the chunks that
 * conformity compares are also folded per (partition, chunk), the grid the speed layer keys
 * its rows by, so the comparison needs no second pass over the lake.
 */

/** One record of the lake, decoded. */
export interface LakeEvent {
  readonly partition: number;
  readonly offset: number;
  readonly event: unknown;
}

/** `[partition, from, to)`: offsets for ranges, chunk numbers for conformity chunks. */
export type PartitionSpan = readonly [partition: number, from: number, to: number];

export interface ScanTask {
  readonly view: string;
  /** Offsets folded into the view's cells, per partition. */
  readonly ranges: readonly PartitionSpan[];
  /** Chunks whose cells are also kept apart, per partition, for the conformity check. */
  readonly chunks: readonly PartitionSpan[];
}

export interface ScanProgress {
  readonly files: number;
  readonly records: number;
}

/** Cells of one (partition, chunk) of one view. */
export interface ChunkCells {
  readonly partition: number;
  readonly chunk: number;
  readonly cells: ViewAccumulator<unknown, CountedState<unknown>, unknown>;
}

export interface ViewScan {
  readonly view: AnyView;
  readonly cells: ViewAccumulator<unknown, CountedState<unknown>, unknown>;
  readonly chunks: Map<string, ChunkCells>;
  /** Records in the view's ranges (accepted by its filter or not). */
  records: number;
}

export interface ScanOutput {
  readonly views: ViewScan[];
  /** Records read from the files (in any view's range or not). */
  records: number;
  files: number;
}

/** A span list as a lookup by partition. */
function byPartition(spans: readonly PartitionSpan[]): (readonly [number, number] | undefined)[] {
  const out: (readonly [number, number] | undefined)[] = [];
  for (const [p, from, to] of spans) out[p] = [from, to];
  return out;
}

export const chunkKey = (partition: number, chunk: number): string => `${partition}:${chunk}`;

/**
 * Folds record batches into per-view accumulators. `feed` is called with each file's
 * records; `finish` returns the cells.
 */
export class LakeScan {
  private readonly tasks: {
    readonly scan: ViewScan;
    readonly ranges: (readonly [number, number] | undefined)[];
    readonly chunkRanges: (readonly [number, number] | undefined)[];
    readonly counted: AnyView;
  }[];
  private readonly output: ScanOutput;

  constructor(
    views: readonly AnyView[],
    tasks: readonly ScanTask[],
    private readonly chunkSize: number,
  ) {
    const byName = new Map(views.map((v) => [v.name, v]));
    this.tasks = tasks.map((t) => {
      const view = byName.get(t.view);
      if (!view) throw new RangeError(`scan task for unknown view "${t.view}"`);
      const counted = countedView(view);
      return {
        scan: { view, cells: new ViewAccumulator(counted), chunks: new Map(), records: 0 },
        ranges: byPartition(t.ranges),
        chunkRanges: byPartition(t.chunks),
        counted,
      };
    });
    this.output = { views: this.tasks.map((t) => t.scan), records: 0, files: 0 };
  }

  /** Folds one record in. */
  add(partition: number, offset: number, event: unknown): void {
    this.output.records++;
    for (const t of this.tasks) {
      const r = t.ranges[partition];
      if (r === undefined || offset < r[0] || offset >= r[1]) continue;
      t.scan.records++;
      t.scan.cells.add(event);
      const c = t.chunkRanges[partition];
      if (c === undefined) continue;
      const chunk = Math.floor(offset / this.chunkSize);
      if (chunk < c[0] || chunk >= c[1]) continue;
      const id = chunkKey(partition, chunk);
      let cells = t.scan.chunks.get(id);
      if (cells === undefined) {
        cells = { partition, chunk, cells: new ViewAccumulator(t.counted) };
        t.scan.chunks.set(id, cells);
      }
      cells.cells.add(event);
    }
  }

  /** Counts one file as done. */
  fileDone(): void {
    this.output.files++;
  }

  get progress(): ScanProgress {
    return { files: this.output.files, records: this.output.records };
  }

  finish(): ScanOutput {
    return this.output;
  }
}

/** Whether a data file holds any offset a task reads. */
export function fileIsNeeded(file: { readonly partition: number; readonly firstOffset: number; readonly lastOffset: number }, tasks: readonly ScanTask[]): boolean {
  return tasks.some((t) => t.ranges.some(([p, from, to]) => p === file.partition && file.firstOffset < to && file.lastOffset >= from));
}
