/**
 * Event-time buckets. Buckets are UTC and identified by their start in epoch milliseconds.
 */
export const GRANULARITIES = ['minute', 'hour', 'day'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

const SIZE_MS: Record<Granularity, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export const granularityMs = (g: Granularity): number => SIZE_MS[g];

export const isGranularity = (value: unknown): value is Granularity =>
  typeof value === 'string' && (GRANULARITIES as readonly string[]).includes(value);

/** Start of the bucket holding `ts`. */
export function bucketOf(ts: number, g: Granularity): number {
  const size = SIZE_MS[g];
  return ts - (((ts % size) + size) % size);
}

/** Whether `coarse` can be rolled up from `fine` (same or coarser). */
export const canRollUp = (fine: Granularity, coarse: Granularity): boolean => SIZE_MS[coarse] >= SIZE_MS[fine];
