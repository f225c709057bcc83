/**
 * Characters that drive a terminal or reorder what it shows: C0 controls (ESC starts screen clears,
 * fake colours, OSC-8 links; CR rewrites the line), DEL, C1 controls (U+009B is a CSI of its own) and
 * the bidi controls (U+202E turns `gnp.exe\u202etxt` into what reads as `gnp.txt.exe`). Names come from
 * whoever sends casts; what `dhist` prints for a person shows these as escapes instead.
 */
const UNSAFE_BUT_LF = '\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';
export const TERMINAL_UNSAFE = new RegExp(`[\\n${UNSAFE_BUT_LF}]`, 'g');
/** The same but the line feed, for text whose lines are meant. */
export const TERMINAL_UNSAFE_BUT_LF = new RegExp(`[${UNSAFE_BUT_LF}]`, 'g');

const NAMED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** The escape shown for one unsafe character: `\t`, `\n`, `\r`, else `\x1b` or `\u202e`. */
export function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/**
 * Text as a terminal may show it: every unsafe character escaped. `keepNewlines` leaves line feeds as
 * they are, where a cell of several lines is meant (a Field/Value table: error messages, YAML).
 */
export function terminalText(text: string, o: { keepNewlines?: boolean } = {}): string {
  return text.replace(TERMINAL_UNSAFE, (c) => (c === '\n' && o.keepNewlines ? c : escapeChar(c)));
}
