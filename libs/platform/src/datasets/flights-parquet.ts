import { type FlightEvent, flightEventFromRow, type FlightRow } from '@tandem/contracts';
import * as hyparquet from 'hyparquet';
import { type AsyncBuffer, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { dirname, join } from 'node:path';

// hyparquet's Node entry point adds asyncBufferFromFile; TypeScript's node10 resolution only
// sees the browser typings, so the function is typed here.
const { asyncBufferFromFile } = hyparquet as unknown as { asyncBufferFromFile(path: string): Promise<AsyncBuffer> };

/**
 * Reads the flights-3m dataset (vega-datasets' `data/flights-3m.parquet`, zstd-compressed)
 * as `flights` events, in file order (which is time order), a slice at a time.
 */
// The package's export map hides data/, so resolve its entry point and walk up from build/.
export const FLIGHTS_PARQUET_PATH = join(dirname(require.resolve('vega-datasets')), '..', 'data', 'flights-3m.parquet');

export interface FlightsReadOptions {
  readonly path?: string;
  /** First row (default 0). */
  readonly offset?: number;
  /** Rows to read (default: to the end). */
  readonly limit?: number;
  /** Rows per yielded batch (default 50,000). */
  readonly batchSize?: number;
}

export async function flightsRowCount(path = FLIGHTS_PARQUET_PATH): Promise<number> {
  const meta = await parquetMetadataAsync(await asyncBufferFromFile(path));
  return Number(meta.num_rows);
}

export async function* readFlights(options: FlightsReadOptions = {}): AsyncGenerator<FlightEvent[]> {
  const file = await asyncBufferFromFile(options.path ?? FLIGHTS_PARQUET_PATH);
  const metadata = await parquetMetadataAsync(file);
  const total = Number(metadata.num_rows);
  const start = Math.max(0, options.offset ?? 0);
  const end = Math.min(total, options.limit === undefined ? total : start + options.limit);
  const batchSize = options.batchSize ?? 50_000;
  for (let from = start; from < end; from += batchSize) {
    const rows = (await parquetReadObjects({ file, metadata, compressors, rowStart: from, rowEnd: Math.min(end, from + batchSize) })) as unknown as FlightRow[];
    yield rows.map(flightEventFromRow);
  }
}
