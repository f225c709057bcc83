import { Command, CommanderError } from 'commander';
import { CliError, EXIT } from './errors';
import { terminalText } from '../common/terminal-text';

/**
 * Parses and runs a commander program with `dhist`'s error handling: a usage mistake exits 2 (commander
 * already said why), a CliError prints one line and exits with its code, anything else prints one line
 * (the stack only with DHIST_DEBUG=1) and exits 1. The line may quote names from the server: escaped
 * (terminal-text.ts), so that it stays one line and drives nothing.
 */
export async function runCli(program: Command, argv: string[]): Promise<void> {
  const configure = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(configure);
  };
  configure(program);
  // `dhist ... | head`: the reader went away; that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    process.stderr.write(`error: cannot write the output: ${e.message}\n`);
    process.exit(EXIT.failed);
  });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    process.exitCode = exitCodeOf(e);
  }
}

function exitCodeOf(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (e instanceof CliError) {
    process.stderr.write(`error: ${terminalText(e.message)}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  process.stderr.write(`error: ${terminalText(err?.message ?? String(e))}\n`);
  if (process.env.DHIST_DEBUG && err?.stack) process.stderr.write(`${err.stack}\n`);
  return EXIT.failed;
}
