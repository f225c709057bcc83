import { Command } from 'commander';
import { ApiClient } from './client';
import { OutputOptions } from './output';
import { packageVersion } from './version';

/** What every action works with: the client, the output options, and where the output goes. */
export interface Context {
  api: ApiClient;
  out: OutputOptions;
  print: (text: string) => void;
}

/** The global options (program.ts) and the output options (options.ts: withOutput), as commander parses them. */
interface GlobalOptions {
  url: string;
  token?: string;
  timeout: number;
  color: string;
  format?: OutputOptions['format'];
  column?: string[];
  noindent?: boolean;
  quote?: OutputOptions['quote'];
}

export function useColor(when: string): boolean {
  if (when === 'always') return true;
  if (when === 'never') return false;
  return Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

function context(cmd: Command): Context {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  return {
    api: new ApiClient({
      url: g.url,
      token: g.token || undefined,
      timeoutMs: g.timeout * 1000,
      userAgent: `dhist/${packageVersion()}`,
    }),
    out: {
      format: g.format ?? 'table',
      columns: g.column ?? [],
      noindent: Boolean(g.noindent),
      quote: g.quote ?? 'nonnumeric',
      color: useColor(g.color),
    },
    print: (text) => process.stdout.write(text),
  };
}

/**
 * An action: its arguments (as the command's argument parsers made them), its options (as its option
 * parsers made them), and the context (client, output options). A returned number is the exit code.
 */
export type Handler<A extends unknown[], O> = (ctx: Context, args: A, opts: O) => Promise<number | void>;

/** A commander action from a Handler: commander passes the arguments, then the options, then the command. */
export function act<A extends unknown[] = [], O = Record<string, never>>(fn: Handler<A, O>): (...all: unknown[]) => Promise<void> {
  return async (...all: unknown[]) => {
    const cmd = all[all.length - 1] as Command;
    const code = await fn(context(cmd), all.slice(0, -2) as A, cmd.opts() as O);
    if (typeof code === 'number') process.exitCode = code;
  };
}
