/** The body of every error answer. */
export class ErrorDto {
  /** The HTTP status code. */
  statusCode: number;
  /** What went wrong, naming the parameter, cast or entity concerned. */
  message: string;
  /** More detail where useful (e.g. each rejected cast of a list). */
  details?: unknown;
}
