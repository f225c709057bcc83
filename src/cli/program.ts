import { Command, Option } from 'commander';
import { DEFAULT_URL } from '../simulator/simulate';
import { decimal } from './args';
import * as env from './commands/env';
import * as node from './commands/node';
import * as retention from './commands/retention';
import * as simulate from './commands/simulate';
import * as task from './commands/task';
import * as taskHistory from './commands/task-history';
import { packageVersion } from './version';

/**
 * `dhist`: the command-line client of the deployment-history service, shaped like `fuel2 task ...`
 * (cliff's formats and `-c` columns), plus the cross-run views. It speaks HTTP only.
 * Each command group has its file in commands/; this one holds the global options and puts them together.
 */
export function buildProgram(): Command {
  const program = new Command('dhist')
    .description('Command-line client of the deployment-history service (shaped like fuel2 task ...)')
    .version(packageVersion(), '-V, --version')
    .addOption(new Option('--url <url>', 'the service').env('DHIST_URL').default(DEFAULT_URL))
    .addOption(new Option('--token <token>', 'sent as Authorization: Bearer and X-Auth-Token').env('DHIST_TOKEN'))
    .addOption(new Option('--timeout <seconds>', 'per request').argParser(decimal('--timeout', 0.1)).default(30))
    .addOption(new Option('--color <when>', 'colour statuses in tables').choices(['auto', 'always', 'never']).default('auto'))
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      '\nExit codes: 0 done; 1 the request failed (server unreachable, HTTP error); 2 bad command line;\n' +
        '3 task history show --watch: the run ended in error or stopped.\n' +
        `Environment: DHIST_URL (default ${DEFAULT_URL}), DHIST_TOKEN, NO_COLOR.`,
    );

  // task: runs (transactions) and their history, like fuel2 task ...
  taskHistory.register(task.register(program));
  node.register(program);
  env.register(program);
  retention.register(program);
  simulate.register(program);
  return program;
}
