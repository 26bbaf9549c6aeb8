import { type FlightEvent } from '@tandem/contracts';
import { type Cut, type Database, partitionForKey, readFlights } from '@tandem/platform';
import { type AnyView, bucketOf } from '@tandem/transforms';
import { batchRowsOf, LayerSeeder, type LoggedEvent, realtimeRowsOf } from '../../libs/serving/src/testing/layer-seeder';

/**
 * Seeds a serving benchmark from the real flights-3m dataset: the events are laid out on a
 * 4-partition log as the producer would (by origin), the batch version covers about 80% of
 * each partition (cut on a chunk boundary) and the speed layer holds the rest, as after a
 * batch run and its clean-up.
 */
export interface Seeded {
  readonly events: number;
  readonly cut: Cut;
  readonly batchRows: number;
  readonly realtimeRows: number;
  readonly lastDay: number;
}

export async function seedServing(db: Database, views: readonly AnyView[], rows: number, chunkSize: number, speedConsumer: string): Promise<Seeded> {
  const logged: LoggedEvent<FlightEvent>[] = [];
  const next = [0, 0, 0, 0];
  let maxTs = 0;
  for await (const batch of readFlights({ limit: rows })) {
    for (const event of batch) {
      const partition = partitionForKey(Buffer.from(event.origin), 4);
      logged.push({ partition, offset: next[partition]++, event });
      if (event.ts > maxTs) maxTs = event.ts;
    }
  }
  const cut: Record<string, number> = {};
  next.forEach((end, p) => (cut[String(p)] = Math.floor((end * 0.8) / chunkSize) * chunkSize));
  const seeder = new LayerSeeder(db.pool);
  let batchRows = 0;
  let realtimeRows = 0;
  for (const view of views) {
    const batch = batchRowsOf(view, logged, cut);
    await seeder.batchVersion(view, { version: 1, cut, rows: batch, tableName: `tandem_bv_${view.name}_1` });
    const realtime = realtimeRowsOf(view, logged.filter((e) => e.offset >= cut[String(e.partition)]), chunkSize);
    await seeder.realtimeRows(view, realtime);
    batchRows += batch.length;
    realtimeRows += realtime.length;
  }
  await seeder.speedOffsets(speedConsumer, views[0].stream.topic, next.map((n, p) => ({ partition: p, nextOffset: n, lastLogTime: Date.now() })));
  await db.pool.query('ANALYZE');
  return { events: logged.length, cut, batchRows, realtimeRows, lastDay: bucketOf(maxTs, 'day') };
}
