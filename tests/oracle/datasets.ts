import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { flights, httpRequests, parseApacheLogLine, type StreamContract } from '@tandem/contracts';
import { readFlights } from '@tandem/platform';

export type DatasetName = 'access-log' | 'flights';

export interface Dataset {
  readonly name: DatasetName;
  readonly stream: StreamContract;
  /** Views of the catalog over the stream. */
  readonly views: readonly string[];
  readonly events: readonly Record<string, unknown>[];
}

const ACCESS_LOG = path.resolve(__dirname, '..', '..', 'data', 'apache-access-log', 'apache_logs');

/** The real datasets: the Apache access log (10,000 lines) or the first rows of flights-3m. */
export async function loadDataset(name: DatasetName, limit?: number): Promise<Dataset> {
  if (name === 'access-log') {
    const events: Record<string, unknown>[] = [];
    for (const line of readFileSync(ACCESS_LOG, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const parsed = parseApacheLogLine(line);
      if (parsed.ok) events.push(parsed.event as unknown as Record<string, unknown>);
      if (limit !== undefined && events.length >= limit) break;
    }
    return { name, stream: httpRequests, views: ['requests_per_url_minute', 'requests_per_status_hour'], events };
  }
  const events: Record<string, unknown>[] = [];
  for await (const batch of readFlights({ limit: limit ?? 100_000 })) events.push(...(batch as unknown as Record<string, unknown>[]));
  return { name, stream: flights, views: ['flights_per_origin_hour', 'flights_per_route_day'], events };
}
