import { ValidateBy, ValidationOptions } from 'class-validator';
import { isIsoTime } from './query';

/** An ISO 8601 time in its extended form (2026-03-01T00:00:00Z), read alike by JavaScript and PostgreSQL. */
export function IsTime(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy({ name: 'isTime', validator: { validate: (v) => isIsoTime(v) } }, options);
}
