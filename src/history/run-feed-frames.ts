/** The events a run's live feed (run-feed.ts) writes to its clients, made once for all of them. */

/**
 * One `rows` event: rows as their JSON texts; the id only on the last event of a batch (see RunFeed).
 * Written straight into one buffer: a page is never a large string, which would stay on the
 * JavaScript heap until a full collection (hundreds of clients' pages made the heap grow for minutes).
 */
export function rowsFrame(rows: string[], id?: bigint): Buffer {
  const head = `event: rows\n${id !== undefined ? `id: ${id}\n` : ''}data: [`;
  let size = head.length + Math.max(0, rows.length - 1) + 3;
  for (const r of rows) size += Buffer.byteLength(r);
  const frame = Buffer.allocUnsafe(size);
  let at = frame.write(head);
  rows.forEach((r, i) => {
    if (i) frame[at++] = 0x2c; // ,
    at += frame.write(r, at);
  });
  frame.write(']\n\n', at);
  return frame;
}

/** An event made once for every live client, with what the client has once it is written. */
export interface Frame {
  data: Buffer;
  /** Its id: written, the client has every row up to this version. */
  version?: bigint;
  run?: string;
  end?: boolean;
}
