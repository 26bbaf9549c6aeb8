import type { CountedState } from '@tandem/transforms';
import type { CountedView, PartitionDelta } from './partition-delta';

/**
 * The realtime rows of one partition delta, made ready for the writer before its
 * transaction begins: every row that cannot exist yet is already COPY text, so the
 * transaction spends its time in PostgreSQL, not in encoding states.
 *
 * Only the chunk holding the delta's first offset can have rows already (when that offset
 * is not a chunk boundary; see RealtimeViewWriter): its cells stay states, to be merged
 * with the stored rows, or encoded, under the transaction's lock. Every other cell's state
 * is encoded here, once.
 */
export interface OpenCell {
  readonly view: CountedView;
  readonly key: string;
  readonly bucket: number;
  readonly chunk: number;
  /** The cell's identity within its partition (see `cellRowId`). */
  readonly id: string;
  readonly state: CountedState<unknown>;
}

export interface EncodedRows {
  /** The delta's first offset: the rows are valid only if the store stands exactly there. */
  readonly from: number;
  /** The chunk of `from` when `from` is not a chunk boundary, else -1. */
  readonly openChunk: number;
  /** COPY text (text format) of the rows of every other chunk, in pieces. */
  readonly copyText: readonly Buffer[];
  readonly copyRows: number;
  /** Events folded into the delta. */
  readonly events: number;
  /** Cells of the open chunk. */
  readonly open: readonly OpenCell[];
  /** Ids of the cells of the chunk of the batch's last offset (the next batch's open chunk). */
  readonly lastChunkIds: readonly string[];
}

/** A cell's identity within one partition's chunk (views of a stream have distinct names). */
export const cellRowId = (view: string, bucket: number, key: string): string => `${view}\u0000${bucket}\u0000${key}`;

/** Bytes of COPY text per piece handed to the COPY stream. */
const COPY_BYTES_PER_PIECE = 256 * 1024;

export function encodeRows(delta: PartitionDelta, partition: number, lastChunk: number, openChunk: number): EncodedRows {
  const copy = new CopyTextBuilder();
  const open: OpenCell[] = [];
  const lastChunkIds: string[] = [];
  for (const { chunk, views } of delta.chunks) {
    for (const accumulator of views) {
      const view = accumulator.view as CountedView;
      const prefix = copy.prefixOf(view);
      const inner = view.aggregator.inner;
      const suffix = `\t${partition}\t${chunk}\t`;
      for (const cell of accumulator.cells()) {
        const id = chunk === openChunk || chunk === lastChunk ? cellRowId(view.name, cell.bucket, cell.key) : '';
        if (chunk === lastChunk) lastChunkIds.push(id);
        if (chunk === openChunk) {
          open.push({ view, key: cell.key, bucket: cell.bucket, chunk, id, state: cell.state });
          continue;
        }
        copy.line(`${prefix}${copyField(cell.key)}\t${cell.bucket}${suffix}${copyJson(inner.encodeText(cell.state.state))}\t${cell.state.events}\n`);
      }
    }
  }
  return { from: delta.from, openChunk, copyText: copy.pieces(), copyRows: copy.rows, events: delta.events, open, lastChunkIds };
}

/**
 * COPY text built line by line straight into buffers of a bounded size: the text of a batch
 * waits for its transaction outside the JavaScript heap, so the garbage collector never
 * copies it.
 */
export class CopyTextBuilder {
  rows = 0;
  private readonly full: Buffer[] = [];
  private buffer: Buffer | undefined;
  private used = 0;
  private readonly prefixes = new Map<CountedView, string>();

  /** `view<TAB>transform_version<TAB>`, escaped once per view. */
  prefixOf(view: CountedView): string {
    let prefix = this.prefixes.get(view);
    if (prefix === undefined) {
      prefix = `${copyField(view.name)}\t${copyField(view.transformVersion)}\t`;
      this.prefixes.set(view, prefix);
    }
    return prefix;
  }

  row(view: CountedView, key: string, bucket: number, partition: number, chunk: number, state: string, events: number): void {
    this.line(`${this.prefixOf(view)}${copyField(key)}\t${bucket}\t${partition}\t${chunk}\t${copyJson(state)}\t${events}\n`);
  }

  line(line: string): void {
    const most = line.length * 3; // UTF-8 bytes of a UTF-16 code unit, at most
    if (this.buffer === undefined || this.used + most > this.buffer.length) {
      if (this.buffer !== undefined && this.used > 0) this.full.push(this.buffer.subarray(0, this.used));
      this.buffer = Buffer.allocUnsafe(Math.max(COPY_BYTES_PER_PIECE, most));
      this.used = 0;
    }
    this.used += this.buffer.write(line, this.used);
    this.rows++;
  }

  pieces(): Buffer[] {
    return this.buffer === undefined || this.used === 0 ? this.full : [...this.full, this.buffer.subarray(0, this.used)];
  }
}

// COPY's text format: tab-separated columns, backslash escapes (PostgreSQL docs, COPY, "Text Format").
const NEEDS_ESCAPE = /[\\\t\n\r]/;
export const copyField = (text: string): string =>
  NEEDS_ESCAPE.test(text) ? text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : text;

/** JSON.stringify never emits a raw tab, newline or carriage return: only backslashes need escaping. */
const copyJson = (json: string): string => (json.includes('\\') ? json.replace(/\\/g, '\\\\') : json);
