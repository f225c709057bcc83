import { withBrokerToItself } from '../support/broker-lock';
import { waitFor } from '../support/services';
import { ensureBrokerRunning, Publisher, queueCounts, startBrokerApp, stopBrokerApp } from '../support/faults/broker';
import { checkWorkload, deadlocks, differences, dump, statusCounts, terminateServiceBackends } from '../support/faults/dump';
import { FaultSetup, useFaultSuite } from '../support/faults/setup';
import { ServiceProcess } from '../support/faults/service';
import { Cast, faultWorkload, replayWorkload, shuffleWithDuplicates, Workload } from '../support/faults/workload';

/**
 * Nothing lost, nothing doubled: the built service (`node dist/src/main.js`, a separate process) is
 * fed a known set of casts through the real RabbitMQ into the real PostgreSQL while the test breaks
 * things on purpose — the database connections killed, the service killed with SIGKILL or stopped
 * with SIGTERM, two instances on one queue, the broker restarted (last, as it disturbs every client of
 * the broker) — and the final database must be exactly the expected state (from the workload, not from
 * the service), with nothing dead-lettered. And 10,000 casts replayed shuffled with 20% duplicates
 * must give the same database as the ordered replay.
 *
 * Fault injection waits on the service's own progress (GET /api/v1/receiver/stats), never on a fixed
 * sleep. Small batches (BATCH_MAX_SIZE) make ingestion last long enough to be interrupted.
 */
jest.setTimeout(120_000);

type Setup = FaultSetup;

describe('faults: nothing lost, nothing doubled', () => {
  // The broker may be left stopped by a test that failed while it was.
  const suite = useFaultSuite('dh_fault', { repair: ensureBrokerRunning });

  const start = (s: Setup, env: Record<string, string> = {}, label = s.name) =>
    ServiceProcess.start({ databaseUrl: s.db.url, exchange: s.exchange, queue: s.queue, env, name: label });

  /**
   * Waits until the stored state is the workload's expected state, or until it cannot change any
   * more (the queue drained, something dead-lettered); then asserts that nothing was dead-lettered
   * and that the state is the expected one (listing what differs: `expected != actual`).
   */
  async function expectFinalState(s: Setup, w: Workload, timeoutMs = 60_000): Promise<void> {
    let problems: string[] = [];
    await waitFor(
      async () => {
        problems = checkWorkload(await dump(s.sql), w);
        if (problems.length === 0) return true;
        if ((await suite.pub.ready(s.dlq)) === 0 || (await suite.pub.ready(s.queue)) > 0) return false;
        return (await queueCounts(s.queue))?.unacked === 0; // settled: waiting longer changes nothing
      },
      `the expected state on ${s.name}`,
      timeoutMs,
    ).catch(() => undefined);
    const dead = (await suite.pub.drain(s.dlq)).map(
      (m) => `${m.properties.headers?.['x-dead-letter-reason']}: ${m.content.toString().slice(0, 160)}`,
    );
    expect(dead.length > 10 ? [...dead.slice(0, 10), `... ${dead.length} dead letters in all`] : dead).toEqual([]);
    expect(problems).toEqual([]);
  }

  /** The queue and its dead-letter queue hold nothing: every cast applied and acked, none parked. */
  async function expectQueuesEmpty(s: Setup): Promise<void> {
    await waitFor(() => suite.pub.settled(s.queue), `${s.queue} to be empty`, 15_000);
    expect(await suite.pub.ready(s.dlq)).toBe(0);
  }

  /** Waits until the service has written at least `n` casts (committed batches). */
  const progressed = async (p: ServiceProcess, n: number, what: string) => {
    let last: Awaited<ReturnType<ServiceProcess['stats']>> | undefined;
    await waitFor(async () => (last = await p.stats()).batched_casts >= n, `${p.name} to apply ${n} casts (${what})`, 30_000).catch(
      // Where it stood: stalled, or slow (the failure once seen with two files at once did not say).
      (e: Error) => {
        throw new Error(`${e.message}; its last stats: ${JSON.stringify(last)}; output: ${p.output().slice(-1500)}`);
      },
    );
  };

  // 6 runs × 243 rows: ~2,900 casts; batches of 20 make ingestion last a few seconds.
  const SLOW = { BATCH_MAX_SIZE: '20', AMQP_PREFETCH: '100' };
  const workload = (prefix: string, clusterBase: number) => faultWorkload(prefix, { runs: 6, nodes: 8, tasks: 30, clusterBase });

  async function killPostgresConnections(name: string, clusterBase: number, batchSize: string, kills: number): Promise<void> {
    const s = await suite.setup(name);
    const w = workload(name, clusterBase);
    const svc = await start(s, { BATCH_MAX_SIZE: batchSize, AMQP_PREFETCH: '100' });
    await suite.pub.publish(s.exchange, w.casts);
    let killed = 0;
    const step = Math.floor((w.casts.length * 0.9) / kills);
    for (let k = 1; k <= kills; k++) {
      await progressed(svc, k * step, `kill ${k}`);
      killed += await terminateServiceBackends(s.db.name);
    }
    expect(killed).toBeGreaterThan(0);

    await expectFinalState(s, w);
    await expectQueuesEmpty(s);
    const stats = await svc.stats();
    // Some kill hit a batch in flight (it was retried, or returned to the queue and redelivered).
    expect(stats.batch_retries + (stats.casts - w.casts.length)).toBeGreaterThan(0);
    expect(svc.exit).toBeNull();
    await svc.ready(5000);
    await svc.stop();
  }

  it('PostgreSQL connections killed 8 times mid-ingestion (batches of 20): failed batches are retried or redelivered, then applied', async () => {
    await killPostgresConnections('pgkill', 110, '20', 8);
  });

  it('PostgreSQL connections killed 20 times mid-ingestion with one cast per batch: no cast is dead-lettered for a lost connection', async () => {
    // One cast per batch: a batch that fails cannot be split, so a connection error taken for a fault
    // of the data would dead-letter the cast (lost from the history) instead of retrying it.
    await killPostgresConnections('pgkill1', 150, '1', 20);
  });

  it('the service killed with SIGKILL mid-ingestion and started again: unacked casts are redelivered and applied', async () => {
    const s = await suite.setup('sigkill');
    const w = workload('sigkill', 120);
    const first = await start(s, SLOW, 'first instance');
    await suite.pub.publish(s.exchange, w.casts);
    await progressed(first, 800, 'before the kill');
    first.kill('SIGKILL');
    await first.exited;
    // Mid-ingestion: casts are left, among them the ones the killed process held unacked.
    await waitFor(async () => (await suite.pub.consumers(s.queue)) === 0, 'the dead consumer to be gone');
    const left = await suite.pub.ready(s.queue);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(w.casts.length);

    const second = await start(s, SLOW, 'second instance');
    await expectFinalState(s, w);
    await expectQueuesEmpty(s);
    await second.stop();
  });

  it('SIGTERM: stops consuming, finishes and acks the batch in flight, exits cleanly within 10 s', async () => {
    const s = await suite.setup('sigterm');
    const w = workload('sigterm', 130);
    const first = await start(s, { ...SLOW, AMQP_PREFETCH: '200' }, 'first instance');
    await suite.pub.publish(s.exchange, w.casts);
    await progressed(first, 600, 'before SIGTERM');
    const t0 = Date.now();
    const mark = first.mark();
    first.kill('SIGTERM');
    const exit = await first.exited;
    const took = Date.now() - t0;
    expect(took).toBeLessThan(10_000);
    // The shutdown hooks ran, then the process exited 0 (a clean stop; never 1, never killed by the signal).
    expect(exit).toEqual({ code: 0, signal: null });
    expect(first.problems(mark)).toEqual([]);

    // Mid-ingestion: casts are left in the queue. None of them was delivered to the stopped instance
    // (redelivered): everything it had received, it wrote and acked before exiting.
    expect((await queueCounts(s.queue))?.unacked).toBe(0);
    const left = await suite.pub.drain(s.queue);
    expect(left.length).toBeGreaterThan(0);
    expect(left.filter((m) => m.fields.redelivered).length).toBe(0);

    // The rest, published again, completes the state with a new instance.
    await suite.pub.publish(
      s.exchange,
      left.map((m) => m.content),
    );
    const second = await start(s, SLOW, 'second instance');
    await expectFinalState(s, w);
    await expectQueuesEmpty(s);
    await second.stop();
  });

  async function twoInstances(s: Setup, w: Workload, publish: () => Promise<void>): Promise<void> {
    const env = { BATCH_MAX_SIZE: '50', AMQP_PREFETCH: '200' };
    const [a, b] = await Promise.all([start(s, env, 'instance A'), start(s, env, 'instance B')]);
    await waitFor(async () => (await suite.pub.consumers(s.queue)) === 2, 'two consumers');
    await publish();
    await expectFinalState(s, w);
    await expectQueuesEmpty(s);
    const [sa, sb] = await Promise.all([a.stats(), b.stats()]);
    // Both took part.
    expect(sa.batched_casts).toBeGreaterThan(0);
    expect(sb.batched_casts).toBeGreaterThan(0);
    await Promise.all([a.stop(), b.stop()]);
    expect([...a.problems(), ...b.problems()].filter((l) => /deadlock/i.test(l))).toEqual([]);
    // Their backends have exited, so their statistics are flushed.
    await waitFor(
      async () =>
        (
          await s.sql.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'deployment-history'`,
          )
        ).rows[0].n === 0,
      'the service backends to exit',
    );
    expect(await deadlocks(s.db.name)).toBe(0);
  }

  it('two instances consuming one queue, runs started first: the same final state as one, no deadlock', async () => {
    const s = await suite.setup('two');
    const w = workload('two', 140);
    const starts = w.casts.filter((c) => c.method === 'transaction_start');
    await twoInstances(s, w, async () => {
      await suite.pub.publish(s.exchange, starts);
      await waitFor(
        async () => (await s.sql.query('SELECT count(*)::int AS n FROM transactions')).rows[0].n === starts.length,
        'the runs to start',
      );
      // Every report of the interleaved runs, shared by both instances: they write the same runs at once.
      await suite.pub.publish(
        s.exchange,
        w.casts.filter((c) => c.method !== 'transaction_start'),
      );
    });
  });

  it('two instances consuming one queue, a backlog of runs each followed by its reports: nothing dead-lettered, the same final state as one', async () => {
    // What a queue holds after an outage: run after run, each start right before its reports. The
    // broker deals the messages to both instances in turn, so a run's start and its first reports go
    // to different instances, in batches committed in either order.
    const s = await suite.setup('backlog');
    const w = workload('backlog', 160);
    const byRun = w.uuids.flatMap((u) => w.casts.filter((c) => c.args.task_uuid === u));
    await twoInstances(s, w, () => suite.pub.publish(s.exchange, byRun));
  });

  it('10,000 casts replayed shuffled with 20% duplicates: the same database as the ordered replay', async () => {
    const [ordered, shuffled] = await Promise.all([suite.setup('ordered'), suite.setup('shuffled')]);
    const { casts, parents } = replayWorkload('replay', 10_000, 6);
    const mixed = shuffleWithDuplicates(casts, 0.2, 7, parents);
    expect(casts).toHaveLength(10_000);
    expect(mixed).toHaveLength(12_000);
    const [sa, sb] = await Promise.all([start(ordered, {}, 'ordered replay'), start(shuffled, {}, 'shuffled replay')]);

    const done = (p: ServiceProcess, s: Setup, sent: Cast[]) =>
      waitFor(
        async () => {
          const st = await p.stats();
          return st.casts >= sent.length && st.batched_casts + st.dead_lettered >= st.casts && (await suite.pub.ready(s.queue)) === 0;
        },
        `${p.name} to take all ${sent.length} casts`,
        90_000,
      );
    await Promise.all([suite.pub.publish(ordered.exchange, casts), suite.pub.publish(shuffled.exchange, mixed)]);
    await Promise.all([done(sa, ordered, casts), done(sb, shuffled, mixed)]);
    expect((await sa.stats()).dead_lettered).toBe(0);
    expect((await sb.stats()).dead_lettered).toBe(0);

    // Every run's tasks, reported or not, as a read of either service lists them.
    await Promise.all([sa.materialize(), sb.materialize()]);
    const [da, db] = await Promise.all([dump(ordered.sql), dump(shuffled.sql)]);
    // The workload covers what matters: every status, close-outs, pre-9.0 runs, parents.
    const counts = statusCounts(da);
    for (const status of ['pending', 'running', 'ready', 'error', 'skipped']) expect(counts[status]).toBeGreaterThan(0);
    expect(Object.values(da.rows).filter((r) => r.closed_reason !== null).length).toBeGreaterThan(100);
    expect(Object.values(da.transactions).filter((t) => t.history_recorded === false).length).toBeGreaterThan(0);
    expect(Object.values(da.transactions).filter((t) => t.parent_uuid !== null).length).toBeGreaterThan(0);
    expect(Object.keys(da.rows).length).toBeGreaterThan(5000);

    expect(differences(da, db)).toEqual([]);
    await Promise.all([sa.stop(), sb.stop()]);
  });

  // Last: restarting the broker disturbs every other client of it. Test files run in parallel: this test
  // waits until no other file uses the broker and keeps them off it until the broker is back
  // (withBrokerToItself), from before the ingestion starts, since a wait mid-ingestion would let the
  // ingestion finish before the restart. That wait is what the longer timeout is for.
  it('RabbitMQ restarted mid-ingestion: the consumer reconnects by itself and every cast is applied', async () => {
    const s = await suite.setup('broker');
    const w = workload('broker', 100);
    const half = Math.floor(w.casts.length * 0.6);
    const svc = await withBrokerToItself(async () => {
      // Tiny batches: the restart must come while most of the published casts are still to be written.
      const started = await start(s, { BATCH_MAX_SIZE: '2', AMQP_PREFETCH: '10' });
      // Persistent, so that the broker keeps the queued casts across its restart (Astute's are transient:
      // a broker restart would lose those itself, whatever the service does).
      await suite.pub.publish(s.exchange, w.casts.slice(0, half), { persistent: true });
      await progressed(started, 50, 'before the restart');
      try {
        await suite.pub.close();
        await stopBrokerApp();
        // Mid-ingestion: with the broker away, the service can write at most what it had received.
        expect((await started.stats()).batched_casts).toBeLessThan(half - 10);
        // The service notices: not ready while the broker is away.
        await waitFor(
          async () => (await fetch(`${started.url}/health/ready`).catch(() => null))?.status === 503,
          'readiness to report the broker down',
          20_000,
        );
      } finally {
        await startBrokerApp();
      }
      return started;
    });
    suite.pub = await Publisher.connect();
    await waitFor(async () => (await suite.pub.consumers(s.queue)) === 1, 'the consumer to come back by itself', 60_000);
    await suite.pub.publish(s.exchange, w.casts.slice(half), { persistent: true });

    await expectFinalState(s, w);
    await expectQueuesEmpty(s);
    expect(svc.exit).toBeNull();
    await svc.ready(5000);
    await svc.stop();
  }, 360_000);
});
