/**
 * A value broke a contract: an event, a control event or a dead-letter header that does not
 * match its schema. Retrying cannot fix the value, so the error says so (`retriable: false`)
 * for the platform's retry logic, and lists the offending fields.
 */
export class ContractViolationError extends Error {
  readonly retriable = false;

  constructor(
    message: string,
    /** One line per problem, each starting with the JSON pointer of the field. */
    readonly errors: readonly string[] = [],
  ) {
    super(errors.length === 0 ? message : `${message}: ${errors.join('; ')}`);
    this.name = 'ContractViolationError';
  }
}
