/** What an error says, for a log line or a reason: its message, or the thrown value itself when it is not an Error. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
