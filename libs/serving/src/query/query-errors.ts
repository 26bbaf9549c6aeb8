import { TandemError } from '@tandem/platform';

/**
 * Errors a query can end in that are the caller's doing. Each transport maps them the same
 * way: `invalid-argument` is HTTP 400 / gRPC INVALID_ARGUMENT, `not-found` is HTTP 404 /
 * gRPC NOT_FOUND. Everything else (an ImpossibleStateError, a database outage) is the
 * service's fault and is reported as such.
 */
export type QueryErrorCode = 'invalid-argument' | 'not-found';

export abstract class QueryError extends TandemError {
  abstract readonly code: QueryErrorCode;
}

/** A parameter is missing, malformed or out of range; `parameter` names it. */
export class InvalidQueryError extends QueryError {
  override readonly name = 'InvalidQueryError';
  readonly code = 'invalid-argument' as const;
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(`${parameter}: ${message}`);
  }
}

/** No view of that name. */
export class UnknownViewError extends QueryError {
  override readonly name = 'UnknownViewError';
  readonly code = 'not-found' as const;
  constructor(
    readonly view: string,
    known: readonly string[],
  ) {
    super(`unknown view "${truncate(view)}"; known views: ${known.join(', ')}`);
  }
}

/** Neither layer holds the key in the range asked for. */
export class UnknownKeyError extends QueryError {
  override readonly name = 'UnknownKeyError';
  readonly code = 'not-found' as const;
  constructor(view: string, key: string, from: number, to: number) {
    super(
      `view "${view}" has no data for key ${truncate(JSON.stringify(key))} in ` +
        `[${new Date(from).toISOString()}, ${new Date(to).toISOString()})`,
    );
  }
}

/**
 * The current batch version of a view was computed by a transform version this service
 * neither runs nor keeps among the retired definitions, so it cannot read its states. Not
 * the caller's fault and usually brief (a rollout in progress): 503, retriable.
 */
export class TransformVersionUnavailableError extends TandemError {
  override readonly name = 'TransformVersionUnavailableError';
  constructor(view: string, served: string, code: string) {
    super(
      `view "${view}": the current batch version was computed by transform version ${served}, which is not defined in this service ` +
        `(it runs ${code}); keep that definition among the retired views until a batch version of ${code} is current`,
      true,
    );
  }
}

/** Echoed user input is cut, so an error message never carries a megabyte back. */
export function truncate(text: string, max = 120): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
