import { parse as parseYaml } from 'yaml';
import { OutputOptions, renderList, renderOne } from '../../src/cli/output';
import { terminalText } from '../../src/common/terminal-text';

/**
 * Issue #12 part 5: names reach `dhist`'s table and value output escaped, never as terminal controls
 * (C0, DEL, C1) or bidi overrides; JSON stays exact; YAML escapes with its own syntax, so it stays
 * exact once parsed; CSV stays exact apart from the formula prefix.
 */
const CLEAR = 'clear\u001b[2J\u001b[Hme';
const COLOUR = '\u001b[32mready\u001b[0m';
const LINK = '\u001b]8;;http://x\u001b\\click\u001b]8;;\u001b\\';
const BIDI = 'gnp.exe\u202etxt';
const C1 = 'csi\u009b2J';
const ROW = { task_name: CLEAR, node_id: BIDI, status: 'error', type: COLOUR, error_message: LINK, closed_reason: C1 };
const COLUMNS = Object.keys(ROW);
/** Any character that drives a terminal or reorders text (LF aside, checked separately). */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const out = (format: OutputOptions['format'], color = false): OutputOptions => ({
  format,
  columns: [],
  noindent: false,
  quote: 'nonnumeric',
  color,
});

describe('terminalText', () => {
  it('shows controls and bidi marks as escapes', () => {
    expect(terminalText(CLEAR)).toBe('clear\\x1b[2J\\x1b[Hme');
    expect(terminalText(LINK)).toBe('\\x1b]8;;http://x\\x1b\\click\\x1b]8;;\\x1b\\');
    expect(terminalText(BIDI)).toBe('gnp.exe\\u202etxt');
    expect(terminalText(C1)).toBe('csi\\x9b2J');
    expect(terminalText('a\u0000b\u007fc\u200fd\u2066e\u061cf')).toBe('a\\x00b\\x7fc\\u200fd\\u2066e\\u061cf');
    expect(terminalText('tab\there\r\nnext')).toBe('tab\\there\\r\\nnext');
    expect(terminalText('two\nlines', { keepNewlines: true })).toBe('two\nlines');
  });

  it('leaves ordinary text alone, accents and other scripts included', () => {
    const names = ['netconfig', 'openstack-haproxy-mysqld', 'é ü ß', 'Ελληνικά', 'עברית', '日本語', '=1+1', 'C:\\path'];
    for (const s of names) expect(terminalText(s)).toBe(s);
  });
});

describe('dhist output with hostile names', () => {
  it('table: every cell and header escaped; statuses still coloured when asked', () => {
    const table = renderList([{ ...ROW, [CLEAR]: 1 }], [...COLUMNS, CLEAR], [], out('table', true));
    expect(table.replace(/\u001b\[(3\d|39|90)m/g, '')).not.toMatch(UNSAFE);
    expect(table).toContain('\u001b[31merror\u001b[39m');
    for (const s of ['clear\\x1b[2J\\x1b[Hme', 'gnp.exe\\u202etxt', '\\x1b[32mready\\x1b[0m', 'csi\\x9b2J']) expect(table).toContain(s);
    const one = renderOne({ ...ROW, custom: { [BIDI]: CLEAR } }, out('table'));
    expect(one).not.toMatch(UNSAFE);
    expect(one).toContain('gnp.exe\\u202etxt');
  });

  it('table: an error message on several lines stays on several lines, inside the borders', () => {
    const t = renderOne({ error_message: 'first\nsecond\rthird' }, out('table'));
    expect(t.split('\n').slice(3, 5)).toEqual(['| error_message | first         |', '|               | second\\rthird |']);
  });

  it('value: one line per row, escaped (a newline in a name cannot forge a row)', () => {
    const v = renderList([{ ...ROW, task_name: `${CLEAR}\nfake 1 ready` }], ['task_name', 'node_id', 'status'], [], out('value'));
    expect(v).toBe('clear\\x1b[2J\\x1b[Hme\\nfake 1 ready gnp.exe\\u202etxt error\n');
    const one = renderOne(ROW, out('value'));
    expect(one.split('\n')).toHaveLength(COLUMNS.length + 1);
    expect(one).not.toMatch(UNSAFE);
  });

  it('json: exact', () => {
    const j = renderList([ROW], COLUMNS, [], out('json'));
    expect(JSON.parse(j)).toEqual([ROW]);
    expect(j).toContain('gnp.exe\u202etxt'); // as it is: JSON is data, for programs
    expect(JSON.parse(renderOne(ROW, out('json')))).toEqual(ROW);
  });

  it('yaml: exact once parsed, and no control or bidi character printed raw', () => {
    const list = renderList([{ ...ROW, [BIDI]: 'k' }], [...COLUMNS, BIDI], [], out('yaml'));
    expect(list).not.toMatch(UNSAFE);
    expect(parseYaml(list)).toEqual([{ ...ROW, [BIDI]: 'k' }]);
    const one = renderOne({ ...ROW, custom: { [BIDI]: [CLEAR, { x: LINK }] }, multi: 'a\nb' }, out('yaml'));
    expect(one).not.toMatch(UNSAFE);
    expect(parseYaml(one)).toEqual({ ...ROW, custom: { [BIDI]: [CLEAR, { x: LINK }] }, multi: 'a\nb' });
  });

  it('csv: exact apart from the formula prefix (a file for programs and spreadsheets)', () => {
    const csv = renderList([ROW], COLUMNS, [], { ...out('csv'), quote: 'minimal' });
    expect(csv.split('\r\n')[1]).toBe([CLEAR, BIDI, 'error', COLOUR, LINK, C1].join(','));
  });
});
