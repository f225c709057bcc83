import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '../support/database';
import { freePort, waitFor } from '../support/services';

/**
 * The web page's API types are generated from the OpenAPI document the service serves, never written by
 * hand: the document is committed (web/generated/openapi.json) and `npm run build` turns it into
 * web/generated/api.d.ts with openapi-typescript (not committed: the page's type check reads it). This
 * test starts the built service (dist/, built by `pretest`: the Swagger CLI plugin that describes the
 * DTOs runs in the build only, so an app compiled by ts-jest would serve empty schemas), fetches its live
 * document and fails when it differs from the committed one (a DTO changed without regenerating).
 * `npm run gen:api` builds, then runs this test with UPDATE_API_TYPES=1, which writes the document
 * instead: the one way it is made.
 */
const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'src', 'main.js');
const COMMITTED = join(ROOT, 'web', 'generated', 'openapi.json');
// openapi-typescript is an ES module with its own CLI: run as a developer would, in a child process.
const CLI = join(ROOT, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');

/**
 * The document with every `enum` sorted: an enum's order says nothing in OpenAPI, and where the Swagger
 * plugin infers one from a union type it follows the order the compiler met the literals in, which an
 * unrelated change can alter (statuses are declared in their order: dto/status-property.ts).
 */
function enumsSorted(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(enumsSorted);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, k === 'enum' && Array.isArray(v) ? [...(v as unknown[])].map(String).sort() : enumsSorted(v)]),
  );
}

describe('web page API types (web/generated/openapi.json → api.d.ts)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let service: ChildProcess | undefined;
  let dir: string;
  /** The live document, as committed (two-space JSON, a final newline). */
  let live: string;
  /** What openapi-typescript makes of the live document now. */
  let fresh: string;
  /** What openapi-typescript makes of the committed document. */
  let fromCommitted: string;

  beforeAll(async () => {
    expect(existsSync(MAIN)).toBe(true);
    db = await createTestDatabase('dh_openapi');
    dir = mkdtempSync(join(tmpdir(), 'dh-openapi-'));
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: db.url, PORT: String(port), LOG_LEVEL: 'error' };
    delete env.AMQP_URL;
    let output = '';
    service = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    service.stdout!.on('data', (d) => (output += d));
    service.stderr!.on('data', (d) => (output += d));
    const url = `http://127.0.0.1:${port}/api/docs-json`;
    const doc = await waitFor(async () => {
      if (service!.exitCode !== null) throw new Error(`the service exited (${service!.exitCode}): ${output}`);
      const res = await fetch(url);
      return res.ok ? res.text() : null;
    }, `the service's OpenAPI document at ${url}`);
    live = `${JSON.stringify(JSON.parse(doc), null, 2)}\n`;
    writeFileSync(join(dir, 'openapi.json'), live);
    execFileSync(process.execPath, [CLI, join(dir, 'openapi.json'), '--output', join(dir, 'api.d.ts')], { stdio: 'pipe' });
    fresh = readFileSync(join(dir, 'api.d.ts'), 'utf8');
    execFileSync(process.execPath, [CLI, COMMITTED, '--output', join(dir, 'committed.d.ts')], { stdio: 'pipe' });
    fromCommitted = readFileSync(join(dir, 'committed.d.ts'), 'utf8');
  });
  afterAll(async () => {
    if (service && service.exitCode === null) {
      const exited = new Promise((resolve) => service!.once('exit', resolve));
      service.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it('come from the served OpenAPI document, as committed (run `npm run gen:api` after a DTO change)', () => {
    if (process.env.UPDATE_API_TYPES === '1') {
      writeFileSync(COMMITTED, live);
      writeFileSync(join(ROOT, 'web', 'generated', 'api.d.ts'), fresh); // what the next build makes of it
    }
    expect(enumsSorted(JSON.parse(readFileSync(COMMITTED, 'utf8')))).toEqual(enumsSorted(JSON.parse(live)));
  });

  it('are built from the committed document by the build (web/generated/api.d.ts is what openapi-typescript makes of it)', () => {
    expect(readFileSync(join(ROOT, 'web', 'generated', 'api.d.ts'), 'utf8')).toBe(fromCommitted);
  });

  it('describe the answers the page reads, field by field (not empty schemas)', () => {
    const lists = ['RunsPageDto', 'RunListItemDto', 'RunTaskCountsDto', 'RunFailureDto', 'RunNodeDto']; // #16's lists and nodes
    for (const schema of ['ClusterDto', 'TransactionDto', 'HistoryRowDto', 'SummaryDto', 'TaskDetailDto', 'DiffDto', ...lists]) {
      expect(fresh).toMatch(new RegExp(`^ {8}${schema}: \\{$`, 'm'));
      expect(fresh).not.toMatch(new RegExp(`^ {8}${schema}: Record<string, never>;$`, 'm'));
    }
  });
});
