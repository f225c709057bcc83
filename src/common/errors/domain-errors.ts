/**
 * Errors that services throw. They know nothing of HTTP or AMQP: the HTTP filter maps them to a
 * status code, the receiver maps them to a dead-letter reason.
 */
export abstract class DomainError extends Error {
  abstract readonly kind: 'not_found' | 'invalid' | 'conflict';
  constructor(
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The thing asked for does not exist. */
export class NotFoundError extends DomainError {
  readonly kind = 'not_found' as const;
}

/** The caller sent something malformed or out of range. */
export class InvalidInputError extends DomainError {
  readonly kind = 'invalid' as const;
}

/** The request is well-formed but the current state forbids it. */
export class ConflictError extends DomainError {
  readonly kind = 'conflict' as const;
}
