import { parseReleaseVersion, releaseSupportsHistory } from '../../src/clusters/release';

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

  it.each(['foo', 'mitaka-', '', '   ', 'mitaka', '-', 'mitaka-nine', 'mitaka-9.x'])(
    '%j → null (no version can be read)',
    (release) => {
      expect(parseReleaseVersion(release)).toBeNull();
    },
  );
});

describe('releaseSupportsHistory (9.0 and later)', () => {
  it.each(['mitaka-9.0', 'mitaka-9.0.1', 'mitaka-9.1', 'newton-10.0', '9.0', '10', 'ocata-11.0', '2016.1-9.0'])('%j is supported', (release) => {
    expect(releaseSupportsHistory(release)).toBe(true);
  });

  it.each(['liberty-8.0', 'kilo-7.0', '2014.1', '2014.2.2-6.1', '8.99', '2016.1'])('%j is not supported', (release) => {
    expect(releaseSupportsHistory(release)).toBe(false);
  });

  it.each(['foo', 'mitaka-', ''])('unreadable %j is not supported', (release) => {
    expect(releaseSupportsHistory(release)).toBe(false);
  });

  // Fuel took `version.split('-')[1]`, so a suffixed 9.0 release (`mitaka-9.0-beta`) was 9.0.
  it('reads a suffixed release as Fuel did (mitaka-9.0-beta → 9.0, liberty-8.0-beta → 8.0)', () => {
    expect(parseReleaseVersion('mitaka-9.0-rc1')).toMatchObject({ major: 9, minor: 0 });
    expect(releaseSupportsHistory('liberty-8.0-beta')).toBe(false);
    expect(releaseSupportsHistory('mitaka-9.0-beta')).toBe(true);
  });
});
