import Table from 'cli-table3';
import { Document, isScalar, visit } from 'yaml';
import { csvCell, csvQuote } from '../common/csv';
import type { TaskStatus, RunStatus } from '../history/task-state';
import { UsageError } from './errors';
import { escapeChar, TERMINAL_UNSAFE_BUT_LF, terminalText } from '../common/terminal-text';

/** cliff's formats, as `fuel2` offers them. */
export const FORMATS = ['table', 'json', 'csv', 'yaml', 'value'] as const;
export type Format = (typeof FORMATS)[number];
export const QUOTE_MODES = ['all', 'minimal', 'none', 'nonnumeric'] as const;
export type QuoteMode = (typeof QUOTE_MODES)[number];

export type Row = Record<string, unknown>;

export interface OutputOptions {
  format: Format;
  /** `-c`: the columns asked for, in order; empty for the command's defaults. */
  columns: string[];
  /** JSON on one line. */
  noindent: boolean;
  /** CSV quoting, as cliff's `--quote` (default nonnumeric). */
  quote: QuoteMode;
  /** Colour statuses in tables. */
  color: boolean;
}

/** cliff's table look: ASCII borders, a rule under the header, no rule between rows. */
const TABLE_STYLE = {
  chars: {
    top: '-',
    'top-mid': '+',
    'top-left': '+',
    'top-right': '+',
    bottom: '-',
    'bottom-mid': '+',
    'bottom-left': '+',
    'bottom-right': '+',
    left: '|',
    'left-mid': '+',
    mid: '-',
    'mid-mid': '+',
    right: '|',
    'right-mid': '+',
    middle: '|',
  },
  style: { head: [], border: [], compact: true },
};

/** Columns whose values are statuses, coloured in tables. */
const STATUS_COLUMNS = new Set(['status', 'other_status']);
/** Every task and run status has its colour (the types are the entities'; imported as types only). */
const ANSI: Record<TaskStatus | RunStatus, string> = {
  ready: '32', // green
  error: '31', // red
  running: '33', // yellow
  pending: '36', // cyan
  skipped: '90', // grey
  stopped: '35', // magenta
};
export const paint = (status: string, on: boolean): string => {
  const code = (ANSI as Record<string, string | undefined>)[status];
  return on && code ? `\u001b[${code}m${status}\u001b[39m` : status;
};

/** In `known`: any column may be asked for (history rows carry the orchestrator's custom keys). */
export const ANY_COLUMN = '*';

/**
 * The columns to show: `-c` as asked (each must exist), else the defaults. A column exists when the
 * command knows it or when a row has it; with ANY_COLUMN known, every column exists (empty when absent).
 */
export function chooseColumns(asked: string[], defaults: string[], known: string[], rows: Row[]): string[] {
  if (!asked.length) return defaults;
  if (known.includes(ANY_COLUMN)) return [...new Set(asked)];
  const available = new Set([...defaults, ...known]);
  for (const r of rows) for (const k of Object.keys(r)) available.add(k);
  const unknown = asked.filter((c) => !available.has(c));
  if (unknown.length) {
    throw new UsageError(
      `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => `'${c}'`).join(', ')}: choose from ${[...available].join(', ')}`,
    );
  }
  return [...new Set(asked)];
}

/**
 * What each format does with names (they come from whoever sends casts):
 * - table and value are for a person: terminal controls and bidi marks are shown escaped
 *   (terminal-text.ts); one line per row (a Field/Value table keeps a value's own lines);
 * - json is exact (JSON.stringify already escapes the C0 controls, ESC included);
 * - yaml is exact once parsed, and shows those characters with YAML's own escapes (`"\e[2J"`,
 *   `"\u202E"`), so it is also safe to print;
 * - csv is exact (a file for programs and spreadsheets; CSV has no escapes), apart from the formula
 *   prefix every CSV of the project gets (src/common/csv.ts).
 */

/** A list (cliff's Lister): one row per item, the chosen columns. */
export function renderList(rows: Row[], defaults: string[], known: string[], o: OutputOptions): string {
  const cols = chooseColumns(o.columns, defaults, known, rows);
  const picked = rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] ?? null])));
  switch (o.format) {
    case 'json':
      return JSON.stringify(picked, null, o.noindent ? undefined : 2) + '\n';
    case 'yaml':
      return picked.length ? toYaml(picked) : '[]\n';
    case 'csv':
      return (
        [cols.map((c) => csvField(c, o.quote)), ...picked.map((r) => cols.map((c) => csvField(r[c], o.quote)))]
          .map((l) => l.join(','))
          .join('\r\n') + '\r\n'
      );
    case 'value':
      return picked.map((r) => cols.map((c) => terminalText(text(r[c]))).join(' ') + '\n').join('');
    case 'table': {
      const t = new Table({ head: cols.map((c) => terminalText(c)), ...TABLE_STYLE });
      for (const r of picked) t.push(cols.map((c) => cell(c, r[c], o.color)));
      return t.toString() + '\n';
    }
  }
}

/** One item (cliff's ShowOne): a Field/Value table, or the record in the chosen format. */
export function renderOne(record: Row, o: OutputOptions): string {
  const keys = Object.keys(record);
  const cols = chooseColumns(o.columns, keys, keys, [record]);
  const picked = Object.fromEntries(cols.map((c) => [c, record[c] ?? null]));
  switch (o.format) {
    case 'json':
      return JSON.stringify(picked, null, o.noindent ? undefined : 2) + '\n';
    case 'yaml':
      return toYaml(picked);
    case 'csv':
      return (
        [cols.map((c) => csvField(c, o.quote)).join(','), cols.map((c) => csvField(picked[c], o.quote)).join(',')].join('\r\n') + '\r\n'
      );
    case 'value':
      return cols.map((c) => terminalText(text(picked[c])) + '\n').join('');
    case 'table': {
      const t = new Table({ head: ['Field', 'Value'], ...TABLE_STYLE });
      for (const c of cols) t.push([terminalText(c), cell(c, picked[c], o.color, true)]);
      return t.toString() + '\n';
    }
  }
}

/** A value as text: nothing for null, JSON for objects. */
export function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  if (typeof v === 'string') return v;
  // What is left of a JSON value: a number or a boolean.
  return `${v as number | boolean}`;
}

/** A table cell, escaped for the terminal; `multiline` (a Field/Value table) keeps the value's own lines and shows objects as YAML. */
function cell(column: string, v: unknown, color: boolean, multiline = false): string {
  if (multiline && v !== null && typeof v === 'object' && Object.keys(v).length) {
    return terminalText(toYaml(v).trimEnd(), { keepNewlines: true });
  }
  const s = terminalText(text(v), { keepNewlines: multiline });
  return STATUS_COLUMNS.has(column) && typeof v === 'string' ? paint(s, color) : s;
}

function csvField(v: unknown, mode: QuoteMode): string {
  if (v === null || v === undefined) return mode === 'all' ? '""' : '';
  const raw = text(v);
  const s = csvCell(raw);
  // A number given the formula prefix (`'-1`) is text from then on.
  const numeric = (typeof v === 'number' || typeof v === 'boolean') && s === raw;
  const quote = mode === 'all' || (mode === 'nonnumeric' && !numeric) || (mode === 'minimal' && /[",\r\n]/.test(s));
  return quote ? csvQuote(s) : s;
}

/**
 * YAML that reads back as the same value and prints no terminal control or bidi mark: every string
 * holding one is written double-quoted, where YAML has escapes (`\e`, `\x9b`, `\u202e`), and those
 * characters are written as escapes. Line feeds stay YAML's business.
 */
export function toYaml(value: unknown): string {
  const doc = new Document(value);
  const unsafe = new RegExp(TERMINAL_UNSAFE_BUT_LF.source);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && unsafe.test(node.value)) node.type = 'QUOTE_DOUBLE';
    },
    Pair(_key, pair) {
      // Keys of a plain object are not nodes yet: make them scalars, so they are quoted too.
      if (!isScalar(pair.key) && typeof pair.key === 'string' && unsafe.test(pair.key)) pair.key = doc.createNode(pair.key);
    },
  });
  // Only double-quoted scalars hold these characters now, and an escape means the same there.
  return doc.toString().replace(TERMINAL_UNSAFE_BUT_LF, escapeChar);
}

/** Seconds between two ISO times (3 decimals), or null when either is missing. */
export function duration(start: unknown, end: unknown): number | null {
  if (typeof start !== 'string' || typeof end !== 'string') return null;
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) ? Math.round(ms) / 1000 : null;
}
