/**
 * The CSV cell rule of every CSV the service (`Accept: text/csv`) or `dhist -f csv` writes. Pure (no
 * Nest, no Node API), so that the CLI, which speaks HTTP only, imports it as the service does.
 *
 * Names come from whoever sends casts. A spreadsheet opening the file evaluates a cell that starts with
 * `=`, `+`, `-` or `@` as a formula (`=cmd|' /C calc'!A0`, `=HYPERLINK(...)`), and some read a leading
 * tab or carriage return the same way; quoting does not stop it. OWASP's rule: such a cell gets a
 * leading `'`, which spreadsheets take as "text" and do not show. The rule is applied to the letter,
 * so `-1` becomes `'-1` too: telling a harmless number from `-1+cmd|...` is what the rule avoids.
 */
export const FORMULA_PREFIX = "'";
const FORMULA_START = /^[=+\-@\t\r]/;

/** A value as the text of a CSV cell (before quoting): nothing for null, the prefix where a spreadsheet would see a formula. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- every value's cell is its String(), by design (a list reads a,b)
  const text = String(value);
  return FORMULA_START.test(text) ? FORMULA_PREFIX + text : text;
}

/** RFC 4180 quoting where needed (a comma, a quote, a line break). */
export function csvQuoteIfNeeded(text: string): string {
  return /[",\r\n]/.test(text) ? csvQuote(text) : text;
}

/** RFC 4180 quoting, always. */
export function csvQuote(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}
