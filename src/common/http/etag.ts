import { createHash } from 'node:crypto';

/**
 * A strong validator (an ETag) for bytes sent as they are: a hash of those very bytes, so it changes
 * whenever they do, each content coding its own. Express answers 304 itself (`res.send` checks
 * `req.fresh` against the `ETag` header) when a request's If-None-Match names it.
 */
export function strongEtag(bytes: Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
}
