import compression from 'compression';
import type { Request, RequestHandler, Response } from 'express';
import { type BrotliOptions, constants as zlibConstants } from 'node:zlib';

/**
 * Brotli's quality for answers (compression's own default, 4): within a few % of gzip -9's size at a fraction of
 * its time. Also what a finished run's kept list is compressed with (history-query.service.ts).
 */
export const BROTLI_OPTIONS: BrotliOptions = { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } };

/**
 * Compressed answers (issue #16: a 7,210-row run was 1.56 MB of JSON, 108 KB gzipped): JSON, CSV and the
 * web page's files, brotli when the client accepts it, else gzip, per `Accept-Encoding` (`Vary` says so);
 * identity when it accepts neither. compression's own rules stand: nothing under 1 KB, no HEAD body,
 * nothing already encoded, nothing marked `Cache-Control: no-transform`, only compressible types.
 *
 * Never compressed:
 * - the live streams (`text/event-stream`): a compressor holds bytes until its block fills, so an event
 *   would reach the page late, or only when the stream ends; they are small events, long-lived;
 * - a range of a file (206): its Content-Range counts the file's own bytes, not a compressed stream's.
 */
export function compressAnswers(): RequestHandler {
  return compression({
    brotli: BROTLI_OPTIONS,
    filter: (req: Request, res: Response) => {
      if (/^text\/event-stream\b/i.test(String(res.getHeader('Content-Type') ?? ''))) return false;
      if (res.statusCode === 206 || res.getHeader('Content-Range') !== undefined) return false;
      return compression.filter(req, res);
    },
  });
}
