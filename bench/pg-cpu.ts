import { Client } from 'pg';
import { processCpuSeconds, round } from './util';

/**
 * PostgreSQL's CPU spent for the benchmark's database during one phase, by kind of process, and the WAL it
 * wrote. The machine-wide figure (cpuSample's `postgres`) counts every other database's sessions too (a test
 * suite running beside the benchmark), so this is what to read on a shared machine.
 *
 * Why it samples: its processes are found in pg_stat_activity (the database's backends and autovacuum
 * workers, and the server's WAL writer, checkpointer and background writer, whose work is the writes'), and
 * their CPU read from /proc, every SAMPLE_MS. Until issue #17 they were looked up twice, at the start and
 * the end of the phase: an autovacuum worker that ran in between was not counted at all, one that was
 * running at the end was counted whole, and the same ingest read 74 to 419 µs per cast. A worker that ends
 * between two samples loses at most SAMPLE_MS of its CPU.
 */
const SAMPLE_MS = 250;
const BACKGROUND = ['walwriter', 'checkpointer', 'background writer'];

export type PgProcessKind = 'backends' | 'autovacuum' | 'background';

export interface PgCpuResult {
  /** µs of CPU per cast by kind: the database's client backends, its autovacuum workers, the server's WAL writer, checkpointer and background writer. */
  us_per_cast: Record<PgProcessKind, number>;
  /** WAL written by the whole server (pg_stat_wal), per cast: bytes, records, full-page images; checkpoints during the phase. */
  wal: { bytes_per_cast: number; records_per_cast: number; fpi_per_cast: number; checkpoints: number } | null;
}

interface Seen {
  kind: PgProcessKind;
  first: number;
  last: number;
}

type WalSample = { bytes: number; records: number; fpi: number; checkpoints: number };

/** Samples the database's PostgreSQL processes from `start()` to `stop(casts)`. */
export class PgCpu {
  private readonly seen = new Map<number, Seen>();
  private timer: NodeJS.Timeout | null = null;
  private sampling: Promise<void> = Promise.resolve();
  private walBefore: WalSample | null = null;

  private constructor(private readonly client: Client) {}

  /** Connected to `dbUrl`'s database (its own connection is left out of the figures). */
  static async start(dbUrl: string): Promise<PgCpu> {
    const client = new Client({ connectionString: dbUrl });
    await client.connect();
    const t = new PgCpu(client);
    t.walBefore = await t.wal();
    // The processes alive at the start count from their CPU then; any found later counts from 0 (it began in the phase).
    await t.sample(true);
    t.timer = setInterval(() => {
      t.sampling = t.sampling.then(() => t.sample(false));
    }, SAMPLE_MS);
    return t;
  }

  async stop(casts: number): Promise<PgCpuResult> {
    if (this.timer) clearInterval(this.timer);
    await this.sampling;
    await this.sample(false);
    const walAfter = await this.wal();
    await this.client.end().catch(() => undefined);
    const seconds: Record<PgProcessKind, number> = { backends: 0, autovacuum: 0, background: 0 };
    for (const s of this.seen.values()) seconds[s.kind] += s.last - s.first;
    const per = (v: number) => (casts ? round(v / casts) : 0);
    return {
      us_per_cast: {
        backends: Math.round((seconds.backends / casts) * 1e6),
        autovacuum: Math.round((seconds.autovacuum / casts) * 1e6),
        background: Math.round((seconds.background / casts) * 1e6),
      },
      wal:
        this.walBefore && walAfter
          ? {
              bytes_per_cast: Math.round(per(walAfter.bytes - this.walBefore.bytes)),
              records_per_cast: per(walAfter.records - this.walBefore.records),
              fpi_per_cast: per(walAfter.fpi - this.walBefore.fpi),
              checkpoints: walAfter.checkpoints - this.walBefore.checkpoints,
            }
          : null,
    };
  }

  private async sample(atStart: boolean): Promise<void> {
    const res = await this.client
      .query<{ pid: number; backend_type: string }>(
        `SELECT pid, backend_type FROM pg_stat_activity
         WHERE (datname = current_database() AND pid <> pg_backend_pid()) OR backend_type = ANY($1)`,
        [BACKGROUND],
      )
      .catch(() => ({ rows: [] as Array<{ pid: number; backend_type: string }> }));
    for (const { pid, backend_type } of res.rows) {
      const cpu = processCpu(pid);
      if (cpu === null) continue;
      const s = this.seen.get(pid);
      if (s) s.last = cpu;
      else {
        const kind: PgProcessKind = BACKGROUND.includes(backend_type)
          ? 'background'
          : backend_type === 'autovacuum worker'
            ? 'autovacuum'
            : 'backends';
        this.seen.set(pid, { kind, first: atStart ? cpu : 0, last: cpu });
      }
    }
  }

  private async wal(): Promise<WalSample | null> {
    try {
      const { rows } = await this.client.query<{ bytes: string; records: string; fpi: string; checkpoints: string }>(
        `SELECT w.wal_bytes::text AS bytes, w.wal_records::text AS records, w.wal_fpi::text AS fpi,
                (b.checkpoints_timed + b.checkpoints_req)::text AS checkpoints
         FROM pg_stat_wal w, pg_stat_bgwriter b`,
      );
      const r = rows[0];
      return { bytes: Number(r.bytes), records: Number(r.records), fpi: Number(r.fpi), checkpoints: Number(r.checkpoints) };
    } catch {
      return null;
    }
  }
}

/** A process's user + system CPU seconds, or null when it is gone or not readable. */
function processCpu(pid: number): number | null {
  try {
    return processCpuSeconds(pid);
  } catch {
    return null;
  }
}
