import { applyDecorators, Type } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, ValidateBy, ValidationOptions } from 'class-validator';
import { FLAG_MESSAGE, isIsoTime, parseFlag, splitList } from './query';

/** An ISO 8601 time in its extended form (2026-03-01T00:00:00Z), read alike by JavaScript and PostgreSQL. */
export function IsTime(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy({ name: 'isTime', validator: { validate: (v) => isIsoTime(v) } }, options);
}

const LIST_PARAMETER = Symbol('list query parameter');

/**
 * An optional list parameter of a query DTO: Fuel's comma form (`?statuses=error,ready`), or the key
 * repeated (`?statuses=error&statuses=ready`), which means the same. Only these may be repeated: the
 * query rule (query-parameters.ts) refuses any other parameter given twice.
 */
export function ListParam(): PropertyDecorator {
  return applyDecorators(
    IsOptional(),
    Transform(({ value }) => splitList(value)),
    (target: object, key: string | symbol) => Reflect.defineMetadata(LIST_PARAMETER, true, target, key),
  );
}

/** An optional yes/no parameter of a query DTO, in any of the forms parseFlag reads (1/0, true/false, ...). */
export function FlagParam(name: string): PropertyDecorator {
  return applyDecorators(
    IsOptional(),
    Transform(({ value }) => parseFlag(value)),
    IsBoolean({ message: FLAG_MESSAGE(name) }),
  );
}

/** True when `name` of this query DTO (or of a class it extends) is declared with ListParam(). */
export function isListParam(dto: Type<unknown>, name: string): boolean {
  return Reflect.getMetadata(LIST_PARAMETER, dto.prototype as object, name) === true;
}
