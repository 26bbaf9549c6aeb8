// Global setup of Jest's "integration" project: one Kafka broker and one PostgreSQL server for
// the whole run, started side by side. KAFKA_BROKERS / DATABASE_URL, when already set, name
// servers to use instead. The addresses reach the test workers through process.env.
import './register-paths';
import { startPostgres, type PostgresServer } from '@tandem/platform';
import { startKafkaBroker, type KafkaBroker } from '../kafka-broker';
import { harnessState, type HarnessState } from './state';

export default async function globalSetup(): Promise<void> {
  const state: HarnessState = {};
  const useKafka = Boolean(process.env['KAFKA_BROKERS']?.trim());
  const useDatabase = Boolean(process.env['DATABASE_URL']?.trim());

  const [kafka, postgres] = await Promise.allSettled([
    useKafka ? undefined : startKafkaBroker({ log: report }),
    useDatabase ? undefined : startPostgres(),
  ]);
  if (kafka.status === 'fulfilled' && kafka.value) state.kafka = kafka.value;
  if (postgres.status === 'fulfilled' && postgres.value) state.postgres = postgres.value;
  harnessState.set(state);

  const failures = [kafka, postgres].filter((result) => result.status === 'rejected');
  if (failures.length > 0) {
    await Promise.allSettled([state.kafka?.stop(), state.postgres?.stop()]);
    throw new Error(failures.map((failure) => String((failure as PromiseRejectedResult).reason?.message ?? failure)).join('\n\n'));
  }

  if (state.kafka) process.env['KAFKA_BROKERS'] = state.kafka.brokers.join(',');
  if (state.postgres) process.env['DATABASE_URL'] = state.postgres.url;
  report(summary('Kafka', process.env['KAFKA_BROKERS']!, state.kafka));
  report(summary('PostgreSQL', redact(process.env['DATABASE_URL']!), state.postgres));
}

function summary(what: string, address: string, started: KafkaBroker | PostgresServer | undefined): string {
  return started ? `${what} ${address} (started in ${(started.startupMs / 1000).toFixed(1)} s)` : `${what} ${address} (given)`;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

function report(line: string): void {
  process.stderr.write(`[testkit] ${line}\n`);
}
