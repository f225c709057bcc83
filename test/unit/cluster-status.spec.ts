import { isLocked, nailgunStatus } from '../../src/clusters/cluster-status';

/** The Nailgun status fuel2 shows for a cluster, from its latest real run of the current epoch (issue 13, part 6). */
describe("a cluster's Nailgun status", () => {
  it.each([
    [null, 'new', false],
    [undefined, 'new', false],
    ['pending', 'deployment', true],
    ['running', 'deployment', true],
    ['ready', 'operational', false],
    ['error', 'error', false],
    ['stopped', 'stopped', false],
  ] as const)('latest run %s → %s, locked: %s', (run, status, locked) => {
    expect(nailgunStatus(run)).toBe(status);
    expect(isLocked(nailgunStatus(run))).toBe(locked);
  });
});
