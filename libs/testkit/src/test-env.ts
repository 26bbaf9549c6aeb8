// Where the integration tests find their servers, and names that never collide between test
// files, workers or runs sharing one broker and one database.
import { randomBytes } from 'node:crypto';

export interface TestEnv {
  /** Kafka bootstrap addresses, from KAFKA_BROKERS (comma-separated). */
  brokers: string[];
  /** PostgreSQL connection string, from DATABASE_URL. */
  databaseUrl: string;
}

/**
 * The servers of this test run. The integration project's global setup starts them (or takes
 * KAFKA_BROKERS / DATABASE_URL as given) and passes them to the test workers in the environment.
 */
export function testEnv(): TestEnv {
  const brokers = (process.env['KAFKA_BROKERS'] ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  const databaseUrl = process.env['DATABASE_URL']?.trim() ?? '';
  const missing = [brokers.length === 0 && 'KAFKA_BROKERS', !databaseUrl && 'DATABASE_URL'].filter(Boolean);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(' and ')} not set: run integration tests (*.int-spec.ts) through Jest's ` +
        `"integration" project, whose global setup starts Kafka and PostgreSQL, ` +
        `or point these variables at running servers (npm run harness up prints them).`,
    );
  }
  return { brokers, databaseUrl };
}

const MAX_NAME_LENGTH = 63; // PostgreSQL identifiers; Kafka topics allow 249.

/**
 * A name unique to this call, usable both as a Kafka topic and as an unquoted PostgreSQL
 * identifier: `<prefix>_<time><random>`, lower case, `[a-z0-9_]` only.
 */
export function uniqueName(prefix: string): string {
  const suffix = `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
  let base = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  if (!/^[a-z_]/.test(base)) base = `t_${base}`;
  base = base.slice(0, MAX_NAME_LENGTH - suffix.length - 1);
  return `${base}_${suffix}`;
}
