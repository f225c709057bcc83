import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { finish, resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';
import { listen } from '../support/app-hooks';

/**
 * Issue #12, part 3 and part 5 (the terminal): names chosen by whoever sends casts, exported and shown.
 * - Every CSV the service (`Accept: text/csv`: a run's history, a cluster's, a node's) or `dhist -f csv`
 *   writes gives a cell a spreadsheet would read as a formula a leading `'`.
 * - `dhist` shows terminal controls and bidi marks in names escaped in table and value output, keeps
 *   JSON exact, and fetches a task named `..` or `.` (which a URL path cannot carry) as that task.
 * The built `dhist` (dist/) against the real app on a real port and a fresh PostgreSQL.
 */
const CLI = join(__dirname, '../../dist/src/cli/main.js');

const CMD = "=cmd|' /C calc'!A0";
const SUM = '+SUM(1,1)';
const NODE = '=1+1';
const HYPERLINK = '=HYPERLINK("http://x")';
const RUN_NAME = '@deployment';
const CLEAR = 'clear\u001b[2J\u001b[Hme';
const COLOUR = '\u001b[32mready\u001b[0m';
const LINK = '\u001b]8;;http://x\u001b\\click\u001b]8;;\u001b\\';
const BIDI = 'gnp.exe\u202etxt';
const C1 = 'csi\u009b2J';
/** What must never reach a terminal raw: C0 controls but the line feed, DEL, C1, bidi controls. */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const FORMULA = /^[=+\-@\t\r]/;
const columns = (...names: string[]) => names.flatMap((c) => ['-c', c]);

/** RFC 4180, as a spreadsheet reads it: cells of each record (CRLF between records). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let cell = '';
  let row: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      records.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell || row.length) {
    row.push(cell);
    records.push(row);
  }
  return records;
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  for (const k of ['DHIST_URL', 'DHIST_TOKEN', 'NO_COLOR']) delete env[k];
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('hostile names in exports and on the terminal', () => {
  let t: TestApp;
  let url: string;
  let runId: number;
  let termId: number;
  const cli = (args: string[]) => run(['--url', url, ...args]);
  const ok = async (args: string[]) => {
    const r = await cli(args);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    return r.stdout;
  };

  beforeAll(async () => {
    t = await startApp();
    url = `http://127.0.0.1:${await listen(t)}`;
    const time = '2026-02-01T10:00:00.000Z';
    const FORMULA_GRAPH = { [NODE]: [{ id: CMD, type: SUM }], '2': [{ id: 'netconfig', type: SUM }] };
    const casts = [
      start('formulas', { id: 91, name: HYPERLINK, release: 'mitaka-9.0' }, FORMULA_GRAPH, { name: RUN_NAME, time }),
      resp('formulas', [task(NODE, CMD, 'ready', { time }), task('2', 'netconfig', 'error', { time, error_msg: '-1 is not a formula' })]),
      finish('formulas', 'error', { time }),
      start(
        'terminal',
        { id: 92, name: CLEAR, release: 'mitaka-9.0' },
        {
          '1': [
            { id: CLEAR, type: COLOUR },
            { id: BIDI, type: 'puppet' },
            { id: LINK, type: C1 },
          ],
          null: [
            { id: '..', type: 'stage', marker: 'the task named ..' },
            { id: '.', type: 'stage', marker: 'the task named .' },
          ],
        },
      ),
      resp('terminal', [task('1', CLEAR, 'error', { error_msg: `${LINK} failed\nsecond line` }), task(null, '..', 'ready')]),
    ];
    const applied = await t.http().post('/api/v1/casts').send(casts).expect(200);
    [runId, termId] = [applied.body[0].transaction_id, applied.body[3].transaction_id];
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('CSV (issue #12 part 3)', () => {
    /** The cells of a CSV: none may start as a formula; the given ones appear prefixed. */
    const expectDefused = (csv: string, prefixed: string[]) => {
      const cells = parseCsv(csv).flat();
      expect(cells.filter((c) => FORMULA.test(c))).toEqual([]);
      for (const v of prefixed) expect(cells).toContain(`'${v}`);
      return cells;
    };

    it("a run's history (Accept: text/csv), whole and paged", async () => {
      for (const q of ['', '?limit=1']) {
        const res = await t.http().get(`/api/v1/transactions/${runId}/deployment_history/${q}`).set('Accept', 'text/csv').expect(200);
        expect(res.headers['content-type']).toMatch(/^text\/csv/);
        expectDefused(res.text, q ? [] : [NODE, CMD, SUM]);
      }
      const whole = await t.http().get(`/api/v1/transactions/${runId}/deployment_history/`).set('Accept', 'text/csv').expect(200);
      const at = '2026-02-01T10:00:00.000Z';
      expect(parseCsv(whole.text)).toContainEqual([`'${CMD}`, `'${NODE}`, 'ready', `'${SUM}`, at, at]);
    });

    it("a cluster's history and a node's history (Accept: text/csv)", async () => {
      const cluster = await t.http().get('/api/v1/clusters/91/deployment_history/').set('Accept', 'text/csv').expect(200);
      expectDefused(cluster.text, [NODE, CMD, SUM, RUN_NAME]);
      const nodePath = `/api/v1/clusters/91/nodes/${encodeURIComponent(NODE)}/deployment_history/`;
      const node = await t.http().get(nodePath).set('Accept', 'text/csv').expect(200);
      const cells = expectDefused(node.text, [NODE, CMD, SUM, RUN_NAME]);
      expect(cells).not.toContain('netconfig');
    });

    it('dhist -f csv: history, cross-run views, runs and clusters', async () => {
      const outputs = await Promise.all([
        ok(['task', 'history', 'show', String(runId), '-f', 'csv', ...columns('task_name', 'node_id', 'type', 'error_message')]),
        ok(['env', 'history', '91', '-f', 'csv', '-c', 'transaction_name', '-c', 'task_name', '-c', 'node_id', '-c', 'type']),
        ok(['node', 'history', '91', NODE, '-f', 'csv', '--quote', 'minimal']),
        ok(['task', 'list', '-e', '91', '-f', 'csv', '-c', 'name']),
        ok(['env', 'list', '-f', 'csv', '--quote', 'all']),
        ok(['env', 'show', '91', '-f', 'csv']),
        ok(['task', 'history', 'detail', String(runId), NODE, CMD, '-f', 'csv']),
      ]);
      const [history, env, node, runs, clusters, cluster, detail] = outputs;
      expectDefused(history, [CMD, NODE, SUM, '-1 is not a formula']);
      expectDefused(env, [RUN_NAME, CMD, NODE, SUM]);
      expectDefused(node, [CMD, NODE]);
      expectDefused(runs, [RUN_NAME]);
      expectDefused(clusters, [HYPERLINK]);
      expectDefused(cluster, [HYPERLINK]);
      expectDefused(detail, [CMD, NODE, SUM, HYPERLINK]);
    });
  });

  describe('dhist on a terminal (issue #12 part 5)', () => {
    it('table and value: controls and bidi marks escaped, names still readable', async () => {
      const [table, value, clusters, one] = await Promise.all([
        ok(['--color', 'always', 'task', 'history', 'show', String(termId), ...columns('task_name', 'node_id', 'status', 'type')]),
        ok(['task', 'history', 'show', String(termId), '-f', 'value', '-c', 'task_name', '-c', 'type', '-c', 'error_message']),
        ok(['env', 'list', '-c', 'name']),
        ok(['task', 'history', 'detail', String(termId), '1', CLEAR]),
      ]);
      const uncoloured = table.replace(/\u001b\[(3\d|39|90)m/g, '');
      expect(uncoloured).not.toMatch(UNSAFE);
      expect(table).toContain('\u001b[31merror\u001b[39m'); // statuses are still painted
      const escaped = ['clear\\x1b[2J\\x1b[Hme', 'gnp.exe\\u202etxt', '\\x1b]8;;http://x\\x1b\\click', '\\x1b[32mready\\x1b[0m'];
      for (const s of [...escaped, 'csi\\x9b2J']) expect(table).toContain(s);
      expect(value).not.toMatch(UNSAFE);
      const link = '\\x1b]8;;http://x\\x1b\\click\\x1b]8;;\\x1b\\';
      expect(value).toContain(`clear\\x1b[2J\\x1b[Hme \\x1b[32mready\\x1b[0m ${link} failed\\nsecond line\n`);
      expect(value.trimEnd().split('\n')).toHaveLength(5); // one line per row: a newline in a value cannot forge one
      expect(clusters).not.toMatch(UNSAFE);
      expect(clusters).toContain('clear\\x1b[2J\\x1b[Hme');
      expect(one).not.toMatch(UNSAFE);
      expect(one).toContain('cluster_name');
    });

    it('json stays exact; yaml is exact once parsed and prints nothing raw', async () => {
      const [json, yaml] = await Promise.all([
        ok(['task', 'history', 'show', String(termId), '-f', 'json', '-c', 'task_name', '-c', 'type']),
        ok(['task', 'history', 'show', String(termId), '-f', 'yaml', '-c', 'task_name', '-c', 'type']),
      ]);
      const rows = JSON.parse(json) as Array<{ task_name: string; type: string }>;
      expect(rows.map((r) => r.task_name).sort()).toEqual(['.', '..', BIDI, CLEAR, LINK].sort());
      expect(rows).toContainEqual({ task_name: LINK, type: C1 });
      expect(json).toContain(BIDI);
      expect(yaml).not.toMatch(UNSAFE);
      expect(parseYaml(yaml)).toEqual(rows);
    });

    it('an error line from the server shows the name it quotes escaped', async () => {
      const r = await cli(['task', 'history', 'detail', String(termId), '1', `${CLEAR}-missing`]);
      expect(r.code).toBe(1);
      expect(r.stderr).not.toMatch(UNSAFE);
      expect(r.stderr).toMatch(/^error: No task 'clear\\x1b\[2J\\x1b\[Hme-missing' on node '1'.*\(HTTP 404/);
    });

    it('task history detail of a task named .. or . shows that task, not the run', async () => {
      for (const name of ['..', '.']) {
        const d = JSON.parse(await ok(['task', 'history', 'detail', String(termId), 'null', name, '-f', 'json']));
        expect(d).toMatchObject({ task_name: name, node_id: null, definition: { id: name, marker: `the task named ${name}` } });
      }
    });
  });

  describe('GET .../deployment_history/task?node_id=&task_name= (a task whose name a URL path cannot carry)', () => {
    it('answers the task, as the path form does', async () => {
      const task = (run: number) => t.http().get(`/api/v1/transactions/${run}/deployment_history/task`);
      const byQuery = await task(termId).query({ node_id: 'null', task_name: '..' }).expect(200);
      expect(byQuery.body).toMatchObject({ task_name: '..', node_id: null, status: 'ready', definition: { marker: 'the task named ..' } });
      const path = `${encodeURIComponent(NODE)}/${encodeURIComponent(CMD)}`;
      const byPath = await t.http().get(`/api/v1/transactions/${runId}/deployment_history/${path}`);
      expect(byPath.status).toBe(200);
      const same = await task(runId).query({ node_id: NODE, task_name: CMD }).expect(200);
      expect(same.body).toEqual(byPath.body);
    });

    it('400 without a node or a name, 404 for an unknown task', async () => {
      const missing = await t.http().get(`/api/v1/transactions/${termId}/deployment_history/task`).query({ node_id: 'null' }).expect(400);
      expect(missing.body.message).toMatch(/task_name/);
      await t.http().get(`/api/v1/transactions/${termId}/deployment_history/task`).query({ task_name: '..' }).expect(400);
      await t.http().get(`/api/v1/transactions/${termId}/deployment_history/task`).query({ node_id: '1', task_name: '..' }).expect(404);
    });
  });
});
