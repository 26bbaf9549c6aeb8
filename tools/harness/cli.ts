// Starts the same real servers the integration tests use, for development and benchmarks.
//
//   node tools/run.js tools/harness/cli.ts up        start Kafka and PostgreSQL; print
//                                                     KAFKA_BROKERS=... and DATABASE_URL=...;
//                                                     run until SIGINT/SIGTERM, then stop both
//   node tools/run.js tools/harness/cli.ts down      stop a running `up`
//   node tools/run.js tools/harness/cli.ts prepare   resolve the Kafka jars into the cache only
//
// `npm run harness -- up` is the same. The running `up` is recorded in .tandem/harness.json.
import { promises as fs, rmSync } from 'node:fs';
import * as path from 'node:path';
import {
  ensureKafkaDistribution,
  startKafkaBroker,
  startPostgres,
  type KafkaBroker,
  type PostgresServer,
} from '@tandem/testkit';

const STATE_FILE = path.resolve(__dirname, '..', '..', '.tandem', 'harness.json');

interface RunningHarness {
  pid: number;
  kafkaBrokers: string;
  databaseUrl: string;
  startedAt: string;
}

async function up(): Promise<void> {
  const running = await readState();
  if (running && isAlive(running.pid)) {
    throw new Error(
      `the harness already runs (pid ${running.pid}); stop it with \`down\`:\n` +
        `KAFKA_BROKERS=${running.kafkaBrokers}\nDATABASE_URL=${running.databaseUrl}`,
    );
  }

  // A signal during start-up is acted on once both servers are up (or have failed).
  const signals: { pending?: string; handle?: (signal: string) => Promise<void> } = {};
  const onSignal = (signal: string) => (signals.handle ? void signals.handle(signal) : (signals.pending = signal));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const [kafka, postgres] = await Promise.allSettled([startKafkaBroker({ log: note }), startPostgres()]);
  const started = [kafka, postgres].flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = [kafka, postgres].flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []));
  if (failed.length > 0) {
    await Promise.allSettled(started.map((server) => server.stop()));
    throw new Error(failed.map((error) => error.message).join('\n\n'));
  }
  const broker = (kafka as PromiseFulfilledResult<KafkaBroker>).value;
  const database = (postgres as PromiseFulfilledResult<PostgresServer>).value;

  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string) =>
    (stopping ??= (async () => {
      note(`${signal}: stopping Kafka and PostgreSQL`);
      const results = await Promise.allSettled([broker.stop(), database.stop()]);
      await fs.rm(STATE_FILE, { force: true });
      const errors = results.filter((result) => result.status === 'rejected');
      errors.forEach((result) => note(`stop failed: ${String((result as PromiseRejectedResult).reason)}`));
      process.exit(errors.length > 0 ? 1 : 0);
    })());
  signals.handle = shutdown;
  if (signals.pending) return shutdown(signals.pending);

  const state: RunningHarness = {
    pid: process.pid,
    kafkaBrokers: broker.brokers.join(','),
    databaseUrl: database.url,
    startedAt: new Date().toISOString(),
  };
  await fs.mkdir(path.dirname(STATE_FILE), { recursive: true });
  await fs.writeFile(STATE_FILE, JSON.stringify(state, null, 2) + '\n');
  process.on('exit', () => rmSync(STATE_FILE, { force: true }));

  process.stdout.write(`KAFKA_BROKERS=${state.kafkaBrokers}\nDATABASE_URL=${state.databaseUrl}\n`);
  note(`Kafka started in ${(broker.startupMs / 1000).toFixed(1)} s (log ${broker.logFile})`);
  note(`PostgreSQL started in ${(database.startupMs / 1000).toFixed(1)} s (log ${database.logFile})`);
  note('running; Ctrl-C or `npm run harness -- down` stops both');
  setInterval(() => undefined, 1 << 30); // keep the process alive until a signal arrives
}

async function down(): Promise<void> {
  const running = await readState();
  if (!running || !isAlive(running.pid)) {
    await fs.rm(STATE_FILE, { force: true });
    note('the harness is not running');
    return;
  }
  process.kill(running.pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (isAlive(running.pid)) {
    if (Date.now() > deadline) throw new Error(`pid ${running.pid} did not stop within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  note(`stopped (pid ${running.pid})`);
}

async function prepare(): Promise<void> {
  const distribution = await ensureKafkaDistribution({ log: note });
  const where = distribution.downloaded ? 'resolved into' : 'already in';
  note(`Apache Kafka ${distribution.version} jars ${where} ${distribution.libsDir}`);
}

async function readState(): Promise<RunningHarness | undefined> {
  try {
    return JSON.parse(await fs.readFile(STATE_FILE, 'utf8')) as RunningHarness;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function note(line: string): void {
  process.stderr.write(`[harness] ${line}\n`);
}

const commands: Record<string, () => Promise<void>> = { up, down, prepare };
const command = commands[process.argv[2] ?? ''];
if (!command) {
  process.stderr.write('usage: node tools/run.js tools/harness/cli.ts up|down|prepare\n');
  process.exit(2);
}
command().catch((error: Error) => {
  note(error.message);
  process.exit(1);
});
