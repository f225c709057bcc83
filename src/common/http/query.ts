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
