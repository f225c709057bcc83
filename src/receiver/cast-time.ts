import { CastRejected, describe } from './cast-values';

/**
 * The times of a cast (a run's `time`, a node entry's `time`): ISO 8601, read by cast.ts. Their own file for
 * one rule of the wire format: what a sender may write as a time, and what it means.
 */

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** An ISO 8601 time; one without a zone is UTC (as Fuel stamped it). Undefined when absent. */
export function parseTime(v: unknown, what: string): Date | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') {
    const plain = plainTime(v);
    if (plain !== undefined) return checkedTime(v, what, ...plain, 0);
  }
  const m = typeof v === 'string' ? ISO_8601.exec(v) : null;
  if (!m) throw new CastRejected(`${what} must be an ISO 8601 time such as 2016-03-25T17:22:10.687Z, got ${describe(v)}`);
  const [, y, mo, d, h, mi, sec = '00', frac = '', zone = 'Z'] = m;
  const offsetMinutes = utcOffset(zone);
  if (offsetMinutes === null) throw new CastRejected(`${what} has an impossible UTC offset: ${JSON.stringify(v)}`);
  // Milliseconds: the first three digits of the fraction (finer ones are dropped, as Date drops them).
  const ms = frac ? +`${frac.slice(1, 4)}00`.slice(0, 3) : 0;
  return checkedTime(v, what, +y, +mo, +d, +h, +mi, +sec, ms, offsetMinutes);
}

/**
 * A time from its fields, checked first: Date would silently roll 2016-02-30 over to March; years before 100
 * are refused, as Date.UTC would read them as 19xx. Computed from the fields (every cast has times: two Dates
 * and a parsed string were half of parsing a cast, issue #17).
 */
function checkedTime(
  v: unknown,
  what: string,
  year: number,
  month: number,
  day: number,
  h: number,
  mi: number,
  sec: number,
  ms: number,
  offsetMinutes: number,
): Date {
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || h > 23 || mi > 59 || sec > 59) {
    throw new CastRejected(`${what} is not a valid time: ${JSON.stringify(v)}`);
  }
  return new Date(Date.UTC(year, month - 1, day, h, mi, sec, ms) - offsetMinutes * 60_000);
}

/**
 * The fields (year, month, day, hours, minutes, seconds, ms) of a time in the form every sender writes,
 * `2016-03-25T17:22:10.687Z` (toISOString) or `2016-03-25T17:22:10.687135` (Fuel): seconds, a fraction of 1
 * to 9 digits or none, `Z` or no zone. Read digit by digit, as ISO_8601 reads it, without its match and
 * substrings (~5 % of what the service allocated in the bus ingest, issue #17). Anything else (no seconds,
 * an offset, a space for T) is undefined here and left to ISO_8601.
 */
function plainTime(s: string): TimeFields | undefined {
  const n = s.length;
  if (n < 19 || n > 30 || !plainSeparators(s)) return undefined;
  const fields: TimeFields = [digits(s, 0, 4), digits(s, 5, 2), digits(s, 8, 2), digits(s, 11, 2), digits(s, 14, 2), digits(s, 17, 2), 0];
  for (let k = 0; k < 6; k++) if (fields[k] < 0) return undefined;
  let i = 19;
  if (i < n && s.charCodeAt(i) === 46 /* . */) {
    const end = fractionEnd(s, i + 1);
    if (end < 0) return undefined;
    fields[6] = milliseconds(s, i + 1, end);
    i = end;
  }
  if (i < n && (s.charCodeAt(i) | 32) === 122 /* Z or z */) i++;
  return i === n ? fields : undefined;
}

/** Year, month, day, hours, minutes, seconds, milliseconds. */
type TimeFields = [number, number, number, number, number, number, number];

/** `YYYY-MM-DDTHH:MM:SS`'s separators where they are (`T` or `t`, as ISO_8601 reads it). */
function plainSeparators(s: string): boolean {
  const t = s.charCodeAt(10) | 32;
  return s.charCodeAt(4) === 45 && s.charCodeAt(7) === 45 && t === 116 && s.charCodeAt(13) === 58 && s.charCodeAt(16) === 58;
}

/** Where a fraction's digits from `from` end, or -1 unless there are 1 to 9 of them (as ISO_8601 allows). */
function fractionEnd(s: string, from: number): number {
  let i = from;
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  return i - from >= 1 && i - from <= 9 ? i : -1;
}

/** A fraction's first three digits as milliseconds (finer ones are dropped, as Date drops them). */
function milliseconds(s: string, from: number, end: number): number {
  let ms = 0;
  for (let k = 0; k < 3; k++) ms = ms * 10 + (from + k < end ? s.charCodeAt(from + k) - 48 : 0);
  return ms;
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/** The number written by `count` decimal digits of `s` from `at`, or -1 if one is not a digit. */
function digits(s: string, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return -1;
    v = v * 10 + c - 48;
  }
  return v;
}

/** Minutes east of UTC of a zone (`Z`, `+05`, `-0530`, `+05:30`); null past ±18:59. */
function utcOffset(zone: string): number | null {
  if (zone.toUpperCase() === 'Z') return 0;
  const hours = +zone.slice(1, 3);
  const minutes = +(zone.slice(3).replace(':', '') || '00');
  if (hours > 18 || minutes > 59) return null;
  return (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

const MONTH_DAYS: readonly number[] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in a month of the proleptic Gregorian calendar (month 1 to 12). */
function daysIn(year: number, month: number): number {
  if (month !== 2) return MONTH_DAYS[month - 1];
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}
