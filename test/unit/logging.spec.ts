import { formatLogLine, logColours, prettyDestination, prettyLogs } from '../../src/common/logging/pretty-log';
import { isSecretParam, redactQuery, redactUrl } from '../../src/common/logging/redact';

const TIME = new Date(2026, 0, 2, 3, 4, 5, 67).getTime(); // local time: shown as 03:04:05.067
const json = (o: Record<string, unknown>) => JSON.stringify({ time: TIME, pid: 1, hostname: 'h', ...o });

describe('prettyLogs: JSON for programs, readable lines for a person', () => {
  it.each([
    ['auto', true, {}, true],
    ['auto', false, {}, false],
    ['auto', undefined, {}, false],
    ['auto', true, { CI: 'true' }, false],
    ['json', true, {}, false],
    ['pretty', false, {}, true],
    ['pretty', false, { CI: '1' }, true],
  ] as const)('LOG_FORMAT=%s, stdout a terminal: %s, env %j → pretty %s', (format, tty, env, expected) => {
    expect(prettyLogs(format, tty, env)).toBe(expected);
  });

  it('colours unless NO_COLOR is set or the terminal is dumb', () => {
    expect(logColours({ TERM: 'xterm-256color' })).toBe(true);
    expect(logColours({ NO_COLOR: '1' })).toBe(false);
    expect(logColours({ TERM: 'dumb' })).toBe(false);
  });
});

describe('formatLogLine', () => {
  it('shows time, level, context and message on one line', () => {
    expect(formatLogLine(json({ level: 30, context: 'Main', msg: 'listening' }), false)).toBe('03:04:05.067 INFO  [Main] listening');
    expect(formatLogLine(json({ level: 40, msg: 'careful' }), false)).toBe('03:04:05.067 WARN  careful');
  });

  it('shows a finished HTTP request as `GET /path 200 3ms` with its request id', () => {
    const line = json({
      level: 30,
      req: { id: 'r-1', method: 'GET', url: '/api/v1/transactions', query: {}, headers: { host: 'x' }, remoteAddress: '::1' },
      res: { statusCode: 200, headers: {} },
      responseTime: 3,
      msg: 'request completed',
    });
    expect(formatLogLine(line, false)).toBe('03:04:05.067 INFO  GET /api/v1/transactions 200 3ms req=r-1');
  });

  it('colours the level and the status when asked, never otherwise', () => {
    const req = { id: 'r', method: 'POST', url: '/x' };
    const line = json({ level: 50, req, res: { statusCode: 503 }, responseTime: 9, msg: 'request completed' });
    expect(formatLogLine(line, true)).toContain('\u001b[31mERROR');
    expect(formatLogLine(line, true)).toContain('\u001b[31m503\u001b[0m');
    expect(formatLogLine(line, false)).not.toContain('\u001b');
  });

  it('adds the other fields as key=value and an error stack below the line, indented', () => {
    const err = { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (a.js:1:1)\n    at g (b.js:2:2)' };
    const out = formatLogLine(json({ level: 50, context: 'X', msg: 'failed', err, queue: 'nailgun', n: 3 }), false);
    expect(out.split('\n')).toEqual([
      '03:04:05.067 ERROR [X] failed error: boom queue=nailgun n=3',
      '    at f (a.js:1:1)',
      '    at g (b.js:2:2)',
    ]);
  });

  it('indents the next lines of a message, so that none reads as an event of its own', () => {
    const out = formatLogLine(json({ level: 30, msg: 'first\n10:00:00.000 ERROR forged' }), false);
    expect(out).toBe('03:04:05.067 INFO  first\n    10:00:00.000 ERROR forged');
  });

  it('shows terminal controls and bidi marks from names as escapes', () => {
    const msg = 'task \u001b[2J\u001b]8;;http://x\u0007gnp.exe\u202etxt\r done';
    const out = formatLogLine(json({ level: 30, msg, context: 'a\u009bb' }), true);
    expect(out).toContain('task \\x1b[2J\\x1b]8;;http://x\\x07gnp.exe\\u202etxt\\r done');
    expect(out).toContain('[a\\x9bb]');
    // the only escape sequences left are the formatter's own colours
    expect(out.replace(/\u001b\[\d+m/g, '')).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
  });

  it('passes a line that is not a JSON object through', () => {
    expect(formatLogLine('plain text\n', false)).toBe('plain text');
    expect(formatLogLine('[1,2]', false)).toBe('[1,2]');
  });

  it('is a pino destination: each JSON line written as one formatted line', () => {
    const written: string[] = [];
    prettyDestination({ write: (t: string) => written.push(t) }, false).write(`${json({ level: 20, msg: 'x' })}\n`);
    expect(written).toEqual(['03:04:05.067 DEBUG x\n']);
  });
});

describe('redaction of credentials in logged URLs', () => {
  const secret = ['token', 'access_token', 'ACCESS_TOKEN', 'id_token', 'x-auth-token', 'api_key', 'apikey', 'api-key', 'key', 'auth'];
  const secretToo = ['password', 'passwd', 'secret', 'client_secret', 'sig', 'signature', 'credentials', 'token[]', 'access%5Ftoken'];
  it.each([...secret, ...secretToo])('%s is a secret', (name) => {
    expect(isSecretParam(name)).toBe(true);
  });

  const plain = ['nodes', 'statuses', 'tasks_names', 'cursor', 'limit', 'keys', 'author', 'monkey', 'include_summary', 'dry_run'];
  it.each(plain)('%s is not', (name) => {
    expect(isSecretParam(name)).toBe(false);
  });

  it('replaces the values of secret parameters, keeping the rest as written', () => {
    expect(redactUrl('/api/v1/transactions/?token=secret&nodes=1,2&access_token=s2&statuses=error%2Cready')).toBe(
      '/api/v1/transactions/?token=[redacted]&nodes=1,2&access_token=[redacted]&statuses=error%2Cready',
    );
    expect(redactUrl('/a?token[]=x&token[]=y&t=1#token=z')).toBe('/a?token[]=[redacted]&token[]=[redacted]&t=1#token=z');
    expect(redactUrl('/api/v1/transactions/3/deployment_history')).toBe('/api/v1/transactions/3/deployment_history');
    expect(redactUrl('</api/v1/clusters/1/deployment_history?cursor=abc&api_key=k>; rel="next"')).toBe(
      '</api/v1/clusters/1/deployment_history?cursor=abc&api_key=[redacted]>; rel="next"',
    );
  });

  it('replaces them in a parsed query without changing it', () => {
    const query = { token: 'secret', nodes: ['1', '2'], filter: { password: 'p', x: '1' } };
    expect(redactQuery(query)).toEqual({ token: '[redacted]', nodes: ['1', '2'], filter: { password: '[redacted]', x: '1' } });
    expect(query.token).toBe('secret');
    expect(redactQuery(undefined)).toBeUndefined();
  });
});
