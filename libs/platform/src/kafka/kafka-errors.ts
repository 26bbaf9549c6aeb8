import { KafkaJSError } from 'kafkajs';
import { TandemError } from '../errors/tandem-error';

/**
 * Maps a kafkajs error into the platform's hierarchy, keeping kafkajs' own `retriable`
 * judgement (a leader election is retriable, an authorisation failure is not) and the
 * original error as `cause`. `what` says what was being done, e.g. `produce to tandem.flights.v1`.
 */
export function fromKafkaError(error: unknown, what: string): TandemError {
  if (error instanceof TandemError) return error;
  if (error instanceof KafkaJSError) {
    return new TandemError(`kafka: ${what}: ${error.message}`, error.retriable, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  // Sockets reset or refused outside kafkajs' own classes are transient by nature.
  const code = (error as { code?: unknown } | null)?.code;
  const transient = typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code);
  return new TandemError(`kafka: ${what}: ${message}`, transient, { cause: error });
}

/** Runs a kafkajs call and rethrows its failure as a TandemError. */
export async function kafkaCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw fromKafkaError(error, what);
  }
}
