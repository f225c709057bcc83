/** Small helpers shared by the benchmark's parts. */

import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times: USER_HZ, 100 on Linux. */
export const USER_HZ = 100;

/**
 * A process's user + system CPU seconds (/proc/<pid>/stat); with `reaped`, also those of its children that
 * ended (cutime + cstime). Throws when the process is gone or not readable.
 */
export function processCpuSeconds(pid: number | string, reaped = false): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0)) / USER_HZ;
}

/** The machine's processes with their command names (/proc/<pid>/comm); those that end meanwhile are left out. */
export function processes(): Array<{ pid: string; comm: string }> {
  const out: Array<{ pid: string; comm: string }> = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      out.push({ pid, comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim() });
    } catch {
      /* the process ended meanwhile */
    }
  }
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const round = (x: number) => Math.round(x * 100) / 100;

export async function waitFor<T>(check: () => Promise<T | false | null | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export const log = (s: string) => console.log(`[bench] ${s}`);
