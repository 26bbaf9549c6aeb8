// Global teardown of Jest's "integration" project: stops the servers the global setup started
// (never those given by KAFKA_BROKERS / DATABASE_URL).
import { harnessState } from './state';

export default async function globalTeardown(): Promise<void> {
  const state = harnessState.take();
  const results = await Promise.allSettled([state?.kafka?.stop(), state?.postgres?.stop()]);
  // In watch mode the next run's setup must not mistake these stopped servers for given ones.
  if (state?.kafka) delete process.env['KAFKA_BROKERS'];
  if (state?.postgres) delete process.env['DATABASE_URL'];
  const failed = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed.length > 0) throw new Error(`stopping the test servers failed: ${failed.map((f) => String(f.reason)).join('; ')}`);
}
