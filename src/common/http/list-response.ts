import type { Request, Response } from 'express';
import { csvCell, csvQuoteIfNeeded } from '../csv';

/**
 * The answer of every list endpoint: a bare JSON list (Fuel's shape), or CSV with `Accept: text/csv`;
 * while more rows exist, a `Link: <...>; rel="next"` header carrying the next page's cursor.
 */
export function listResponse<T extends object>(
  req: Request,
  res: Response,
  page: { rows: T[]; next: string | null },
  csv: { columns: readonly (keyof T & string)[]; filename: string },
): T[] | string {
  if (page.next) {
    const url = new URL(req.originalUrl, 'http://localhost');
    url.searchParams.set('cursor', page.next);
    res.setHeader('Link', `<${url.pathname}${url.search}>; rel="next"`);
  }
  if (req.accepts(['application/json', 'text/csv']) !== 'text/csv') return page.rows;
  res.type('text/csv; charset=utf-8');
  res.attachment(csv.filename);
  return toCsv(page.rows, csv.columns);
}

/** CSV: a header line, then one line per row, CRLF; formula cells defused (src/common/csv.ts), quoted where needed. */
export function toCsv<T extends object>(rows: T[], columns: readonly (keyof T & string)[]): string {
  const field = (v: unknown) => csvQuoteIfNeeded(csvCell(v));
  const lines = [columns.map(field).join(',')];
  for (const r of rows) lines.push(columns.map((c) => field(r[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}
