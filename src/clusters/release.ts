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

/**
 * True when the release records task history: unless it is known to predate 9.0. A release whose
 * version cannot be read is not taken as pre-9.0 (dropping its tasks would lose history on a guess);
 * the writer records its tasks and warns.
 */
export function releaseSupportsHistory(release: string): boolean {
  const v = parseReleaseVersion(release);
  return v === null || v.major > 9 || (v.major === 9 && v.minor >= 0);
}

/**
 * Compares two releases by version (every numeric part: 9.0 < 9.0.1 < 9.1 < 10.0), whatever their
 * names: negative, zero or positive as `a` is older than, the same version as, or newer than `b`.
 * Null when either version cannot be read.
 */
export function compareReleases(a: string, b: string): number | null {
  const [va, vb] = [parseReleaseVersion(a), parseReleaseVersion(b)];
  if (!va || !vb) return null;
  const [pa, pb] = [va.text.split('.').map(Number), vb.text.split('.').map(Number)];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A release as messages name it: `'liberty-8.0' (version 8.0)`. */
export function describeRelease(release: string): string {
  const v = parseReleaseVersion(release);
  return v ? `'${release}' (version ${v.text})` : `'${release}' (no readable version)`;
}

/** What a cluster's release becomes when a release is announced for it, and why it was kept if it was. */
export type ReleaseChange = { release: string; kept?: undefined } | { release: string; kept: 'older' | 'unreadable'; reason: string };

/**
 * THE rule of a cluster's release (one home, used by the writer and by PUT): it never moves to an
 * older version, as Fuel cannot downgrade an environment. A new cluster takes what it is announced
 * with; a known one takes the same version or a newer one. An older version is kept out; so is a
 * release with no readable version where the cluster has one (it cannot be shown not to be older).
 * A cluster whose release is unreadable takes the next one announced (there is nothing to compare).
 */
export function nextRelease(current: string | null, announced: string): ReleaseChange {
  if (current === null || parseReleaseVersion(current) === null) return { release: announced };
  const order = compareReleases(announced, current);
  if (order === null) {
    return {
      release: current,
      kept: 'unreadable',
      reason: `release '${announced}' carries no readable version, so it cannot be shown not to be older than ${describeRelease(current)}`,
    };
  }
  if (order < 0) {
    return {
      release: current,
      kept: 'older',
      reason: `release ${describeRelease(announced)} is older than ${describeRelease(current)}, and a Fuel cluster cannot be downgraded`,
    };
  }
  return { release: announced };
}
