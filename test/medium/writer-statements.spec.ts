import { readdirSync, readFileSync, statSync } from 'fs';
import { join, relative } from 'path';

const ROOT = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Where each pattern occurs in src/, as paths relative to the repository. */
function whereIn(pattern: RegExp): string[] {
  return sources(join(ROOT, 'src'))
    .filter((path) => pattern.test(readFileSync(path, 'utf8')))
    .map((path) => relative(ROOT, path))
    .sort();
}

/**
 * The homes of the store's statements, checked on the source: a statement that changes a run's rows
 * written anywhere but persistence/run-changes.ts would escape the invariant RunChanges.commit keeps
 * (writer-invariant.spec.ts drives each path that exists; this catches a new one).
 */
describe('the store’s statements live in their homes', () => {
  it('only run-changes.ts writes deployment_history or deletes runs', () => {
    expect(whereIn(/\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+deployment_history\b/i)).toEqual(['src/history/persistence/run-changes.ts']);
    expect(whereIn(/\bDELETE\s+FROM\s+transactions\b/i)).toEqual(['src/history/persistence/run-changes.ts']);
  });

  it('only RunCache clears or keeps a run’s summary and list, and only run-changes.ts applies the clearing', () => {
    expect(whereIn(/\b(summary_cache|list_cache)\s*=/)).toEqual(['src/history/persistence/run-cache.ts']);
    expect(whereIn(/\bCLEAR_RUN_CACHES\b/)).toEqual(['src/history/persistence/run-cache.ts', 'src/history/persistence/run-changes.ts']);
  });

  it('only run-changes.ts announces changed runs', () => {
    expect(whereIn(/pg_notify\s*\(|\bNOTIFY\s+dh_/i)).toEqual(['src/history/persistence/run-changes.ts']);
  });

  it('no history service runs SQL of its own: statements are the repositories’ (persistence/)', () => {
    const outside = whereIn(/\.query\s*[<(]|createQueryBuilder/).filter(
      (p) => p.startsWith('src/history/') && !p.startsWith('src/history/persistence/'),
    );
    expect(outside).toEqual([]);
  });
});
