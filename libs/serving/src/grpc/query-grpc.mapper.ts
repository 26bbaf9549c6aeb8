import type { Granularity } from '@tandem/transforms';
import { InvalidQueryError } from '../query/query-errors';
import type { PresentedValue, PresentedValues, Provenance, TimeSeriesAnswer, TimeSeriesQuery, TopNAnswer, TopNQuery, ValueAnswer, ValueQuery, ViewList } from '../query/query-model';
import { parseInstant } from '../query/query-params';

/**
 * query.proto <-> the serving layer's queries and answers. Requests arrive as
 * @grpc/proto-loader decodes them with the shared loader options (int64 as decimal strings,
 * enums as names, defaults filled in); answers are built in the same shapes.
 */
export interface ProtoValue {
  readonly number?: number;
  readonly json?: string;
}

type ProtoValues = Record<string, ProtoValue>;

export interface TimeSeriesRequest {
  readonly view: string;
  readonly key: Record<string, string>;
  readonly from_ms: string;
  readonly to_ms: string;
  readonly granularity: string;
  readonly aggregates: string[];
}

export interface TopNRequest {
  readonly view: string;
  readonly aggregate: string;
  readonly from_ms: string;
  readonly to_ms: string;
  readonly n: number;
  readonly ascending: boolean;
}

export interface ValueRequest {
  readonly view: string;
  readonly key: Record<string, string>;
  readonly from_ms: string;
  readonly to_ms: string;
  readonly aggregates: string[];
}

const GRANULARITY_ENUM: Readonly<Record<Granularity, string>> = { minute: 'GRANULARITY_MINUTE', hour: 'GRANULARITY_HOUR', day: 'GRANULARITY_DAY' };

/** n when the request leaves it at 0 (proto3's "unset"). */
export const DEFAULT_TOP_N = 10;

export function granularityFromProto(value: string): Granularity | undefined {
  switch (value) {
    case 'GRANULARITY_UNSPECIFIED':
    case '':
      return undefined;
    case 'GRANULARITY_MINUTE':
      return 'minute';
    case 'GRANULARITY_HOUR':
      return 'hour';
    case 'GRANULARITY_DAY':
      return 'day';
    default:
      throw new InvalidQueryError('granularity', `${String(value).slice(0, 40)} is not a Granularity`);
  }
}

export function timeSeriesQueryOf(r: TimeSeriesRequest): TimeSeriesQuery {
  return {
    view: r.view,
    key: r.key ?? {},
    from: parseInstant('from_ms', r.from_ms),
    to: parseInstant('to_ms', r.to_ms),
    granularity: granularityFromProto(r.granularity),
    aggregates: r.aggregates ?? [],
  };
}

export function valueQueryOf(r: ValueRequest): ValueQuery {
  return { view: r.view, key: r.key ?? {}, from: parseInstant('from_ms', r.from_ms), to: parseInstant('to_ms', r.to_ms), aggregates: r.aggregates ?? [] };
}

export function topNQueryOf(r: TopNRequest): TopNQuery {
  return {
    view: r.view,
    aggregate: r.aggregate,
    from: parseInstant('from_ms', r.from_ms),
    to: parseInstant('to_ms', r.to_ms),
    n: r.n === 0 ? DEFAULT_TOP_N : r.n,
    order: r.ascending ? 'asc' : 'desc',
  };
}

/** A presented value: numbers as numbers, structures as JSON text, no value as neither. */
export function protoValue(value: PresentedValue): ProtoValue {
  if (value === null || value === undefined) return {};
  if (typeof value === 'number') return { number: value };
  return { json: JSON.stringify(value) };
}

export function protoValues(values: PresentedValues): ProtoValues {
  const out: ProtoValues = {};
  for (const [name, v] of Object.entries(values)) out[name] = protoValue(v);
  return out;
}

export function protoProvenance(p: Provenance) {
  return {
    batch_version: p.batch?.version ?? 0,
    batch_cut: (p.batch?.cut ?? []).map((c) => ({ topic: p.batch!.topic, partition: c.partition, offset: c.offset })),
    speed_offsets: p.speed.offsets.map((o) => ({ topic: p.speed.topic, partition: o.partition, offset: o.offset })),
    freshness_ms: p.speed.freshnessMs ?? -1,
    transform_version: p.transformVersion,
    rows_from_batch: p.rows.batch,
    rows_from_speed: p.rows.speed,
    events_from_batch: p.events.batch,
    events_from_speed: p.events.speed,
    code_transform_version: p.codeTransformVersion,
    batch_run_id: p.batch?.runId ?? '',
    batch_flipped_at_ms: p.batch === null ? 0 : Date.parse(p.batch.flippedAt),
    notes: [...p.notes],
  };
}

export function timeSeriesResponse(a: TimeSeriesAnswer) {
  return {
    granularity: GRANULARITY_ENUM[a.granularity],
    points: a.points.map((p) => ({ bucket_start_ms: p.bucketStart, values: protoValues(p.values) })),
    provenance: protoProvenance(a.provenance),
  };
}

export function valueResponse(a: ValueAnswer) {
  return { values: protoValues(a.values), provenance: protoProvenance(a.provenance) };
}

export function topNResponse(a: TopNAnswer) {
  return {
    entries: a.entries.map((e) => ({ key: { ...e.key }, values: { [a.aggregate]: protoValue(e.value) } })),
    provenance: protoProvenance(a.provenance),
  };
}

export function listViewsResponse(list: ViewList) {
  return {
    views: list.views.map((v) => ({
      name: v.name,
      stream: v.stream,
      transform_version: v.transformVersion,
      granularity: GRANULARITY_ENUM[v.granularity],
      dimensions: [...v.dimensions],
      // The proto's `field` names the event field an aggregate reads; views keep extractors as
      // functions, so it stays empty.
      aggregates: v.aggregates.map((a) => ({ name: a.name, kind: a.kind, field: '' })),
      batch_version: v.batch?.version ?? 0,
      freshness_ms: v.freshnessMs ?? -1,
    })),
  };
}
