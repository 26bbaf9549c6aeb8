import { type Granularity, GRANULARITIES, isGranularity } from '@tandem/transforms';
import { InvalidQueryError, truncate } from './query-errors';
import type { RankOrder } from './query-model';

/**
 * Parsing of query parameters as transports deliver them (REST query strings, gRPC fields
 * with int64 as decimal strings), shared so both reject the same input with the same words.
 * Every failure is an InvalidQueryError naming the parameter.
 */

/** Latest instant JavaScript dates can represent (±8.64e15 ms); also keeps bigint SQL exact. */
export const MAX_INSTANT_MS = 8_640_000_000_000_000;

const EPOCH_MS = /^-?\d{1,16}$/;
// ISO-8601 date or date-time, as Date.parse reads it reliably: 2024-05-01, 2024-05-01T10:00Z,
// 2024-05-01T10:00:00.123+02:00. Anything else (e.g. "May 1") is rejected rather than guessed.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** An instant given as epoch milliseconds (number or decimal text) or ISO-8601 text. */
export function parseInstant(parameter: string, raw: unknown): number {
  if (raw === undefined || raw === null || raw === '') throw new InvalidQueryError(parameter, 'is required (epoch milliseconds or ISO-8601)');
  let ms: number;
  if (typeof raw === 'number') {
    ms = raw;
  } else if (typeof raw === 'string' && EPOCH_MS.test(raw)) {
    ms = Number(raw);
  } else if (typeof raw === 'string' && ISO_8601.test(raw)) {
    ms = Date.parse(raw);
  } else {
    throw new InvalidQueryError(parameter, `${describe(raw)} is neither epoch milliseconds nor an ISO-8601 date-time`);
  }
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_INSTANT_MS) {
    throw new InvalidQueryError(parameter, `${describe(raw)} is not an instant between 1970-01-01 and ${new Date(MAX_INSTANT_MS).toISOString()}`);
  }
  return ms;
}

/** Checks a half-open range `[from, to)`. */
export function checkRange(from: number, to: number): void {
  for (const [name, v] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > MAX_INSTANT_MS) throw new InvalidQueryError(name, `${describe(v)} is not a valid instant in epoch milliseconds`);
  }
  if (to <= from) throw new InvalidQueryError('to', `must be after from (from=${new Date(from).toISOString()}, to=${new Date(to).toISOString()})`);
}

/** A granularity name; empty means "the view's own". */
export function parseGranularity(parameter: string, raw: unknown): Granularity | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (isGranularity(raw)) return raw;
  throw new InvalidQueryError(parameter, `${describe(raw)} is not one of ${GRANULARITIES.join(', ')}`);
}

/** A whole number in [min, max]; `fallback` when absent. */
export function parseCount(parameter: string, raw: unknown, range: { readonly min: number; readonly max: number; readonly fallback: number }): number {
  if (raw === undefined || raw === null || raw === '') return range.fallback;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw new InvalidQueryError(parameter, `${describe(raw)} is not a whole number between ${range.min} and ${range.max}`);
  }
  return n;
}

/** A comma-separated list (REST) or a list (gRPC) of names; empty when absent. */
export function parseNameList(parameter: string, raw: unknown): string[] {
  if (raw === undefined || raw === null || raw === '') return [];
  const items = Array.isArray(raw) ? raw.flatMap((r) => (typeof r === 'string' ? r.split(',') : [r])) : typeof raw === 'string' ? raw.split(',') : [raw];
  return items.map((item) => {
    if (typeof item !== 'string' || item.trim() === '') throw new InvalidQueryError(parameter, `${describe(raw)} is not a comma-separated list of names`);
    return item.trim();
  });
}

export function parseOrder(parameter: string, raw: unknown): RankOrder {
  if (raw === undefined || raw === null || raw === '') return 'desc';
  if (raw === 'desc' || raw === 'asc') return raw;
  throw new InvalidQueryError(parameter, `${describe(raw)} is not one of desc, asc`);
}

/** A required single string parameter (query strings may repeat a name: that is an error). */
export function requireString(parameter: string, raw: unknown): string {
  if (typeof raw !== 'string' || raw === '') {
    throw new InvalidQueryError(parameter, raw === undefined || raw === '' ? 'is required' : `${describe(raw)} must be a single string`);
  }
  return raw;
}

export function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : Array.isArray(value) ? `a list (${truncate(JSON.stringify(value), 60)})` : String(value);
  return truncate(text, 80);
}
