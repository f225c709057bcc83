import { csvCell, FORMULA_PREFIX } from '../../src/common/csv';
import { toCsv } from '../../src/common/http/list-response';
import { OutputOptions, QUOTE_MODES, renderList, renderOne } from '../../src/cli/output';

/**
 * Issue #12 part 3: a cell a spreadsheet would read as a formula (OWASP: it starts with =, +, -, @,
 * a tab or a carriage return) gets a leading ' in every CSV the service (`Accept: text/csv`) or
 * `dhist -f csv` writes; one rule, src/common/csv.ts, imported by both.
 */
const HOSTILE = {
  task_name: "=cmd|' /C calc'!A0",
  node_id: '=1+1',
  status: 'ready',
  type: '+SUM(1,1)',
  time_start: "@SUM(1+1)*cmd|' /C calc'!A0",
  time_end: '-2+3',
};

describe('the CSV cell rule (src/common/csv.ts)', () => {
  it.each(['=', '+', '-', '@', '\t', '\r'])('prefixes a cell starting with %j', (c) => {
    expect(FORMULA_PREFIX).toBe("'");
    expect(csvCell(`${c}1+1`)).toBe(`'${c}1+1`);
  });

  it('follows OWASP to the letter: a negative number or a lone sign is prefixed too', () => {
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell(-1)).toBe("'-1");
    expect(csvCell('+')).toBe("'+");
  });

  it('leaves every other cell as it is (no prefix), null and undefined empty', () => {
    for (const s of ['netconfig', '1', '2026-01-01T10:00:00.000Z', ' =1+1', "'=1", 'a=b', '', 'é=']) expect(csvCell(s)).toBe(s);
    expect(csvCell(12)).toBe('12');
    expect(csvCell(true)).toBe('true');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
  });
});

describe("the service's CSV (toCsv)", () => {
  it('prefixes formula cells, then quotes where needed', () => {
    const csv = toCsv([HOSTILE], ['task_name', 'node_id', 'status', 'type', 'time_start', 'time_end']);
    expect(csv.split('\r\n')).toEqual([
      'task_name,node_id,status,type,time_start,time_end',
      `'=cmd|' /C calc'!A0,'=1+1,ready,"'+SUM(1,1)",'@SUM(1+1)*cmd|' /C calc'!A0,'-2+3`,
      '',
    ]);
  });

  it('prefixes a cell starting with a tab or a carriage return, and quotes the latter', () => {
    expect(toCsv([{ a: '\t=1', b: '\r=1' }], ['a', 'b'])).toBe(`a,b\r\n'\t=1,"'\r=1"\r\n`);
  });
});

describe('dhist -f csv (renderList, renderOne)', () => {
  const opts = (quote: OutputOptions['quote']): OutputOptions => ({ format: 'csv', columns: [], noindent: false, quote, color: false });

  it.each(QUOTE_MODES)('prefixes formula cells with --quote %s', (mode) => {
    const out = renderList([HOSTILE], Object.keys(HOSTILE), [], opts(mode));
    const body = out.split('\r\n')[1];
    for (const v of Object.values(HOSTILE).filter((x) => x !== 'ready')) expect(body).toContain(`'${v}`);
    // Nothing starts a cell with a formula character any more.
    expect(body.split(',').map((c) => c.replace(/^"/, ''))).not.toContainEqual(expect.stringMatching(/^[=+\-@\t\r]/));
  });

  it('with --quote nonnumeric: a prefixed number is text (quoted); a plain number stays bare', () => {
    const out = renderList([{ id: 3, duration: -1, name: '@x' }], ['id', 'duration', 'name'], [], opts('nonnumeric'));
    expect(out).toBe(`"id","duration","name"\r\n3,"'-1","'@x"\r\n`);
  });

  it('prefixes a header (a custom key may be a column) and a single record', () => {
    expect(renderList([{ '=k': 1 }], ['=k'], [], opts('minimal'))).toBe(`'=k\r\n1\r\n`);
    expect(renderOne({ name: '=HYPERLINK("http://x")' }, opts('minimal'))).toBe(`name\r\n"'=HYPERLINK(""http://x"")"\r\n`);
  });
});
