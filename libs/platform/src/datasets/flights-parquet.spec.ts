import { flights } from '@tandem/contracts';
import { flightsRowCount, readFlights } from './flights-parquet';

describe('flights-3m reader', () => {
  it('reads the real file: 3,000,000 rows, valid events, in time order', async () => {
    expect(await flightsRowCount()).toBe(3_000_000);
    const batches: number[] = [];
    let previous = -Infinity;
    for await (const batch of readFlights({ offset: 1_000, limit: 25_000, batchSize: 10_000 })) {
      batches.push(batch.length);
      for (const e of batch) {
        expect(flights.validate(e).ok).toBe(true);
        expect(e.ts).toBeGreaterThanOrEqual(previous);
        previous = e.ts;
      }
    }
    expect(batches).toEqual([10_000, 10_000, 5_000]);
  });

  it('maps the first row as the dataset has it', async () => {
    const first = (await readFlights({ limit: 1 }).next()).value![0];
    expect(first).toEqual({ ts: Date.UTC(2001, 0, 1, 0, 1), delay: 33, distance: 2176, origin: 'LAS', destination: 'PHL' });
  });
});
