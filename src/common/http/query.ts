/** Helpers for Fuel-style query strings: comma-separated lists, where an empty value means no filter. */

/** `a,b` or repeated `?x=a&x=b` → ['a', 'b']; empty → undefined. */
export function splitList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const parts = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(','));
  const items = parts.map((s) => s.trim()).filter((s) => s !== '');
  return items.length ? items : undefined;
}

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off', ''];

/** Fuel-compatible boolean flag; anything else is left as is for the validator to reject. */
export function parseFlag(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  return value;
}
export const FLAG_MESSAGE = (name: string) => `${name} must be one of: ${[...TRUE, ...FALSE.filter(Boolean)].join(', ')}`;

/** True for a time both JavaScript and PostgreSQL read the same way: ISO 8601 in its extended form. */
export function isIsoTime(value: unknown): boolean {
  return (
    typeof value === 'string' &&
    /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/i.test(value) &&
    !Number.isNaN(Date.parse(value))
  );
}

const MAX_BIGINT = 9223372036854775807n;

/** True for a non-negative integer that fits PostgreSQL's bigint (row versions, cursors). */
export function isBigintText(value: unknown): value is string {
  return typeof value === 'string' && /^\d{1,19}$/.test(value) && BigInt(value) <= MAX_BIGINT;
}

/** The deepest nesting of a JSON value, measured without recursion (so any depth is safe to measure). */
export function jsonDepth(value: unknown, stopAt: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d > deepest) deepest = d;
    if (deepest > stopAt) return deepest;
    for (const x of Object.values(v)) stack.push([x, d + 1]);
  }
  return deepest;
}
