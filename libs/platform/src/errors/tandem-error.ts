/**
 * One error hierarchy (STYLE.md habit 8). `retriable` tells a caller whether trying again
 * can help: a broker that is down is retriable; a bad setting or a corrupt row is not.
 */
export class TandemError extends Error {
  override readonly name: string = 'TandemError';
  constructor(
    message: string,
    readonly retriable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A setting is missing or invalid: the service refuses to start and says which. */
export class ConfigError extends TandemError {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`, false);
  }
}

/** Stored state contradicts itself (e.g. a batch cut ahead of the speed data it needs). */
export class ImpossibleStateError extends TandemError {
  override readonly name = 'ImpossibleStateError';
}
