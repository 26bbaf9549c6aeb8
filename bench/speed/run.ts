// Speed layer benchmark (not a test): replays flights-3m through Kafka and measures the
// sustained rate of the speed layer next to a no-op kafkajs eachBatch consumer reading the
// same topic with the same fetch settings, in the same run.
//
//   node tools/run.js bench/speed/run.ts [--events N] [--batch-bytes B] [--concurrency C] [--transaction-records R] [--durable]
//
// Uses the servers named by KAFKA_BROKERS / DATABASE_URL, or starts its own (the test
// harness' Kafka and embedded PostgreSQL; --durable keeps PostgreSQL's fsync on).
import 'reflect-metadata';
import * as os from 'node:os';
import { encodeEvent, flights } from '@tandem/contracts';
import { DEFAULT_CONSUMER_TUNING, KafkaLog, openDatabase, readFlights, splitList } from '@tandem/platform';
import { createSpeedLayer } from '@tandem/speed';
import { startKafkaBroker, startPostgres, uniqueName, withSchema } from '@tandem/testkit';
import { flightsPerOriginHour, flightsPerRouteDay } from '@tandem/transforms';
import { describeMachine } from './machine';
import { runNoopConsumer } from './noop-consumer';

interface Args {
  events: number;
  batchBytes: number;
  concurrency: number;
  transactionRecords: number | undefined;
  durable: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { events: 1_000_000, batchBytes: 4 * 1024 * 1024, concurrency: 4, transactionRecords: undefined, durable: false };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v <= 0) throw new Error(`${argv[i - 1]} needs a positive integer`);
      return v;
    };
    if (argv[i] === '--events') args.events = value();
    else if (argv[i] === '--batch-bytes') args.batchBytes = value();
    else if (argv[i] === '--concurrency') args.concurrency = value();
    else if (argv[i] === '--transaction-records') args.transactionRecords = value();
    else if (argv[i] === '--durable') args.durable = true;
    else throw new Error(`unknown argument ${argv[i]}; usage: run.ts [--events N] [--batch-bytes B] [--concurrency C] [--transaction-records R] [--durable]`);
  }
  return args;
}

const note = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en-US');

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const stops: Array<() => Promise<void>> = [];
  try {
    let brokers = splitList(process.env['KAFKA_BROKERS']);
    let databaseUrl = process.env['DATABASE_URL'] ?? '';
    if (brokers.length === 0) {
      note('starting Kafka');
      const kafka = await startKafkaBroker({ log: note });
      stops.push(() => kafka.stop());
      brokers = kafka.brokers;
    }
    if (!databaseUrl) {
      note(`starting PostgreSQL (${args.durable ? 'durable' : 'fsync off'})`);
      const pg = await startPostgres({ fast: !args.durable });
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
    }

    const tuning = { ...DEFAULT_CONSUMER_TUNING, maxBytesPerPartition: args.batchBytes, maxBytes: Math.max(args.batchBytes * 4, 16 * 1024 * 1024), partitionsConsumedConcurrently: args.concurrency };
    const log = new KafkaLog({ brokers, clientId: 'bench-speed', consumer: tuning });
    stops.unshift(() => log.close());
    const prefix = `${uniqueName('bench')}.`;
    const topic = `${prefix}${flights.topic}`;
    const admin = await log.admin();
    await admin.ensureTopic(topic, flights.partitions);

    note(`producing ${args.events.toLocaleString('en-US')} flights to ${topic}`);
    const producer = await log.producer();
    let produced = 0;
    const produceStart = performance.now();
    for await (const batch of readFlights({ limit: args.events, batchSize: 20_000 })) {
      await producer.send(topic, batch.map((e) => ({ key: flights.key(e), value: encodeEvent(flights, e) })));
      produced += batch.length;
    }
    await producer.close();
    const produceSeconds = (performance.now() - produceStart) / 1000;
    note(`produced ${produced.toLocaleString('en-US')} in ${produceSeconds.toFixed(1)} s`);

    note('no-op kafkajs consumer');
    const noop = await runNoopConsumer(brokers, topic, produced, tuning);
    note(`no-op: ${rate(noop.records, noop.seconds)} events/s (${noop.batches} batches)`);

    note('speed layer');
    const schema = await withSchema(databaseUrl, 'bench_speed');
    stops.unshift(() => schema.drop());
    const db = await openDatabase({ url: databaseUrl, schema: schema.schema, applicationName: 'bench-speed' });
    stops.unshift(() => db.close());
    const layer = createSpeedLayer({
      log,
      db,
      views: [flightsPerOriginHour, flightsPerRouteDay],
      groupId: `bench-speed-${Date.now()}`,
      topicPrefix: prefix,
      cleanupIntervalMs: 0,
      ...(args.transactionRecords === undefined ? {} : { transactionRecords: args.transactionRecords }),
      logger: { info: () => undefined, warn: note, error: note },
    });
    await layer.start();
    const started = performance.now();
    while (layer.status().recordsCommitted < produced) await new Promise((resolve) => setTimeout(resolve, 10));
    const speedSeconds = (performance.now() - started) / 1000;
    const status = layer.status();
    await layer.stop();
    const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM tandem_realtime');

    const speedRate = produced / speedSeconds;
    const noopRate = noop.records / noop.seconds;
    const lines = [
      `speed layer benchmark, ${new Date().toISOString()}`,
      `machine: ${describeMachine()}; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} (1 / 5 / 15 min)`,
      `events: ${produced.toLocaleString('en-US')} flights (flights-3m.parquet), topic with ${flights.partitions} partitions`,
      `fetch: ${args.batchBytes} bytes per partition, ${args.concurrency} partitions concurrently; ${args.transactionRecords ?? 'default'} records per partition and transaction (to the next chunk boundary); PostgreSQL ${args.durable ? 'durable' : 'fsync off'}`,
      `views: flights_per_origin_hour, flights_per_route_day`,
      '',
      `| consumer | seconds | events/s |`,
      `|---|---:|---:|`,
      `| no-op kafkajs eachBatch | ${noop.seconds.toFixed(2)} | ${rate(noop.records, noop.seconds)} |`,
      `| speed layer | ${speedSeconds.toFixed(2)} | ${rate(produced, speedSeconds)} |`,
      '',
      `ratio speed / no-op: ${((100 * speedRate) / noopRate).toFixed(1)} %`,
      `PostgreSQL rows written: ${status.rowsWritten.toLocaleString('en-US')} (${(status.rowsWritten / produced).toFixed(3)} per event) in ${status.transactions} transactions; ${Number(rows[0].n).toLocaleString('en-US')} rows at the end`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const stop of stops) await stop().catch((error) => note(`clean-up failed: ${String(error)}`));
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
