/**
 * The catalog's exact aggregates restated in SQL, independently of libs/transforms: DuckDB
 * computes them over the accepted events, so a bug in the shared evaluator cannot hide in the
 * oracle too. Sketch aggregates (distinct, quantile) are not restated: the oracle for them is
 * the sketch of the union, computed by the evaluator over the same events.
 */
export interface ExactViewSql {
  readonly table: 'http_requests' | 'flights';
  /** Columns of the key dimensions, in the view's dimension order. */
  readonly dimensions: readonly string[];
  readonly bucketMs: number;
  /** Exact aggregates: SQL over the cell's rows; `mean` as [sum, count] presented as sum / count. */
  readonly aggregates: Readonly<Record<string, { readonly sql: string } | { readonly mean: string }>>;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const EXACT_VIEWS: Readonly<Record<string, ExactViewSql>> = {
  requests_per_url_minute: {
    table: 'http_requests',
    dimensions: ['path'],
    bucketMs: MINUTE,
    aggregates: { requests: { sql: 'count(*)' }, bytes: { sql: 'sum(bytes)' }, max_bytes: { sql: 'max(bytes)' } },
  },
  requests_per_status_hour: {
    table: 'http_requests',
    dimensions: ['status'],
    bucketMs: HOUR,
    aggregates: { requests: { sql: 'count(*)' }, bytes: { sql: 'sum(bytes)' } },
  },
  flights_per_origin_hour: {
    table: 'flights',
    dimensions: ['origin'],
    bucketMs: HOUR,
    aggregates: {
      flights: { sql: 'count(*)' },
      delay_mean: { mean: 'delay' },
      delay_min: { sql: 'min(delay)' },
      delay_max: { sql: 'max(delay)' },
    },
  },
  flights_per_route_day: {
    table: 'flights',
    dimensions: ['origin', 'destination'],
    bucketMs: DAY,
    aggregates: { flights: { sql: 'count(*)' }, delay_mean: { mean: 'delay' }, distance: { sql: 'sum(distance)' } },
  },
};

/** DuckDB tables of the accepted events, with their log positions. */
export const TABLE_COLUMNS: Readonly<Record<ExactViewSql['table'], readonly (readonly [string, 'BIGINT' | 'INTEGER' | 'VARCHAR' | 'DOUBLE'])[]>> = {
  http_requests: [
    ['ts', 'BIGINT'],
    ['ip', 'VARCHAR'],
    ['path', 'VARCHAR'],
    ['status', 'INTEGER'],
    ['bytes', 'BIGINT'],
  ],
  flights: [
    ['ts', 'BIGINT'],
    ['delay', 'INTEGER'],
    ['distance', 'INTEGER'],
    ['origin', 'VARCHAR'],
    ['destination', 'VARCHAR'],
  ],
};
