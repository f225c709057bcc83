import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedFolders } from '../../src/common/database/embedded-postgres';

/**
 * Which folders the PostgreSQL user cannot walk through, decided as the kernel does for a process
 * with only that user's ids: the owner's bits for the owner, else the group's for its group, else the
 * others' (an owner denied by its own bits is denied even when others may pass).
 */
describe('closedFolders', () => {
  let top: string;
  let me: { uid: number; gid: number };
  beforeEach(() => {
    top = mkdtempSync(join(tmpdir(), 'dh-closed-'));
    chmodSync(top, 0o755);
    const st = statSync(top);
    me = { uid: st.uid, gid: st.gid };
  });
  afterEach(() => {
    chmodSync(top, 0o755);
    rmSync(top, { recursive: true, force: true });
  });

  const stranger = () => ({ uid: me.uid + 1000, gid: me.gid + 1000 });

  it('names a parent closed to others, not the open ones above or below it', () => {
    const home = join(top, 'home');
    mkdirSync(join(home, 'clone', 'node_modules'), { recursive: true });
    chmodSync(home, 0o700);
    chmodSync(join(home, 'clone'), 0o755);
    expect(closedFolders([join(home, 'clone', 'node_modules', 'x', 'bin')], stranger())).toEqual([home]);
    expect(closedFolders([join(home, 'clone')], undefined)).toEqual([home]); // a user not created yet is one of the others
    expect(closedFolders([join(top, 'elsewhere', 'postgres')], stranger())).toEqual([]); // missing folders are made open
  });

  it('lets the owner through by its own bits and the group by the group bits', () => {
    const d = join(top, 'd');
    mkdirSync(d);
    chmodSync(d, 0o700);
    expect(closedFolders([d], me)).toEqual([]);
    expect(closedFolders([d], { uid: me.uid + 1000, gid: me.gid })).toEqual([d]);
    chmodSync(d, 0o710);
    expect(closedFolders([d], { uid: me.uid + 1000, gid: me.gid })).toEqual([]);
    expect(closedFolders([d], stranger())).toEqual([d]);
    chmodSync(d, 0o071);
    expect(closedFolders([d], me)).toEqual([d]);
    expect(closedFolders([d], stranger())).toEqual([]);
  });
});
