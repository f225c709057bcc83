/**
 * Exit codes of `dhist` (and of the simulator):
 *  0 done; 1 the request failed (server unreachable, an HTTP error, a bad answer);
 *  2 the command line is wrong; 3 `--watch`: the run ended in `error` or `stopped`.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, runFailed: 3 } as const;

/** An error meant for the user: one readable line on stderr, no stack trace, and an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
    /** The HTTP status when the server answered with an error. */
    readonly httpStatus?: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage mistake (unknown column, bad value): exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}
