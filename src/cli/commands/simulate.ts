import { Command } from 'commander';
import { addSimulateOptions, runSimulateCommand, SimulateOptions } from '../../simulator/simulate';
import { useColor } from '../context';

/** `simulate`: an orchestrator playing deployments against the service. */
export function register(program: Command): void {
  addSimulateOptions(
    program
      .command('simulate')
      .description('play an orchestrator: deploy clusters and send its casts to the service (see npm run simulate)'),
    false,
  ).action(async (_opts: unknown, cmd: Command) => {
    const o = cmd.optsWithGlobals<SimulateOptions & { color: string }>();
    process.exitCode = await runSimulateCommand(o, {
      out: (s) => process.stdout.write(s),
      err: (s) => process.stderr.write(s),
      color: useColor(o.color),
    });
  });
}
