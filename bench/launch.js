// `npm run bench -- ARGS`: reads the options first (bench/options.ts: --help prints them, a wrong one exits
// 2 naming it, before anything is built), then builds the service (the benchmark runs dist/) and runs
// bench/bench.ts with ARGS.
'use strict';
// A CommonJS script (node runs it before anything is built; bench/options.ts is loaded through ts-node's
// require hook), so require().
/* eslint-disable @typescript-eslint/no-require-imports */
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const project = join(__dirname, 'tsconfig.json');
require(join(root, 'node_modules', 'ts-node')).register({ transpileOnly: true, project });
const { helpText, parseArgs, UsageError } = require('./options');

const args = process.argv.slice(2);
try {
  if (parseArgs(args) === 'help') {
    process.stdout.write(helpText());
    process.exit(0);
  }
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`[bench] ${e.message}\n`);
  process.exit(2);
}
const run = (cmd, argv) => spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' }).status ?? 1;
const built = run('npm', ['run', 'build']);
if (built !== 0) process.exit(built);
process.exit(
  run(join(root, 'node_modules', '.bin', 'ts-node'), ['--transpile-only', '--project', project, join(__dirname, 'bench.ts'), ...args]),
);
