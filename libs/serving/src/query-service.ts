import { type AnyView, bucketOf, canRollUp, catalog, type Granularity, granularityMs, type Json, retiredViews, viewAtVersion } from '@tandem/transforms';
import type { Cut } from '@tandem/platform';
import type { Pool } from 'pg';
import { aggregateField, NUMERIC_KINDS } from './merge/aggregate-field';
import type { BatchPointer } from './merge/batch-pointer';
import { batchProvenance, type LayerCounts, type LayerHead, provenanceOf, servedTransformVersion, speedProvenance } from './merge/provenance';
import { isSettled, settledChunks, type SettledChunks } from './merge/settled-chunks';
import { checkSpeedRows, decodeStored, type FoldResult, StateFold } from './merge/state-fold';
import { keyDimensions, resolveKey, type ResolvedKey } from './merge/view-key';
import { InvalidQueryError, TransformVersionUnavailableError, UnknownKeyError, UnknownViewError } from './query/query-errors';
import type {
  PresentedValues,
  TimeSeriesAnswer,
  TimeSeriesQuery,
  TopNAnswer,
  TopNEntry,
  TopNQuery,
  ValueAnswer,
  ValueQuery,
  ViewInfo,
  ViewList,
} from './query/query-model';
import { checkRange } from './query/query-params';
import { BatchPartCache, type CacheStats } from './store/batch-part-cache';
import { type RealtimeCell, type SnapshotReader, ServingStore } from './store/serving-store';

export interface QueryServiceOptions {
  /** PostgreSQL pool (the platform's `openDatabase().pool`), search_path set to Tandem's schema. */
  readonly pool: Pool;
  /** Views served; the platform catalog by default. */
  readonly views?: readonly AnyView[];
  /**
   * Earlier definitions of those views (the catalog's `retiredViews` by default): while the
   * current batch version of a view was computed by one of them, answers are read and
   * presented with it. Each keeps its view's stream, dimensions and granularity.
   */
  readonly retiredViews?: readonly AnyView[];
  /** Offsets per chunk, as agreed by the deployment (`agreeOnSetting`). */
  readonly chunkSize: number;
  /** Consumer group of the speed layer whose progress is reported. Default `tandem-speed`. */
  readonly speedConsumer?: string;
  /** Prefix of every topic name in the deployment (TANDEM_TOPIC_PREFIX); default none. */
  readonly topicPrefix?: string;
  /** Decoded batch parts cached; 0 disables. Default 2,000. */
  readonly batchCacheEntries?: number;
  /** Stored rows held by the cache across parts. Default 1,000,000. */
  readonly batchCacheRows?: number;
  /**
   * Realtime rows of closed chunks (ones the speed layer has moved past, which never change
   * again) kept for later queries, decoded row by row and folded per query shape (each bound
   * to this many rows); 0 disables both. Default 200,000.
   */
  readonly closedChunkCacheRows?: number;
  /** Longest a query may take in PostgreSQL. Default 10 s. */
  readonly statementTimeoutMs?: number;
  /** Most points of a time series. Default 10,000. */
  readonly maxSeriesPoints?: number;
  /** Largest n of a top-N. Default 1,000. */
  readonly maxTopN?: number;
  /** Clock for freshness; epoch ms. */
  readonly now?: () => number;
}

/**
 * The serving layer's queries (DESIGN.md section 7): every answer is the current batch
 * version merged with the realtime rows at or above its cut, read in one snapshot, merged
 * with the views' own aggregators and presented only here, at the edge. REST, gRPC and the
 * quickstart all call this one service, so they give the same answers.
 */
export class QueryService {
  readonly views: readonly AnyView[];
  private readonly retired: readonly AnyView[];
  private readonly byName: ReadonlyMap<string, AnyView>;
  private readonly store: ServingStore;
  private readonly cache: BatchPartCache<FoldResult<string | number>>;
  private readonly closedChunks: BatchPartCache<unknown>;
  private readonly settledParts: BatchPartCache<FoldResult<string | number>>;
  private readonly chunkSize: number;
  private readonly maxSeriesPoints: number;
  readonly maxTopN: number;
  private readonly now: () => number;

  constructor(options: QueryServiceOptions) {
    if (!Number.isSafeInteger(options.chunkSize) || options.chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer, got ${options.chunkSize}`);
    this.views = options.views ?? catalog;
    this.byName = new Map(this.views.map((v) => [v.name, v]));
    this.retired = options.retiredViews ?? retiredViews;
    for (const old of this.retired) checkRetired(old, this.byName.get(old.name));
    this.chunkSize = options.chunkSize;
    this.store = new ServingStore({
      pool: options.pool,
      speedConsumer: options.speedConsumer ?? 'tandem-speed',
      chunkSize: options.chunkSize,
      statementTimeoutMs: options.statementTimeoutMs ?? 10_000,
      topicPrefix: options.topicPrefix ?? '',
    });
    this.cache = new BatchPartCache({ maxEntries: options.batchCacheEntries ?? 2_000, maxWeight: options.batchCacheRows ?? 1_000_000 });
    this.closedChunks = new BatchPartCache({ maxEntries: options.closedChunkCacheRows ?? 200_000, maxWeight: options.closedChunkCacheRows ?? 200_000 });
    this.settledParts = new BatchPartCache({ maxEntries: Math.min(2_000, options.closedChunkCacheRows ?? 200_000), maxWeight: options.closedChunkCacheRows ?? 200_000 });
    this.maxSeriesPoints = options.maxSeriesPoints ?? 10_000;
    this.maxTopN = options.maxTopN ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /** Every view with its current batch version and freshness. */
  async listViews(): Promise<ViewList> {
    const heads = await this.store.heads(this.views);
    return { views: this.views.map((v) => viewInfo(v, heads.get(v.name)!, this.store.topicOf(v), this.now())) };
  }

  /** One view's description; 404 when unknown. */
  async describeView(name: string): Promise<ViewInfo> {
    const view = this.viewOf(name);
    const heads = await this.store.heads([view]);
    return viewInfo(view, heads.get(view.name)!, this.store.topicOf(view), this.now());
  }

  /**
   * A key's series over the buckets whose start lies in [from, to) at the answer's
   * granularity (the view's own, or a coarser one: fine buckets are merged into it).
   * Buckets without events are left out.
   */
  async timeSeries(query: TimeSeriesQuery): Promise<TimeSeriesAnswer> {
    const view = this.viewOf(query.view);
    const key = resolveKey(view, query.key);
    checkRange(query.from, query.to);
    const granularity = query.granularity ?? view.granularity;
    if (!canRollUp(view.granularity, granularity)) {
      throw new InvalidQueryError('granularity', `${granularity} is finer than the view's ${view.granularity}; a series can only be rolled up`);
    }
    const [lo, hi] = alignedRange(query.from, query.to, granularity);
    const points = (hi - lo) / granularityMs(granularity);
    if (points > this.maxSeriesPoints) {
      throw new InvalidQueryError('to', `the range spans ${points} ${granularity} buckets, more than ${this.maxSeriesPoints}; narrow it or roll up to a coarser granularity`);
    }
    const { head, served, fold, batch, counts } = await this.foldKey(view, key, lo, hi, (bucket) => bucketOf(bucket, granularity), `series:${granularity}`, query.aggregates);
    const names = this.aggregateNames(served, query.aggregates);
    const present = served.aggregator.present;
    const layersOf = (bucket: number) => {
      const fromBatch = batch.cellEvents?.get(bucket) ?? 0;
      return { batch: fromBatch, speed: (fold.cellEvents.get(bucket) ?? 0) - fromBatch };
    };
    const series = [...fold.states]
      .sort(([a], [b]) => a - b)
      .map(([bucketStart, state]) => ({ bucketStart, values: pick(present(state) as PresentedValues, names), ...(query.layers ? { layers: layersOf(bucketStart) } : {}) }));
    return {
      view: view.name,
      key: key.dimensions,
      granularity,
      from: query.from,
      to: query.to,
      points: series,
      provenance: provenanceOf(head, counts, this.now()),
    };
  }

  /** One merged value per aggregate for a key over the view's buckets starting in [from, to). */
  async value(query: ValueQuery): Promise<ValueAnswer> {
    const view = this.viewOf(query.view);
    const key = resolveKey(view, query.key);
    checkRange(query.from, query.to);
    const [lo, hi] = alignedRange(query.from, query.to, view.granularity);
    const { head, served, fold, counts } = await this.foldKey(view, key, lo, hi, () => 0, 'value', query.aggregates);
    const names = this.aggregateNames(served, query.aggregates);
    const state = fold.states.get(0)!;
    return {
      view: view.name,
      key: key.dimensions,
      from: query.from,
      to: query.to,
      values: pick(served.aggregator.present(state) as PresentedValues, names),
      provenance: provenanceOf(head, counts, this.now()),
    };
  }

  /** The n keys ranked by one numeric aggregate over the view's buckets starting in [from, to). */
  async topN(query: TopNQuery): Promise<TopNAnswer> {
    const view = this.viewOf(query.view);
    // Asked of the code's definition first, so a bad parameter costs no database read; the
    // definition that computed the current batch version is asked again once it is known.
    rankedField(view, query.aggregate);
    checkRange(query.from, query.to);
    if (!Number.isInteger(query.n) || query.n < 1 || query.n > this.maxTopN) throw new InvalidQueryError('n', `${query.n} is not a whole number between 1 and ${this.maxTopN}`);
    const order = query.order ?? 'desc';
    if (order !== 'desc' && order !== 'asc') throw new InvalidQueryError('order', `${String(order)} is not one of desc, asc`);
    const [lo, hi] = alignedRange(query.from, query.to, view.granularity);

    const { head, served, field, realtime, settled, batch } = await this.store.snapshot(async (reader) => {
      const head = await reader.head(view);
      const served = this.definitionFor(view, head);
      const field = rankedField(served, query.aggregate);
      const shape = `top:${field.name}`;
      const settled = this.settledPart<string>(head, shape, lo, hi);
      const realtime = await reader.realtimeOfRange(head, field.name, lo, hi, settled.readFrom);
      const batch = head.pointer === null ? EMPTY : await this.batchPart(head.pointer, shape, lo, hi, async () => {
        const fold = new StateFold<string>(field.zero, field.plusInto);
        const from = { view: view.name, source: `table ${head.pointer!.tableName}` };
        for (const cell of await reader.batchOfRange(head.pointer!, field.name, lo, hi)) {
          fold.add(cell.key, decodeStored(field.decode, cell.state, cell, from, view.granularity));
          fold.rows++;
          fold.events += cell.events;
        }
        return fold;
      });
      return { head, served, field, realtime, settled, batch };
    });
    const shape = `top:${field.name}`;
    checkSpeedRows(head, realtime, this.chunkSize);
    const fold = new StateFold<string>(field.zero, field.plusInto);
    fold.addAll(batch as FoldResult<string>);
    const decodeRealtime = this.realtimeDecoder(served, head, shape, field.decode, SKETCH_KINDS.has(field.kind));
    // Top-N folds pass no event counts per cell: nothing asks for them.
    this.addRealtime(fold, realtime, settled, (cell) => cell.key, decodeRealtime, false);
    const ranked: { key: string; value: number | null }[] = [];
    for (const [key, state] of fold.states) ranked.push({ key, value: field.present(state) as number | null });
    ranked.sort(rankBy(order));
    const entries: TopNEntry[] = ranked.slice(0, query.n).map((r) => ({ key: keyDimensions(served, r.key), value: r.value }));
    return {
      view: view.name,
      aggregate: field.name,
      order,
      from: query.from,
      to: query.to,
      entries,
      provenance: provenanceOf(head, countsOf(batch, fold), this.now()),
    };
  }

  /** Whether PostgreSQL answers. */
  ping(): Promise<void> {
    return this.store.ping();
  }

  /** The batch part cache. */
  cacheStats(): CacheStats {
    return this.cache.stats();
  }

  /** The cache of decoded realtime rows of closed chunks. */
  closedChunkStats(): CacheStats {
    return this.closedChunks.stats();
  }

  /** The cache of folded realtime rows of closed chunks, per query shape. */
  settledPartStats(): CacheStats {
    return this.settledParts.stats();
  }

  private viewOf(name: string): AnyView {
    const view = typeof name === 'string' ? this.byName.get(name) : undefined;
    if (view === undefined) throw new UnknownViewError(String(name), [...this.byName.keys()]);
    return view;
  }

  private aggregateNames(view: AnyView, asked: readonly string[] | undefined): readonly string[] {
    const all = view.aggregates.map((a) => a.name);
    if (asked === undefined || asked.length === 0) return all;
    const unknown = asked.filter((a) => !all.includes(a));
    if (unknown.length > 0) {
      throw new InvalidQueryError('aggregates', `view ${view.name} has no aggregate ${unknown.map((u) => JSON.stringify(u).slice(0, 60)).join(', ')}; it has ${all.join(', ')}`);
    }
    return [...new Set(asked)];
  }

  /** Reads one key's rows in one snapshot and folds them into cells named by `cellOf(bucket)`. */
  private async foldKey(
    view: AnyView,
    key: ResolvedKey,
    lo: number,
    hi: number,
    cellOf: (bucket: number) => number,
    shape: string,
    aggregates: readonly string[] | undefined,
  ): Promise<{ head: LayerHead; served: AnyView; fold: StateFold<number>; batch: FoldResult<number>; counts: Counts }> {
    // Asked of the code's definition first, so a bad parameter costs no database read.
    this.aggregateNames(view, aggregates);
    const { head, served, realtime, settled, batch } = await this.store.snapshot(async (reader) => {
      const head = await reader.head(view);
      const served = this.definitionFor(view, head);
      const settled = this.settledPart<number>(head, `${shape}:${key.encoded}`, lo, hi);
      const realtime = await reader.realtimeOfKey(head, key.encoded, lo, hi, settled.readFrom);
      const batch = head.pointer === null ? EMPTY : await this.batchPart(head.pointer, `${shape}:${key.encoded}`, lo, hi, () => this.readBatchOfKey(reader, served, head.pointer!, key.encoded, lo, hi, cellOf));
      return { head, served, realtime, settled, batch };
    });
    checkSpeedRows(head, realtime, this.chunkSize);
    const agg = served.aggregator;
    const fold = new StateFold<number>(agg.zero, agg.plusInto);
    fold.addAll(batch as FoldResult<number>);
    const decodeRealtime = this.realtimeDecoder(served, head, 'record', agg.decode, served.aggregates.some((a) => SKETCH_KINDS.has(a.kind)));
    this.addRealtime(fold, realtime, settled, (cell) => cellOf(cell.bucket), decodeRealtime, true);
    if (fold.rows === 0) throw new UnknownKeyError(view.name, key.encoded, lo, hi);
    return { head, served, fold, batch: batch as FoldResult<number>, counts: countsOf(batch, fold) };
  }

  /**
   * The definition whose states a snapshot holds: the code's, or, while the current batch
   * version was computed by an earlier definition, that one (DESIGN.md section 6: the old
   * version answers, whole, until the new one is current). One the service does not know is
   * refused: reading states with another version's aggregators would answer wrongly.
   */
  private definitionFor(view: AnyView, head: LayerHead): AnyView {
    const version = servedTransformVersion(head);
    if (version === view.transformVersion) return view;
    const definition = viewAtVersion(view.name, version, this.views, this.retired);
    if (definition === undefined) throw new TransformVersionUnavailableError(view.name, version, view.transformVersion);
    return definition;
  }

  private async readBatchOfKey(reader: SnapshotReader, view: AnyView, pointer: BatchPointer, key: string, lo: number, hi: number, cellOf: (bucket: number) => number): Promise<StateFold<number>> {
    const agg = view.aggregator;
    const fold = new StateFold<number>(agg.zero, agg.plusInto);
    const from = { view: view.name, source: `table ${pointer.tableName}` };
    for (const cell of await reader.batchOfKey(pointer, key, lo, hi)) {
      fold.add(cellOf(cell.bucket), decodeStored(agg.decode, cell.state, cell, from, view.granularity), cell.events);
      fold.rows++;
      fold.events += cell.events;
    }
    return fold;
  }

  /**
   * The realtime rows of closed chunks a query would read (settled-chunks.ts), and their fold
   * when an earlier query of the same shape left it in the cache: then only the rows of the
   * chunks still open are read (`readFrom`), and the fold stands in for the rest.
   */
  private settledPart<K>(head: LayerHead, shape: string, lo: number, hi: number): SettledPart<K> {
    const chunks = this.settledParts.enabled ? settledChunks(head, this.chunkSize) : undefined;
    if (chunks === undefined) return NOTHING_SETTLED;
    const cacheKey = `${shape}\u0000${head.view}\u0000${servedTransformVersion(head)}\u0000${lo}\u0000${hi}\u0000${chunks.id}`;
    const fold = this.settledParts.get(cacheKey) as FoldResult<K> | undefined;
    return { chunks, cacheKey, fold, readFrom: fold === undefined ? undefined : chunks.openFrom };
  }

  /**
   * Folds the realtime rows read into `fold`, with the settled part standing in for the rows
   * of closed chunks when it was cached; otherwise those rows are folded apart first and their
   * fold is cached for the next query of the same shape.
   */
  private addRealtime<K>(
    fold: StateFold<K>,
    rows: readonly RealtimeCell[],
    settled: SettledPart<K>,
    cellOf: (cell: RealtimeCell) => K,
    decode: (cell: RealtimeCell) => unknown,
    perCellEvents: boolean,
  ): void {
    if (settled.fold !== undefined) fold.addAll(settled.fold);
    const apart = settled.chunks !== undefined && settled.fold === undefined ? fold.empty() : undefined;
    for (const cell of rows) {
      const into = apart !== undefined && isSettled(settled.chunks!, cell.partition, cell.chunk, this.chunkSize) ? apart : fold;
      into.add(cellOf(cell), decode(cell), perCellEvents ? cell.events : 0);
      into.rows++;
      into.events += cell.events;
    }
    if (apart !== undefined) {
      this.settledParts.set(settled.cacheKey, apart as FoldResult<string | number>, Math.max(1, apart.rows));
      fold.addAll(apart);
    }
  }

  /**
   * Decodes realtime rows, remembering those of closed chunks. The speed layer writes a row
   * and its offsets in one transaction, so once its recorded next offset has passed the end
   * of a chunk, no row of that chunk changes again (until the batch cut retires it and it is
   * no longer read); decoding it once is enough.
   */
  private realtimeDecoder(view: AnyView, head: LayerHead, shape: string, decode: (json: Json) => unknown, worthCaching: boolean): (cell: RealtimeCell) => unknown {
    const from = { view: view.name, source: 'tandem_realtime' };
    // A number decodes faster than a cache key is built; only sketches are worth remembering.
    if (!worthCaching || !this.closedChunks.enabled) return (cell) => decodeStored(decode, cell.state, cell, from, view.granularity);
    const next = new Map(head.speedOffsets.map((o) => [o.partition, o.nextOffset]));
    const prefix = `${shape}\u0000${view.name}\u0000${servedTransformVersion(head)}\u0000`;
    return (cell) => {
      const at = next.get(cell.partition);
      const closed = at !== undefined && (cell.chunk + 1) * this.chunkSize <= at;
      const id = closed ? `${prefix}${cell.partition}\u0000${cell.chunk}\u0000${cell.bucket}\u0000${cell.key}` : '';
      if (closed) {
        const known = this.closedChunks.get(id);
        if (known !== undefined) return known;
      }
      const state = decodeStored(decode, cell.state, cell, from, view.granularity);
      // Cached states are only ever added into a fold's own accumulators, never mutated.
      if (closed) this.closedChunks.set(id, state, 1);
      return state;
    };
  }

  /** A decoded batch part, from the cache when this batch version's part was read before. */
  private async batchPart<K>(pointer: BatchPointer, shape: string, lo: number, hi: number, read: () => Promise<FoldResult<K>>): Promise<FoldResult<K>> {
    const cacheKey = `${pointer.view}\u0000${pointer.tableName}\u0000${pointer.batchVersion}\u0000${pointer.runId}\u0000${pointer.flippedAt}\u0000${lo}\u0000${hi}\u0000${shape}`;
    const cached = this.cache.get(cacheKey) as FoldResult<K> | undefined;
    if (cached !== undefined) return cached;
    const part = await read();
    this.cache.set(cacheKey, part as FoldResult<string | number>, Math.max(1, part.rows));
    return part;
  }

}

type Counts = LayerCounts;

/** Aggregate kinds whose states are sketches: costly to decode, so worth caching decoded. */
const SKETCH_KINDS: ReadonlySet<string> = new Set(['distinct', 'quantile', 'quantiles', 'topK']);

const EMPTY: FoldResult<never> = { states: new Map<never, unknown>(), rows: 0, events: 0 };

/** The closed chunks of a query's snapshot and, when cached, their fold. */
interface SettledPart<K> {
  readonly chunks: SettledChunks | undefined;
  readonly cacheKey: string;
  readonly fold: FoldResult<K> | undefined;
  /** Per partition, where the realtime rows to read start; undefined for the cut. */
  readonly readFrom: Cut | undefined;
}

const NOTHING_SETTLED: SettledPart<never> = { chunks: undefined, cacheKey: '', fold: undefined, readFrom: undefined };

/** Counts of the batch part and of the whole fold: the rest came from the speed layer. */
function countsOf(batch: FoldResult<unknown>, all: StateFold<unknown>): Counts {
  return { batchRows: batch.rows, batchEvents: batch.events, speedRows: all.rows - batch.rows, speedEvents: all.events - batch.events };
}

/**
 * The range of stored buckets behind answer buckets starting in [from, to): answer bucket
 * starts are multiples of the answer's granularity, so both ends round up to one.
 */
export function alignedRange(from: number, to: number, granularity: Granularity): [number, number] {
  const up = (t: number) => {
    const start = bucketOf(t, granularity);
    return start === t ? t : start + granularityMs(granularity);
  };
  return [up(from), up(to)];
}

function pick(values: PresentedValues, names: readonly string[]): PresentedValues {
  const out: Record<string, PresentedValues[string]> = {};
  for (const n of names) out[n] = values[n] ?? null;
  return out;
}

/** Largest (or smallest) first; keys without a value last; ties by key, so answers are stable. */
export function rankBy(order: 'asc' | 'desc'): (a: { key: string; value: number | null }, b: { key: string; value: number | null }) => number {
  const sign = order === 'desc' ? -1 : 1;
  return (a, b) => {
    if (a.value !== b.value) {
      if (a.value === null) return 1;
      if (b.value === null) return -1;
      return sign * (a.value - b.value);
    }
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  };
}

/** The aggregate a top-N ranks by, checked to exist and to present a number. */
function rankedField(view: AnyView, name: string) {
  const field = aggregateField(view, name);
  if (field === undefined) {
    throw new InvalidQueryError('aggregate', `view ${view.name} (${view.transformVersion}) has no aggregate ${JSON.stringify(name).slice(0, 80)}; it has ${view.aggregates.map((a) => a.name).join(', ')}`);
  }
  if (!field.numeric) {
    const numeric = view.aggregates.filter((a) => NUMERIC_KINDS.has(a.kind)).map((a) => a.name);
    throw new InvalidQueryError('aggregate', `${field.name} (${field.kind}) does not present a number, so it cannot rank keys; numeric aggregates: ${numeric.join(', ')}`);
  }
  return field;
}

/** A retired definition may change what a view aggregates, not what its cells are. */
function checkRetired(old: AnyView, current: AnyView | undefined): void {
  if (current === undefined) return;
  const same = (a: AnyView) => JSON.stringify([a.stream.name, a.stream.version, a.dimensions, a.granularity]);
  if (same(old) !== same(current)) {
    throw new RangeError(
      `retired definition ${old.transformVersion} of view ${old.name} has another stream, key or granularity than ${current.transformVersion}; ` +
        'a view whose cells change is a new view (a new name)',
    );
  }
}

function viewInfo(view: AnyView, head: LayerHead, topic: string, now: number): ViewInfo {
  return {
    name: view.name,
    description: view.description,
    stream: view.stream.name,
    topic,
    transformVersion: view.transformVersion,
    granularity: view.granularity,
    dimensions: view.dimensions,
    aggregates: view.aggregates.map((a) => ({ name: a.name, kind: a.kind, params: a.params, numeric: NUMERIC_KINDS.has(a.kind) })),
    batch: batchProvenance(head.pointer),
    freshnessMs: speedProvenance(head, now).freshnessMs,
  };
}
