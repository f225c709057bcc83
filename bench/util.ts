/** Small helpers shared by the benchmark's parts. */

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
