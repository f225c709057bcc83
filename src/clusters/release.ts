/**
 * Release gating, as Fuel derived it: the environment version is the second `-`-separated part of the
 * release string (`liberty-8.0` → 8.0, `mitaka-9.0` → 9.0, `mitaka-9.0-rc1` → 9.0, `2014.2.2-6.1` → 6.1); the old form without a
 * dash (`2014.1`) meant 5.0. Task history exists from 9.0 on.
 */
export const MIN_HISTORY_VERSION = '9.0';

export interface ReleaseVersion {
  major: number;
  minor: number;
  text: string;
}

/** Parses a release string; returns null when no version can be read from it. */
export function parseReleaseVersion(release: string): ReleaseVersion | null {
  const r = release.trim();
  const dash = r.indexOf('-');
  let text: string;
  if (dash >= 0) text = r.slice(dash + 1).split('-')[0];
  else if (/^\d{4}\.\d+(\.\d+)*$/.test(r)) text = '5.0';
  else if (/^\d+(\.\d+)*$/.test(r)) text = r;
  else return null;
  const m = /^(\d+)(?:\.(\d+))?(?:\.\d+)*$/.exec(text);
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2] ?? 0), text };
}

/** True when the release records task history (9.0 or later). Unreadable releases do not. */
export function releaseSupportsHistory(release: string): boolean {
  const v = parseReleaseVersion(release);
  return v !== null && (v.major > 9 || (v.major === 9 && v.minor >= 0));
}
