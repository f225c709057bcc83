import type { Client } from 'pg';

/** The channel on which every instance hears which runs changed (delivered at commit). */
export const HISTORY_CHANNEL = 'dh_history_changed';

/** The payloads announcing that these runs changed on HISTORY_CHANNEL: ids, comma-separated, in chunks. */
export function notifyPayloads(ids: number[]): string[] {
  // A NOTIFY payload holds at most 8000 bytes: the ids go in chunks.
  const chunks: string[] = [];
  for (let i = 0; i < ids.length; i += 500) chunks.push(ids.slice(i, i + 500).join(','));
  return chunks;
}

/** Has the (dedicated, plain pg) connection hear HISTORY_CHANNEL's notifications. */
export async function listenForChanges(client: Client): Promise<void> {
  await client.query(`LISTEN ${HISTORY_CHANNEL}`);
}
