// The oracle suite from the command line (`npm run test:oracle -- <options>`): the chaos run
// against the servers named by KAFKA_BROKERS / DATABASE_URL, or against a broker and a
// PostgreSQL started for the run.
//
//   --dataset access-log|flights   (default access-log)
//   --faults N                     SIGKILLs to inject at least (default 20)
//   --seed S                       PRNG seed; a failure is replayed with the same seed (default: time)
//   --events N                     events sent, the first N of the dataset (default: all of the
//                                  access log; 100,000 flights)
//   --chunk N                      TANDEM_CHUNK_SIZE (default 50)
//   --batch-interval-ms N          time between scheduled batch runs (default 2000)
//   --per-request N, --pause-ms N  ingest pacing (default 100 events, 150 ms)
//   --rebuilds N                   Kappa rebuilds from the log during the run, about half killed (default 0)
//   --database-restarts N          PostgreSQL restarts among the faults (default 0; needs the
//                                  run's own PostgreSQL: DATABASE_URL unset)
// Exit status: 0 with no mismatch, 1 otherwise. Prints the report as JSON.
import { startKafkaBroker, startPostgres } from '@tandem/testkit';
import { type RestartableDatabase, runChaos } from './chaos-run';
import type { DatasetName } from './datasets';
import { startRestartablePostgres } from './restartable-postgres';

function parseArgs(argv: readonly string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    if (!name.startsWith('--')) throw new Error(`unexpected argument ${name}`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
    args.set(name.slice(2), value);
    i++;
  }
  return args;
}

function intArg(args: Map<string, string>, name: string, fallback?: number): number | undefined {
  const text = args.get(name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: expected a non-negative integer, got ${text}`);
  return n;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const known = new Set(['dataset', 'faults', 'seed', 'events', 'chunk', 'batch-interval-ms', 'per-request', 'pause-ms', 'rebuilds', 'database-restarts']);
  for (const name of args.keys()) if (!known.has(name)) throw new Error(`unknown option --${name}`);
  const dataset = (args.get('dataset') ?? 'access-log') as DatasetName;
  if (dataset !== 'access-log' && dataset !== 'flights') throw new Error(`--dataset: access-log or flights, got ${dataset}`);
  const stops: (() => Promise<void>)[] = [];
  let brokers = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter(Boolean);
  let databaseUrl = process.env['DATABASE_URL'] ?? '';
  const databaseRestarts = intArg(args, 'database-restarts', 0)!;
  if (databaseRestarts > 0 && databaseUrl) throw new Error('--database-restarts restarts the run\'s own PostgreSQL: unset DATABASE_URL');
  let database: RestartableDatabase | undefined;
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
      dataset,
      faults: intArg(args, 'faults', 20)!,
      seed: intArg(args, 'seed', Date.now() % 2 ** 31)!,
      events: intArg(args, 'events'),
      chunkSize: intArg(args, 'chunk'),
      batchIntervalMs: intArg(args, 'batch-interval-ms'),
      eventsPerRequest: intArg(args, 'per-request'),
      pauseMs: intArg(args, 'pause-ms'),
      rebuilds: intArg(args, 'rebuilds'),
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
