import { Injectable, PipeTransform } from '@nestjs/common';
import { InvalidInputError } from '../errors/domain-errors';

const MAX_INT = 2 ** 31 - 1;

/** Parses a route id: a positive 32-bit integer, else 400 naming the parameter. */
export function parseId(value: unknown): number | null {
  if (typeof value !== 'string' || !/^\d{1,10}$/.test(value)) return null;
  const n = Number(value);
  return n >= 0 && n <= MAX_INT ? n : null;
}

@Injectable()
export class IdPipe implements PipeTransform<string, number> {
  constructor(private readonly what = 'id') {}

  transform(value: string): number {
    const n = parseId(value);
    if (n === null) throw new InvalidInputError(`${this.what} must be a non-negative integer below 2^31, got '${value}'`);
    return n;
  }
}
