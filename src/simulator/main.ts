#!/usr/bin/env node
/**
 * `npm run simulate -- [--url URL | --amqp URL] --clusters N --nodes M --tasks T --runs R --speed S --seed X`:
 * plays an orchestrator deploying N clusters and sends its casts to the service.
 */
import { Command } from 'commander';
import { runCli } from '../cli/run';
import { addSimulateOptions, runSimulateCommand, SimulateOptions } from './simulate';

const program = addSimulateOptions(new Command('simulate'), true)
  .description('Plays an orchestrator: deploys clusters and sends its Astute casts to the service, over HTTP or RabbitMQ')
  .action(async (_opts, cmd: Command) => {
    process.exitCode = await runSimulateCommand(cmd.opts<SimulateOptions>(), {
      out: (s) => process.stdout.write(s),
      err: (s) => process.stderr.write(s),
      color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
    });
  });

void runCli(program, process.argv);
