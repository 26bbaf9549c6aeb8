import { TandemError } from '@tandem/platform';

/**
 * Errors of a publish request as a whole (per-event problems are results, not errors).
 * Transports map them alike: unknown stream is HTTP 404 / NOT_FOUND, a bad request is 400 /
 * INVALID_ARGUMENT, an unreachable log is 503 with Retry-After / UNAVAILABLE.
 */
export class UnknownStreamError extends TandemError {
  override readonly name = 'UnknownStreamError';
  constructor(
    readonly stream: string,
    known: readonly string[],
  ) {
    super(`unknown stream "${stream.length > 80 ? `${stream.slice(0, 79)}…` : stream}"; known streams: ${known.join(', ')}`);
  }
}

/** The request itself is unusable (not a list of events, too many events). */
export class InvalidPublishError extends TandemError {
  override readonly name = 'InvalidPublishError';
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(`${parameter}: ${message}`);
  }
}

/**
 * The log did not take the events in time (broker down, no leader, too many sends already
 * waiting). The outcome of events already handed to the producer is unknown: the producer is
 * idempotent, but a client's retry is a new send, so a retry after this may duplicate events.
 */
export class LogUnavailableError extends TandemError {
  override readonly name = 'LogUnavailableError';
  constructor(
    message: string,
    /** Seconds a client should wait before retrying. */
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, true, options);
  }
}
