import { type Aggregator, cellId, JsonWriter } from '@tandem/transforms';
import { blocksOfCells, type CopyBlock, copyJsonLine, parseCopyLine } from './batch-view-table';
import type { CountedState } from './counted-view';

/**
 * Merges the cells of a view from several sources (scan threads, the previous batch version)
 * with the aggregator's `plus`.
 *
 * A scan thread's cells arrive whole, as one source: decoded (an accumulator of this thread)
 * or already written as the table's COPY lines (by a worker, `CellLinesWriter`). Only the
 * cells of buckets that more than one source holds can meet another source's cell; those are
 * merged one by one (decoded first). Every other cell goes to the table as it came: a
 * worker's lines go to COPY as bytes, without a lookup, a decode or a re-encode in this
 * thread. A scan that hands each thread a contiguous stretch of the log leaves few shared
 * buckets: those around the stretches' ends (and any late events).
 *
 * Cells can also be added one at a time (`addEncoded`, `addState`), as an incremental run
 * merges the previous version's states with the new ones.
 */
export interface MergedCell {
  readonly key: string;
  readonly bucket: number;
  /** JSON text of the encoded state. */
  readonly state: string;
  readonly events: number;
}

/**
 * The cells of one source as the table's COPY lines, in UTF-8, the cells of a bucket next to
 * each other: what crosses from a worker thread (the buffers move, they are not copied).
 * The text is in chunks of whole lines.
 */
export interface CellLines {
  readonly chunks: Uint8Array[];
  /** Per chunk, the index of the cell after its last line. */
  readonly chunkEnds: Uint32Array;
  /** Per cell, where its line ends in its chunk. */
  readonly lineEnds: Uint32Array;
  /** Per cell, the events folded into it. */
  readonly events: Float64Array;
  /** Runs of cells of one bucket: the bucket, and the index of the cell after the run. */
  readonly runBuckets: Float64Array;
  readonly runEnds: Uint32Array;
}

const CHUNK_BYTES = 1 << 20;
/** A guess at a line's size where none has been written yet. */
const ESTIMATED_LINE_BYTES = 200;
/** Characters of lines written to a chunk at a time. */
const PENDING_CHARS = 1 << 15;
const BACKSLASH = 0x5c;
/** Lines `addState` writes; its own, since an aggregator's `encodeText` uses the shared one. */
const lineWriter = new JsonWriter();

/** A key COPY takes as it is, in ASCII: no backslash, tab, newline, carriage return or other control or non-ASCII character. */
function plainKey(key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === BACKSLASH) return false;
  }
  return true;
}

/**
 * Writes cells as `CellLines`, their states as `JSON.stringify` writes them. Cells of a bucket
 * should come together (they make one run).
 */
export class CellLinesWriter {
  private readonly chunks: Uint8Array[] = [];
  private readonly chunkEnds: number[] = [];
  private chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  private used = 0;
  private pending: string[] = [];
  private pendingChars = 0;
  private readonly lineEnds: number[] = [];
  private readonly events: number[] = [];
  private readonly runBuckets: number[] = [];
  private readonly runEnds: number[] = [];

  add(key: string, bucket: number, json: string, events: number): void {
    const line = copyJsonLine(key, bucket, json, events);
    this.pending.push(line);
    this.pendingChars += line.length;
    this.count(bucket, events);
    if (this.pendingChars >= PENDING_CHARS) this.flush();
  }

  /**
   * Adds a cell given by its state, whose line is written straight into the chunk: key, bucket
   * and events as ASCII, the state by the aggregator's `writeJson`, with no string in between.
   * A line that needs more than that (a key with characters COPY escapes or outside ASCII, a
   * state whose JSON has a backslash or other characters) goes through `add`.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  addState<S>(key: string, bucket: number, aggregator: Aggregator<any, S, unknown>, state: S, events: number): void {
    const w = lineWriter;
    if (!plainKey(key) || !w.start()) return this.add(key, bucket, aggregator.encodeText(state), events);
    let bytes: Uint8Array | undefined;
    try {
      w.raw(key);
      w.raw('\t');
      w.number(bucket);
      w.raw('\t');
      const from = w.position;
      if (aggregator.writeJson(state, w)) {
        const to = w.position;
        w.raw('\t');
        w.number(events);
        w.raw('\n');
        bytes = w.written();
        if (bytes !== undefined && bytes.subarray(from, to).includes(BACKSLASH)) bytes = undefined;
      }
      if (bytes === undefined) return this.add(key, bucket, aggregator.encodeText(state), events);
      if (this.pending.length > 0) this.flush();
      if (this.used + bytes.length > this.chunk.length) {
        this.seal();
        this.chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, bytes.length));
      }
      this.chunk.set(bytes, this.used);
      this.used += bytes.length;
      this.lineEnds.push(this.used);
      this.count(bucket, events);
    } finally {
      w.finish();
    }
  }

  private count(bucket: number, events: number): void {
    this.events.push(events);
    const runs = this.runBuckets.length;
    if (runs === 0 || this.runBuckets[runs - 1] !== bucket) {
      this.runBuckets.push(bucket);
      this.runEnds.push(0);
    }
    this.runEnds[this.runEnds.length - 1] = this.events.length;
  }

  finish(): CellLines {
    this.flush();
    this.seal();
    return {
      chunks: this.chunks,
      chunkEnds: Uint32Array.from(this.chunkEnds),
      lineEnds: Uint32Array.from(this.lineEnds),
      events: Float64Array.from(this.events),
      runBuckets: Float64Array.from(this.runBuckets),
      runEnds: Uint32Array.from(this.runEnds),
    };
  }

  /** Writes the pending lines, several at once (one UTF-8 conversion for many short lines). */
  private flush(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    if (this.used + 3 * text.length <= this.chunk.length) {
      const start = this.used;
      const bytes = this.chunk.write(text, start);
      if (bytes === text.length) {
        // ASCII only: a line's bytes are its characters.
        let end = start;
        for (const line of this.pending) this.lineEnds.push((end += line.length));
      } else {
        let end = start;
        for (const line of this.pending) this.lineEnds.push((end += Buffer.byteLength(line)));
      }
      this.used += bytes;
    } else {
      for (const line of this.pending) this.writeLine(line);
    }
    this.pending = [];
    this.pendingChars = 0;
  }

  private writeLine(line: string): void {
    const size = Buffer.byteLength(line);
    if (this.used + size > this.chunk.length) {
      this.seal();
      this.chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, size));
    }
    this.used += this.chunk.write(line, this.used);
    this.lineEnds.push(this.used);
  }

  /** Closes the current chunk (buffers of their own, never Buffer's shared pool: they can be transferred). */
  private seal(): void {
    if (this.used === 0) return;
    this.chunks.push(new Uint8Array(this.chunk.buffer, this.chunk.byteOffset, this.used));
    this.chunkEnds.push(this.lineEnds.length);
    this.used = 0;
    this.chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  }
}

/** A decoded cell of a source (what `ViewAccumulator` over the counted view holds). */
export interface LiveCell<S> {
  readonly key: string;
  readonly bucket: number;
  readonly state: CountedState<S>;
}

export interface LiveCells<S> {
  cells(): Iterable<LiveCell<S>>;
}

interface Entry<S> {
  readonly key: string;
  readonly bucket: number;
  text: string | undefined;
  state: S | undefined;
  events: number;
}

type Source<S> = { readonly lines: CellLines } | { readonly live: LiveCells<S> };

export class CellMerger<S> {
  /** Cells merged one by one. */
  private readonly map = new Map<string, Entry<S>>();
  /** Whole sources. */
  private sources: Source<S>[] = [];
  /** Once the cells are read: buckets several sources hold (their cells are in `map`). */
  private shared: Set<number> | undefined;
  private fromSources = 0;
  private collisions = 0;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(private readonly agg: Aggregator<any, S, unknown>) {}

  /** Adds a whole source of cells written as COPY lines (none of which it holds twice). */
  addLines(lines: CellLines): void {
    this.addSource({ lines });
  }

  /** Adds a whole source of decoded cells; the merger takes ownership of their states. */
  addLiveCells(cells: LiveCells<S>): void {
    this.addSource({ live: cells });
  }

  /** Adds a cell given as encoded JSON text. */
  addEncoded(key: string, bucket: number, text: string, events: number): void {
    if (this.shared !== undefined) this.flatten();
    this.mergeIn(key, bucket, text, undefined, events);
  }

  /** Adds a decoded state; the merger takes ownership of it (it may be mutated). */
  addState(key: string, bucket: number, state: S, events: number): void {
    if (this.shared !== undefined) this.flatten();
    this.mergeIn(key, bucket, undefined, state, events);
  }

  has(key: string, bucket: number): boolean {
    this.flatten();
    return this.map.has(cellId(key, bucket));
  }

  get size(): number {
    this.resolve();
    return this.fromSources + this.map.size;
  }

  /**
   * About how many bytes of COPY text the cells make: exact for lines written by a worker,
   * estimated for cells still to be written here (from the lines' average when there are any).
   */
  get textBytes(): number {
    this.resolve();
    let bytes = 0;
    let written = 0;
    let unwritten = this.map.size;
    for (const source of this.sources) {
      if ('lines' in source) {
        for (const chunk of source.lines.chunks) bytes += chunk.length;
        written += source.lines.lineEnds.length;
      } else {
        for (const c of source.live.cells()) if (!this.shared?.has(c.bucket)) unwritten++;
      }
    }
    const perCell = written > 0 ? bytes / written : ESTIMATED_LINE_BYTES;
    return bytes + unwritten * perCell;
  }

  /** How many times a cell came from more than one source (a measure of shard overlap). */
  get merges(): number {
    this.resolve();
    return this.collisions;
  }

  *cells(): IterableIterator<MergedCell> {
    const shared = this.resolve();
    for (const source of this.sources) {
      if ('lines' in source) {
        for (const [from, to] of runsOutside(source.lines, shared)) yield* linesOf(source.lines, from, to);
      } else {
        for (const c of source.live.cells()) {
          if (!shared.has(c.bucket)) yield { key: c.key, bucket: c.bucket, state: this.encode(c.state.state), events: c.state.events };
        }
      }
    }
    yield* this.mapCells();
  }

  /** The cells as blocks of COPY lines: a worker's lines as they came, the rest written here. */
  *copyBlocks(): IterableIterator<CopyBlock> {
    const shared = this.resolve();
    for (const source of this.sources) {
      if ('lines' in source) {
        for (const [from, to] of runsOutside(source.lines, shared)) yield* lineBlocks(source.lines, from, to);
      } else {
        const live = source.live;
        const encode = (state: S) => this.encode(state);
        yield* blocksOfCells(
          (function* () {
            for (const c of live.cells()) if (!shared.has(c.bucket)) yield { key: c.key, bucket: c.bucket, state: encode(c.state.state), events: c.state.events };
          })(),
        );
      }
    }
    yield* blocksOfCells(this.mapCells());
  }

  private *mapCells(): IterableIterator<MergedCell> {
    for (const e of this.map.values()) yield { key: e.key, bucket: e.bucket, state: e.text ?? this.encode(e.state as S), events: e.events };
  }

  private addSource(source: Source<S>): void {
    if (this.shared !== undefined) {
      // A source added after the cells were read: merged cell by cell.
      this.flatten();
      this.sources.push(source);
      this.shared = undefined;
      this.flatten();
      return;
    }
    this.sources.push(source);
  }

  /**
   * Finds the buckets several sources hold (the one-by-one cells count as a source) and moves
   * their cells into the map, merging those that meet. Returns the shared buckets.
   */
  private resolve(): Set<number> {
    if (this.shared !== undefined) return this.shared;
    const shared = new Set<number>();
    if (this.sources.length + (this.map.size > 0 ? 1 : 0) > 1) {
      const holders = new Map<number, number>();
      const count = (buckets: Set<number>) => {
        for (const b of buckets) holders.set(b, (holders.get(b) ?? 0) + 1);
      };
      for (const source of this.sources) count(bucketsOf(source));
      if (this.map.size > 0) count(new Set([...this.map.values()].map((e) => e.bucket)));
      for (const [bucket, n] of holders) if (n > 1) shared.add(bucket);
    }
    this.shared = shared;
    let outside = 0;
    for (const source of this.sources) {
      if ('lines' in source) {
        const { runBuckets, runEnds } = source.lines;
        for (let r = 0; r < runBuckets.length; r++) {
          const from = r === 0 ? 0 : runEnds[r - 1];
          if (!shared.has(runBuckets[r])) {
            outside += runEnds[r] - from;
            continue;
          }
          for (const c of linesOf(source.lines, from, runEnds[r])) this.mergeIn(c.key, c.bucket, c.state, undefined, c.events);
        }
      } else {
        for (const c of source.live.cells()) {
          if (shared.has(c.bucket)) this.mergeIn(c.key, c.bucket, undefined, c.state.state, c.state.events);
          else outside++;
        }
      }
    }
    this.fromSources = outside;
    return shared;
  }

  /** Moves every cell of the sources into the map (for cells added after reading began). */
  private flatten(): void {
    const shared = this.resolve();
    for (const source of this.sources) {
      if ('lines' in source) {
        for (const [from, to] of runsOutside(source.lines, shared)) for (const c of linesOf(source.lines, from, to)) this.mergeIn(c.key, c.bucket, c.state, undefined, c.events);
      } else {
        for (const c of source.live.cells()) if (!shared.has(c.bucket)) this.mergeIn(c.key, c.bucket, undefined, c.state.state, c.state.events);
      }
    }
    this.sources = [];
    this.fromSources = 0;
    this.shared = new Set();
  }

  private mergeIn(key: string, bucket: number, text: string | undefined, state: S | undefined, events: number): void {
    const id = cellId(key, bucket);
    const entry = this.map.get(id);
    if (entry === undefined) {
      this.map.set(id, { key, bucket, text, state, events });
      return;
    }
    this.collisions++;
    if (entry.state === undefined) {
      entry.state = this.decode(entry.text as string);
      entry.text = undefined;
    }
    entry.state = this.agg.plusInto(entry.state, state ?? this.decode(text as string));
    entry.events += events;
  }

  private decode(text: string): S {
    return this.agg.decode(JSON.parse(text));
  }

  private encode(state: S): string {
    return this.agg.encodeText(state);
  }
}

function bucketsOf<S>(source: Source<S>): Set<number> {
  const out = new Set<number>();
  if ('lines' in source) {
    const runs = source.lines.runBuckets;
    for (let r = 0; r < runs.length; r++) out.add(runs[r]);
  } else {
    for (const c of source.live.cells()) out.add(c.bucket);
  }
  return out;
}

/** Cell ranges `[from, to)` of the runs whose bucket is not shared, adjacent runs joined. */
function* runsOutside(lines: CellLines, shared: Set<number>): Generator<[number, number]> {
  const { runBuckets, runEnds } = lines;
  let open = -1;
  for (let r = 0; r < runBuckets.length; r++) {
    const from = r === 0 ? 0 : runEnds[r - 1];
    if (shared.has(runBuckets[r])) {
      if (open >= 0) yield [open, from];
      open = -1;
    } else if (open < 0) {
      open = from;
    }
  }
  if (open >= 0) yield [open, runBuckets.length === 0 ? 0 : runEnds[runEnds.length - 1]];
}

const utf8 = new TextDecoder();

/** The chunk holding cell `cell`, and where its line starts. */
function lineAt(lines: CellLines, cell: number): { chunk: number; start: number } {
  let lo = 0;
  let hi = lines.chunkEnds.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (lines.chunkEnds[mid] > cell) hi = mid;
    else lo = mid + 1;
  }
  const first = lo === 0 ? 0 : lines.chunkEnds[lo - 1];
  return { chunk: lo, start: cell === first ? 0 : lines.lineEnds[cell - 1] };
}

/** The cells `[from, to)` of a source's lines as blocks of whole lines, one chunk's bytes each. */
function* lineBlocks(lines: CellLines, from: number, to: number): Generator<CopyBlock> {
  if (from >= to) return;
  let { chunk, start } = lineAt(lines, from);
  let first = from;
  while (first < to) {
    const last = Math.min(to, lines.chunkEnds[chunk]);
    let events = 0;
    for (let i = first; i < last; i++) events += lines.events[i];
    yield { text: lines.chunks[chunk].subarray(start, lines.lineEnds[last - 1]), rows: last - first, events };
    first = last;
    chunk++;
    start = 0;
  }
}

/** The cells `[from, to)` of a source's lines, read back. */
function* linesOf(lines: CellLines, from: number, to: number): Generator<MergedCell> {
  if (from >= to) return;
  let { chunk, start } = lineAt(lines, from);
  for (let i = from; i < to; i++) {
    if (i === lines.chunkEnds[chunk]) {
      chunk++;
      start = 0;
    }
    const end = lines.lineEnds[i];
    yield parseCopyLine(utf8.decode(lines.chunks[chunk].subarray(start, end)));
    start = end;
  }
}
