#!/usr/bin/env node
/** `dhist`: the command-line client of the deployment-history service (see `dhist --help`). */
import { buildProgram } from './program';
import { runCli } from './run';

void runCli(buildProgram(), process.argv);
