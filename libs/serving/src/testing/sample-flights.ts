import type { FlightEvent } from '@tandem/contracts';
import type { LoggedEvent } from './layer-seeder';

/**
 * Deterministic flight events laid out on a log of `partitions` partitions, keyed by origin
 * like the real stream (one origin, one partition), for serving tests and benchmarks.
 */
export const SAMPLE_ORIGINS = ['ATL', 'ORD', 'DFW', 'LAX', 'DEN', 'SFO', 'PHX', 'LAS', 'SEA', 'MSP', 'DTW', 'BOS'] as const;
const DESTINATIONS = ['JFK', 'MIA', 'IAH', 'CLT', 'MCO', 'EWR', 'PHL', 'SLC', 'SAN', 'TPA'] as const;

export interface SampleOptions {
  readonly events: number;
  /** First event time; default 2001-01-01T00:00Z. */
  readonly start?: number;
  /** Span of event times; default one day. */
  readonly spanMs?: number;
  readonly partitions?: number;
  readonly seed?: number;
  readonly origins?: readonly string[];
}

export function sampleFlights(options: SampleOptions): LoggedEvent<FlightEvent>[] {
  const start = options.start ?? Date.UTC(2001, 0, 1);
  const span = options.spanMs ?? 86_400_000;
  const partitions = options.partitions ?? 2;
  const origins = options.origins ?? SAMPLE_ORIGINS;
  let x = options.seed ?? 42;
  // xorshift32: reproducible without a dependency.
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4_294_967_296;
  };
  const offsets = new Array<number>(partitions).fill(0);
  const out: LoggedEvent<FlightEvent>[] = [];
  for (let i = 0; i < options.events; i++) {
    // Skewed origins, so rankings have a clear order.
    const oi = Math.min(origins.length - 1, Math.floor(next() ** 2 * origins.length));
    const origin = origins[oi];
    const partition = oi % partitions;
    const event: FlightEvent = {
      ts: start + Math.floor(next() * span / 60_000) * 60_000,
      delay: Math.floor(next() * 240) - 30,
      distance: 100 + Math.floor(next() * 2_500),
      origin,
      destination: DESTINATIONS[Math.floor(next() * DESTINATIONS.length)],
    };
    out.push({ partition, offset: offsets[partition]++, event });
  }
  return out;
}
