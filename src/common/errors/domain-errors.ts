/**
 * Errors that services throw. They know nothing of HTTP or AMQP: the HTTP filter maps them to a
 * status code, the receiver maps them to a dead-letter reason.
 */
export abstract class DomainError extends Error {
  abstract readonly kind: 'not_found' | 'invalid' | 'conflict' | 'not_served';
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

/**
 * A change this service never makes on that resource (fuel2 asking Nailgun to create or delete an
 * environment, deploy, upload a graph...); the message says what the service does instead. `allowed`:
 * the methods it does serve there (none for a resource it does not have), which HTTP calls `Allow`.
 */
export class NotServedError extends DomainError {
  readonly kind = 'not_served' as const;
  constructor(
    message: string,
    readonly allowed: readonly string[],
  ) {
    super(message);
  }
}
