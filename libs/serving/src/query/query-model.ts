import type { Granularity } from '@tandem/transforms';

/**
 * The queries the serving layer answers and the answers it gives, independent of transport:
 * REST returns these objects as JSON, gRPC maps them field by field onto query.proto.
 *
 * Times are epoch milliseconds, UTC; ranges are half-open `[from, to)`. A bucket belongs to
 * a range when its start lies in it, at the granularity of the answer.
 */

/** A key as a caller may give it: the encoded key, its dimension values in order, or by dimension name. */
export type KeyInput = string | readonly string[] | Readonly<Record<string, string>>;

export interface TimeSeriesQuery {
  readonly view: string;
  readonly key: KeyInput;
  readonly from: number;
  readonly to: number;
  /** The view's own granularity when absent; a coarser one rolls buckets up. */
  readonly granularity?: Granularity;
  /** Aggregates to return; all when absent or empty. */
  readonly aggregates?: readonly string[];
  /** Also report, per point, how many events each layer contributed. */
  readonly layers?: boolean;
}

export interface ValueQuery {
  readonly view: string;
  readonly key: KeyInput;
  readonly from: number;
  readonly to: number;
  readonly aggregates?: readonly string[];
}

export type RankOrder = 'desc' | 'asc';

export interface TopNQuery {
  readonly view: string;
  /** A numeric aggregate of the view to rank keys by. */
  readonly aggregate: string;
  readonly from: number;
  readonly to: number;
  readonly n: number;
  /** `desc` (largest first) by default. */
  readonly order?: RankOrder;
}

/** A presented aggregate value: a number, `null` (no value, e.g. the mean of nothing) or a structure. */
export type PresentedValue = number | null | { readonly [key: string]: unknown } | readonly unknown[];

export type PresentedValues = Readonly<Record<string, PresentedValue>>;

export interface PartitionOffset {
  readonly partition: number;
  readonly offset: number;
}

/** The batch version an answer was read from. */
export interface BatchProvenance {
  readonly version: number;
  readonly runId: string;
  /** When the version became current, ISO-8601. */
  readonly flippedAt: string;
  readonly topic: string;
  /** Per partition, the first offset NOT covered by the batch version. */
  readonly cut: readonly PartitionOffset[];
}

export interface SpeedProvenance {
  /** Consumer group of the speed layer whose progress is reported. */
  readonly consumer: string;
  readonly topic: string;
  /** Per partition, the next offset the speed layer will consume. */
  readonly offsets: readonly PartitionOffset[];
  /** Now minus the log time of the newest record the speed layer has consumed; null when unknown. */
  readonly freshnessMs: number | null;
}

/**
 * Where an answer came from: batch(g) merged with the realtime rows at or past its cut,
 * read in one snapshot (DESIGN.md section 4).
 */
export interface Provenance {
  /** Transform version of every row merged into the answer. */
  readonly transformVersion: string;
  /** Transform version of the view as this service defines it; differs only during a rollout. */
  readonly codeTransformVersion: string;
  readonly batch: BatchProvenance | null;
  readonly speed: SpeedProvenance;
  /** Stored rows merged, per layer. */
  readonly rows: { readonly batch: number; readonly speed: number };
  /** Events those rows summarise, per layer. */
  readonly events: { readonly batch: number; readonly speed: number };
  /** Facts a reader should know, e.g. a batch cut ahead of the speed layer. */
  readonly notes: readonly string[];
}

export interface SeriesPoint {
  /** Bucket start, epoch ms. */
  readonly bucketStart: number;
  readonly values: PresentedValues;
  /** Events of this point from each layer (when asked for with `layers`). */
  readonly layers?: { readonly batch: number; readonly speed: number };
}

export interface TimeSeriesAnswer {
  readonly view: string;
  readonly key: Readonly<Record<string, string>>;
  readonly granularity: Granularity;
  readonly from: number;
  readonly to: number;
  /** Buckets holding at least one event, in time order. */
  readonly points: readonly SeriesPoint[];
  readonly provenance: Provenance;
}

export interface ValueAnswer {
  readonly view: string;
  readonly key: Readonly<Record<string, string>>;
  readonly from: number;
  readonly to: number;
  readonly values: PresentedValues;
  readonly provenance: Provenance;
}

export interface TopNEntry {
  readonly key: Readonly<Record<string, string>>;
  readonly value: number | null;
}

export interface TopNAnswer {
  readonly view: string;
  readonly aggregate: string;
  readonly order: RankOrder;
  readonly from: number;
  readonly to: number;
  readonly entries: readonly TopNEntry[];
  readonly provenance: Provenance;
}

export interface AggregateInfo {
  readonly name: string;
  readonly kind: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** Whether it presents a number, i.e. can rank a top-N. */
  readonly numeric: boolean;
}

export interface ViewInfo {
  readonly name: string;
  readonly description: string;
  readonly stream: string;
  readonly topic: string;
  readonly transformVersion: string;
  readonly granularity: Granularity;
  readonly dimensions: readonly string[];
  readonly aggregates: readonly AggregateInfo[];
  /** The current batch version, or null before the first batch run. */
  readonly batch: BatchProvenance | null;
  readonly freshnessMs: number | null;
}

export interface ViewList {
  readonly views: readonly ViewInfo[];
}
