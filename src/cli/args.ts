import { InvalidArgumentError } from 'commander';

/** Parsers for commander options and arguments; a bad value is a usage error naming what was expected. */
export const integer =
  (what: string, min = 0, max = 2 ** 31 - 1) =>
  (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}, got '${value}'.`);
    }
    return Number(value);
  };

export const decimal =
  (what: string, min = 0, max = Infinity) =>
  (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${what} must be a number from ${min}${Number.isFinite(max) ? ` to ${max}` : ' up'}, got '${value}'.`);
    }
    return n;
  };

export const isoTime =
  (what: string) =>
  (value: string): string => {
    if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(value) || Number.isNaN(Date.parse(value))) {
      throw new InvalidArgumentError(`${what} must be an ISO 8601 time such as 2026-03-01T00:00:00Z, got '${value}'.`);
    }
    return value;
  };

/** Repeatable option: each use adds to the list. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Variadic list options accept `a b c` and `a,b,c` alike. */
export const list = (values: string[] | string | undefined): string[] | undefined => {
  if (values === undefined) return undefined;
  const items = (Array.isArray(values) ? values : [values])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  return items.length ? items : undefined;
};
