import { compareReleases, nextRelease, parseReleaseVersion, releaseSupportsHistory } from '../../src/clusters/release';

describe('parseReleaseVersion', () => {
  it.each([
    ['liberty-8.0', 8, 0, '8.0'],
    ['mitaka-9.0', 9, 0, '9.0'],
    ['newton-10.0', 10, 0, '10.0'],
    ['2014.2.2-6.1', 6, 1, '6.1'],
    ['2014.1', 5, 0, '5.0'],
    ['9.0', 9, 0, '9.0'],
    ['10', 10, 0, '10'],
    ['mitaka-9.0.1', 9, 0, '9.0.1'],
    ['mitaka-9.1', 9, 1, '9.1'],
    ['  mitaka-9.0  ', 9, 0, '9.0'],
  ])('%j → %i.%i', (release, major, minor, text) => {
    expect(parseReleaseVersion(release)).toEqual({ major, minor, text });
  });

  it.each(['foo', 'mitaka-', '', '   ', 'mitaka', '-', 'mitaka-nine', 'mitaka-9.x'])('%j → null (no version can be read)', (release) => {
    expect(parseReleaseVersion(release)).toBeNull();
  });
});

describe('releaseSupportsHistory (9.0 and later)', () => {
  it.each(['mitaka-9.0', 'mitaka-9.0.1', 'mitaka-9.1', 'newton-10.0', '9.0', '10', 'ocata-11.0', '2016.1-9.0'])(
    '%j is supported',
    (release) => {
      expect(releaseSupportsHistory(release)).toBe(true);
    },
  );

  it.each(['liberty-8.0', 'kilo-7.0', '2014.1', '2014.2.2-6.1', '8.99', '2016.1'])('%j is not supported', (release) => {
    expect(releaseSupportsHistory(release)).toBe(false);
  });

  // Not knowing a release's version is no reason to drop its tasks: only a release known to predate 9.0 is refused.
  it.each(['foo', 'mitaka-', '', 'totally-unknown'])('unreadable %j is not pre-9.0: its tasks are recorded', (release) => {
    expect(releaseSupportsHistory(release)).toBe(true);
  });

  // Fuel took `version.split('-')[1]`, so a suffixed 9.0 release (`mitaka-9.0-beta`) was 9.0.
  it('reads a suffixed release as Fuel did (mitaka-9.0-beta → 9.0, liberty-8.0-beta → 8.0)', () => {
    expect(parseReleaseVersion('mitaka-9.0-rc1')).toMatchObject({ major: 9, minor: 0 });
    expect(releaseSupportsHistory('liberty-8.0-beta')).toBe(false);
    expect(releaseSupportsHistory('mitaka-9.0-beta')).toBe(true);
  });
});

describe('compareReleases (by version, whatever the name)', () => {
  it.each([
    ['liberty-8.0', 'mitaka-9.0', -1],
    ['mitaka-9.0', 'liberty-8.0', 1],
    ['mitaka-9.0', 'mitaka-9.0', 0],
    ['mitaka-9.0-rc1', 'mitaka-9.0', 0],
    ['liberty-9.0', 'mitaka-9.0', 0],
    ['mitaka-9.0', 'mitaka-9.0.1', -1],
    ['mitaka-9.0.1', 'mitaka-9.1', -1],
    ['mitaka-9.10', 'mitaka-9.9', 1],
    ['newton-10.0', 'mitaka-9.0', 1],
    ['2014.1', '2014.2.2-6.1', -1],
    ['10', 'newton-10.0.0', 0],
  ])('%j vs %j → %i', (a, b, sign) => {
    expect(Math.sign(compareReleases(a, b)!)).toBe(sign);
  });

  it.each([
    ['totally-unknown', 'mitaka-9.0'],
    ['mitaka-9.0', 'banana'],
    ['', ''],
  ])('%j vs %j → null (a version cannot be read)', (a, b) => {
    expect(compareReleases(a, b)).toBeNull();
  });
});

describe('nextRelease (a cluster never moves to an older version)', () => {
  it('a new cluster takes the release it is announced with, readable or not', () => {
    expect(nextRelease(null, 'liberty-8.0')).toEqual({ release: 'liberty-8.0' });
    expect(nextRelease(null, 'totally-unknown')).toEqual({ release: 'totally-unknown' });
  });

  it('the same version, or a newer one, is taken (an upgrade, or another name of the same version)', () => {
    expect(nextRelease('liberty-8.0', 'mitaka-9.0')).toEqual({ release: 'mitaka-9.0' });
    expect(nextRelease('mitaka-9.0', 'mitaka-9.0-rc1')).toEqual({ release: 'mitaka-9.0-rc1' });
    expect(nextRelease('mitaka-9.0', 'mitaka-9.0')).toEqual({ release: 'mitaka-9.0' });
  });

  it('an older version is refused: the cluster keeps its release, and the reason names both', () => {
    expect(nextRelease('mitaka-9.0', 'liberty-8.0')).toEqual({
      release: 'mitaka-9.0',
      kept: 'older',
      reason: "release 'liberty-8.0' (version 8.0) is older than 'mitaka-9.0' (version 9.0), and a Fuel cluster cannot be downgraded",
    });
    expect(nextRelease('newton-10.0', 'mitaka-9.0.1')).toMatchObject({ release: 'newton-10.0', kept: 'older' });
  });

  it('an unreadable release never replaces a readable one (it cannot be shown not to be older)', () => {
    expect(nextRelease('mitaka-9.0', 'banana')).toEqual({
      release: 'mitaka-9.0',
      kept: 'unreadable',
      reason: "release 'banana' carries no readable version, so it cannot be shown not to be older than 'mitaka-9.0' (version 9.0)",
    });
  });

  it('a cluster whose release is unreadable takes the next one, readable or not (nothing to compare)', () => {
    expect(nextRelease('totally-unknown', 'liberty-8.0')).toEqual({ release: 'liberty-8.0' });
    expect(nextRelease('totally-unknown', 'banana')).toEqual({ release: 'banana' });
  });
});
