import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The package's version, from its package.json (found upwards: src/cli under ts-node, dist/src/cli when built). */
export function packageVersion(dir = __dirname): string {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'package.json');
    if (existsSync(candidate)) return (JSON.parse(readFileSync(candidate, 'utf8')) as { version?: string }).version ?? 'unknown';
    if (dirname(d) === d) return 'unknown';
  }
}
