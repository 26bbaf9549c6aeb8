// The oracle suite from the command line (`npm run test:oracle -- <options>`, `--help` lists
// them): the chaos run against the servers named by KAFKA_BROKERS / DATABASE_URL, or against a
// broker and a PostgreSQL started for the run. Exit status: 0 with no mismatch, 1 otherwise.
// Prints the report as JSON.
import { type RestartablePostgres, startKafkaBroker, startPostgres, startRestartablePostgres } from '@tandem/testkit';
import { Command, InvalidArgumentError, Option } from 'commander';
import { runChaos } from './chaos-run';
import type { DatasetName } from './datasets';

const count = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
};

interface Options {
  dataset: DatasetName;
  faults: number;
  seed?: number;
  events?: number;
  chunk?: number;
  batchIntervalMs?: number;
  perRequest?: number;
  pauseMs?: number;
  rebuilds: number;
  databaseRestarts: number;
}

const program = new Command('test:oracle')
  .description('The oracle suite: a dataset through the cluster under injected faults, every answer checked against DuckDB')
  .addOption(new Option('--dataset <name>', 'dataset sent through ingest').choices(['access-log', 'flights']).default('access-log'))
  .option('--faults <n>', 'SIGKILLs of speed, archiver and batch to inject at least', count, 20)
  .option('--seed <s>', 'PRNG seed; a failure replays with the same seed (default: the time)', count)
  .option('--events <n>', 'events sent, the first N of the dataset (default: all of the access log; 100,000 flights)', count)
  .option('--chunk <n>', 'TANDEM_CHUNK_SIZE (default 50)', count)
  .option('--batch-interval-ms <n>', 'time between scheduled batch runs (default 2000)', count)
  .option('--per-request <n>', 'events per ingest request (default 100)', count)
  .option('--pause-ms <n>', 'pause between ingest requests (default 150)', count)
  .option('--rebuilds <n>', 'Kappa rebuilds from the log during the run, about half of them killed', count, 0)
  .option('--database-restarts <n>', "PostgreSQL restarts among the faults (needs the run's own PostgreSQL: DATABASE_URL unset)", count, 0)
  .showHelpAfterError();

async function main(): Promise<void> {
  const options = program.parse(process.argv).opts<Options>();
  const stops: (() => Promise<void>)[] = [];
  let brokers = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter(Boolean);
  let databaseUrl = process.env['DATABASE_URL'] ?? '';
  const { databaseRestarts } = options;
  if (databaseRestarts > 0 && databaseUrl) throw new Error('--database-restarts restarts the run\'s own PostgreSQL: unset DATABASE_URL');
  let database: RestartablePostgres | undefined;
  try {
    if (brokers.length === 0) {
      const broker = await startKafkaBroker();
      stops.push(() => broker.stop());
      brokers = broker.brokers;
    }
    if (databaseRestarts > 0) {
      const pg = await startRestartablePostgres();
      stops.push(() => pg.close());
      databaseUrl = pg.url;
      database = pg;
    } else if (!databaseUrl) {
      const pg = await startPostgres();
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
    }
    const report = await runChaos({
      brokers,
      databaseUrl,
      dataset: options.dataset,
      faults: options.faults,
      seed: options.seed ?? Date.now() % 2 ** 31,
      events: options.events,
      chunkSize: options.chunk,
      batchIntervalMs: options.batchIntervalMs,
      eventsPerRequest: options.perRequest,
      pauseMs: options.pauseMs,
      rebuilds: options.rebuilds,
      databaseRestarts,
      database,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    process.exitCode = report.mismatches === 0 ? 0 : 1;
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

main().catch((error) => {
  process.stderr.write(`oracle: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
